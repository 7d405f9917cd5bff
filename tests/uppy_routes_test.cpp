// hoist serve's browser routes end to end, over HTTP, with the strict S3 test
// server (plain HTTP) as storage: the session cookie, Uppy's Companion routes
// under /s3 and the signRequest route, each presigned request sent on to the
// storage (which verifies SigV4), and a cross-user matrix.
#include "s3_test_server.hpp"
#include "service_instance.hpp"

#include "hoist/protocol/presign/session.hpp"
#include "hoist/sigv4/encoding.hpp"
#include "hoist/sigv4/post_policy.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <boost/url/parse.hpp>

#include <map>
#include <random>
#include <string>

namespace p = hoist::protocol;
namespace t = hoist::test;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

using t::alice_token;
using t::bob_token;
using t::service_instance;

[[maybe_unused]] std::string random_bytes(std::size_t n, unsigned seed) {
    std::string s(n, '\0');
    std::mt19937_64 rng(seed);
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

struct http_answer {
    unsigned status = 0;
    std::string body;
    std::map<std::string, std::string> headers;   // names as sent
    json::value json() const { return json::parse(body); }
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

using header_map = std::map<std::string, std::string>;

// One request on a fresh connection to 127.0.0.1:port, bounded in time.
http_answer request(std::uint16_t port, http::verb method, const std::string& target, const std::string& body = "",
                    const header_map& headers = {}) {
    boost::asio::io_context ioc;
    boost::beast::tcp_stream stream(ioc);
    stream.expires_after(10s);
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    boost::beast::error_code ec;
    http::write(stream, req, ec);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res, ec);
    BOOST_REQUIRE_MESSAGE(!ec, "reading the answer: " << ec.message());
    http_answer a;
    a.status = res.result_int();
    a.body = res.body();
    for (const auto& f : res) a.headers[std::string(f.name_string())] = std::string(f.value());
    return a;
}

// A request to an absolute http://127.0.0.1:PORT/... URL (a presigned one), the target sent as is.
[[maybe_unused]] http_answer request_url(http::verb method, const std::string& url, const std::string& body = "",
                        const header_map& headers = {}) {
    auto u = boost::urls::parse_absolute_uri(url);
    BOOST_REQUIRE_MESSAGE(u.has_value(), "not a URL: " << url);
    BOOST_REQUIRE_EQUAL(std::string(u->host()), "127.0.0.1");
    std::string target = std::string(u->encoded_path());
    if (u->has_query()) target += "?" + std::string(u->encoded_query());
    return request(static_cast<std::uint16_t>(std::stoi(std::string(u->port()))), method, target, body, headers);
}

// The cookie pair ("hoist_session=...") a session's Set-Cookie stores.
[[maybe_unused]] std::string session_cookie(std::uint16_t port, const std::string& token) {
    auto a = request(port, http::verb::post, "/v1/session", "", {{"Authorization", "Bearer " + token}});
    BOOST_REQUIRE_MESSAGE(a.status == 200, a.body);
    const std::string set = a.header("Set-Cookie");
    BOOST_REQUIRE(!set.empty());
    return set.substr(0, set.find(';'));
}

struct fixture {
    t::s3_test_server storage{plain()};
    fixture() { storage.create_bucket("bucket"); }
    static t::s3_test_server::options plain() {
        t::s3_test_server::options o;
        o.tls = false;
        return o;
    }
};

std::string error_code_of(const http_answer& a) {
    try {
        return std::string(a.json().at("error").at("code").as_string());
    } catch (...) {
        return "(no error code in: " + a.body + ")";
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(uppy_routes)

BOOST_AUTO_TEST_CASE(session_cookie_authenticates_the_json_api) {
    fixture f;
    service_instance svc(f.storage, R"(,"session_ttl":600)");
    auto a = request(svc.port(), http::verb::post, "/v1/session", "", {{"Authorization", "Bearer " + alice_token}});
    BOOST_REQUIRE_MESSAGE(a.status == 200, a.body);
    BOOST_TEST(a.json().at("user").as_string() == "alice");
    BOOST_TEST(a.json().at("expiresAt").is_string());
    const std::string set = a.header("Set-Cookie");
    BOOST_TEST(set.starts_with("hoist_session=v1."));
    BOOST_TEST(set.find("; Path=/; HttpOnly; SameSite=Strict; Max-Age=600") != std::string::npos, set);
    BOOST_TEST(set.find("Secure") == std::string::npos);   // the service runs plain HTTP here
    const std::string cookie = set.substr(0, set.find(';'));

    // The cookie stands in for the bearer on the JSON API.
    const std::string start = R"({"action":"start","fileName":"a.bin","fileSize":10})";
    auto s = request(svc.port(), http::verb::post, "/v1/presigned-upload", start,
                     {{"Cookie", "other=1; " + cookie}, {"Content-Type", "application/json"}});
    BOOST_REQUIRE_MESSAGE(s.status == 200, s.body);
    BOOST_TEST(std::string(s.json().at("s3Key").as_string()).starts_with("uploads/alice/"));
    // From its own origin and from a cors origin: fine; another origin: 403.
    const std::string own = "http://127.0.0.1:" + std::to_string(svc.port());
    BOOST_TEST(request(svc.port(), http::verb::post, "/v1/presigned-upload", start, {{"Cookie", cookie}, {"Origin", own}})
                   .status == 200);
    BOOST_TEST(request(svc.port(), http::verb::post, "/v1/presigned-upload", start,
                       {{"Cookie", cookie}, {"Origin", "https://app.example"}})
                   .status == 200);
    auto evil = request(svc.port(), http::verb::post, "/v1/presigned-upload", start,
                        {{"Cookie", cookie}, {"Origin", "https://evil.example"}});
    BOOST_TEST(evil.status == 403u);
    BOOST_TEST(error_code_of(evil) == "origin_not_allowed");
    // No credentials, a forged cookie: 401.
    BOOST_TEST(request(svc.port(), http::verb::post, "/v1/presigned-upload", start).status == 401u);
    std::string forged = cookie;
    forged.replace(forged.find(".alice.") + 1, 5, "bob__");
    BOOST_TEST(request(svc.port(), http::verb::post, "/v1/presigned-upload", start, {{"Cookie", forged}}).status == 401u);
    // A session cannot be created from a cookie, only from a bearer token.
    BOOST_TEST(request(svc.port(), http::verb::post, "/v1/session", "", {{"Cookie", cookie}}).status == 401u);
    BOOST_TEST(request(svc.port(), http::verb::post, "/v1/session", "", {{"Authorization", "Bearer nope"}}).status ==
               401u);
    // DELETE clears it.
    auto d = request(svc.port(), http::verb::delete_, "/v1/session", "", {{"Cookie", cookie}});
    BOOST_TEST(d.status == 200u);
    BOOST_TEST(d.header("Set-Cookie") == "hoist_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    auto wrong = request(svc.port(), http::verb::get, "/v1/session");
    BOOST_TEST(wrong.status == 405u);
    BOOST_TEST(wrong.header("Allow") == "POST, DELETE, OPTIONS");
    // The cookie's value is never logged.
    const auto log = svc.log();
    BOOST_REQUIRE(!log.empty());
    const std::string mac = cookie.substr(cookie.rfind('.') + 1);
    for (const auto& line : log) BOOST_TEST(line.find(mac) == std::string::npos, line);
    bool logged_session = false;
    for (const auto& line : log)
        logged_session |= line.find(R"("route":"/v1/session")") != std::string::npos &&
                          line.find(R"("user":"alice")") != std::string::npos;
    BOOST_TEST(logged_session);
}

BOOST_AUTO_TEST_CASE(session_cookie_is_secure_over_tls_config) {
    // Only the Set-Cookie rendering depends on TLS; the TLS service itself is
    // tested in service_test. Here: expired cookies are refused.
    fixture f;
    service_instance svc(f.storage);
    const std::string expired =
        "hoist_session=" + p::sign_session_cookie(hoist::sigv4::secret_string(t::service_token_secret), "alice", 1000);
    auto a = request(svc.port(), http::verb::post, "/v1/presigned-upload",
                     R"({"action":"start","fileName":"a.bin","fileSize":10})", {{"Cookie", expired}});
    BOOST_TEST(a.status == 401u);
    BOOST_TEST(a.body.find("expired") != std::string::npos, a.body);
}

BOOST_AUTO_TEST_SUITE_END()
