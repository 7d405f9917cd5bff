// hoist serve's browser routes end to end, over HTTP, with the strict S3 test
// server (plain HTTP) as storage: the session cookie, Uppy's Companion routes
// under /s3 and the signRequest route, each presigned request sent on to the
// storage (which verifies SigV4), and a cross-user matrix.
#include "s3_test_server.hpp"
#include "service_instance.hpp"

#include "hoist/protocol/presign/proxy_route.hpp"
#include "hoist/protocol/presign/session.hpp"
#include "hoist/protocol/s3/xml.hpp"
#include "hoist/sigv4/encoding.hpp"
#include "hoist/sigv4/post_policy.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

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

std::string random_bytes(std::size_t n, unsigned seed) {
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
http_answer request_url(http::verb method, const std::string& url, const std::string& body = "",
                        const header_map& headers = {}) {
    auto u = boost::urls::parse_absolute_uri(url);
    BOOST_REQUIRE_MESSAGE(u.has_value(), "not a URL: " << url);
    BOOST_REQUIRE_EQUAL(std::string(u->host()), "127.0.0.1");
    std::string target = std::string(u->encoded_path());
    if (u->has_query()) target += "?" + std::string(u->encoded_query());
    return request(static_cast<std::uint16_t>(std::stoi(std::string(u->port()))), method, target, body, headers);
}

// The cookie pair ("hoist_session=...") a session's Set-Cookie stores.
std::string session_cookie(std::uint16_t port, const std::string& token) {
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

constexpr std::size_t MiB = 1024 * 1024;

// What Uppy's Companion client does for one multipart file, over HTTP with a
// session cookie: create, then per part sign and PUT.
struct companion_upload {
    std::string key, upload_id;
    std::vector<std::pair<std::uint32_t, std::string>> etags;   // part number, ETag
};

std::string target_for(const std::string& id, const std::string& suffix, const std::string& key) {
    // As Uppy: encodeURIComponent(uploadId), URLSearchParams({key}).
    std::string t = "/s3/multipart/" + boost::urls::encode(id, boost::urls::unreserved_chars) + suffix + "?key=";
    for (char c : key) t += c == '/' ? std::string("%2F") : std::string(1, c);
    return t;
}

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
    // And on the proxy route (with the upload token start returned).
    const auto started = s.json().as_object();
    const std::string proxy = p::proxy_part_target({std::string(started.at("uploadId").as_string()), 1,
                                                    std::string(started.at("s3Key").as_string())});
    auto part = request(svc.port(), http::verb::put, proxy, "0123456789",
                        {{"Cookie", cookie}, {"X-Upload-Token", std::string(started.at("uploadToken").as_string())}});
    BOOST_TEST(part.status == 200u, part.body);
    BOOST_TEST(request(svc.port(), http::verb::put, proxy, "0123456789",
                       {{"X-Upload-Token", std::string(started.at("uploadToken").as_string())}})
                   .status == 401u);
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
    // A session is created only from an origin that may use it (login CSRF).
    auto foreign_session = request(svc.port(), http::verb::post, "/v1/session", "",
                                   {{"Authorization", "Bearer " + alice_token}, {"Origin", "https://evil.example"}});
    BOOST_TEST(foreign_session.status == 403u);
    BOOST_TEST(foreign_session.header("Set-Cookie").empty());
    BOOST_TEST(request(svc.port(), http::verb::post, "/v1/session", "",
                       {{"Authorization", "Bearer " + alice_token}, {"Origin", own}})
                   .status == 200u);
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
        "hoist_session=" + p::sign_session_cookie(hoist::sigv4::secret_string(t::service_token_secret), "alice",
                                                  hoist::sigv4::sha256(t::alice_token), 1000);
    auto a = request(svc.port(), http::verb::post, "/v1/presigned-upload",
                     R"({"action":"start","fileName":"a.bin","fileSize":10})", {{"Cookie", expired}});
    BOOST_TEST(a.status == 401u);
    BOOST_TEST(a.body.find("expired") != std::string::npos, a.body);
}

BOOST_AUTO_TEST_CASE(companion_multipart_flow_byte_exact) {
    fixture f;
    service_instance svc(f.storage);
    const std::string cookie = session_cookie(svc.port(), alice_token);
    const header_map with_cookie{{"Cookie", cookie}};
    const std::string data = random_bytes(5 * MiB + 1234, 16);

    auto create = request(svc.port(), http::verb::post, "/s3/multipart",
                          R"({"filename":"../../bob/My Movie.mp4","type":"video/mp4","metadata":{"name":"x"}})",
                          {{"Cookie", cookie}, {"Content-Type", "application/json"}});
    BOOST_REQUIRE_MESSAGE(create.status == 200, create.body);
    BOOST_TEST(create.header("Cache-Control") == "no-store");
    const auto c = create.json().as_object();
    const std::string key(c.at("key").as_string()), id(c.at("uploadId").as_string());
    BOOST_TEST(key.starts_with("uploads/alice/alice_"), key);
    BOOST_TEST(key.ends_with("_My_Movie.mp4"), key);
    BOOST_TEST(c.at("bucket").as_string() == "bucket");

    std::vector<p::completed_part> parts;
    for (std::uint32_t n : {1u, 2u}) {
        auto sign = request(svc.port(), http::verb::get, target_for(id, "/" + std::to_string(n), key), "", with_cookie);
        BOOST_REQUIRE_MESSAGE(sign.status == 200, sign.body);
        const std::string url(sign.json().at("url").as_string());
        BOOST_TEST(sign.json().at("expires").as_int64() == 3600);
        const std::string body = n == 1 ? data.substr(0, 5 * MiB) : data.substr(5 * MiB);
        // Uppy's XHR may send a Content-Type: only Host is signed.
        auto put = request_url(http::verb::put, url, body, {{"Content-Type", "application/octet-stream"}});
        BOOST_REQUIRE_MESSAGE(put.status == 200, put.body);
        parts.push_back({n, put.header("ETag"), {}});
    }

    auto listed = request(svc.port(), http::verb::get, target_for(id, "", key), "", with_cookie);
    BOOST_REQUIRE_MESSAGE(listed.status == 200, listed.body);
    const json::value listed_json = listed.json();
    const auto& array = listed_json.as_array();
    BOOST_REQUIRE_EQUAL(array.size(), 2u);
    BOOST_TEST(array[0].at("PartNumber").as_int64() == 1);
    BOOST_TEST(array[0].at("ETag").as_string() == parts[0].etag);
    BOOST_TEST(array[0].at("Size").as_int64() == static_cast<std::int64_t>(5 * MiB));
    BOOST_TEST(array[1].at("Size").as_int64() == 1234);

    // Parts in the order they finished (2 before 1): the service sorts them.
    json::array complete_parts{json::object{{"PartNumber", 2}, {"ETag", parts[1].etag}},
                               json::object{{"PartNumber", 1}, {"ETag", parts[0].etag}}};
    auto done = request(svc.port(), http::verb::post, target_for(id, "/complete", key),
                        json::serialize(json::object{{"parts", complete_parts}}),
                        {{"Cookie", cookie}, {"Content-Type", "application/json"}});
    BOOST_REQUIRE_MESSAGE(done.status == 200, done.body);
    BOOST_TEST(done.json().at("key").as_string() == key);
    BOOST_TEST(done.json().at("bucket").as_string() == "bucket");
    BOOST_TEST(std::string(done.json().at("location").as_string()).find(key) != std::string::npos);
    auto stored = f.storage.object("bucket", key);
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST((*stored == data));
    BOOST_TEST(f.storage.open_uploads().empty());

    // A finished upload has no parts to list: 404, as the JSON API says.
    BOOST_TEST(request(svc.port(), http::verb::get, target_for(id, "", key), "", with_cookie).status == 404u);
    // Logs and metrics name the route templates, never the id or the key.
    auto metrics = request(svc.port(), http::verb::get, "/metrics");
    BOOST_TEST(metrics.body.find(R"(route="/s3/multipart/{uploadId}/{partNumber}",status="200"} 2)") != std::string::npos);
    BOOST_TEST(metrics.body.find(R"(route="/s3/multipart/{uploadId}/complete",status="200"} 1)") != std::string::npos);
    BOOST_TEST(metrics.body.find(id) == std::string::npos);
    BOOST_TEST(metrics.body.find("hoist_uploads_started_total 1\n") != std::string::npos);
    BOOST_TEST(metrics.body.find("hoist_uploads_completed_total 1\n") != std::string::npos);
    const auto log = svc.log();
    BOOST_REQUIRE(!log.empty());
    for (const auto& line : log) {
        BOOST_TEST(line.find(id) == std::string::npos, line);
        BOOST_TEST(line.find(cookie.substr(cookie.rfind('.') + 1)) == std::string::npos, line);
    }
}

BOOST_AUTO_TEST_CASE(companion_abort_and_empty_list) {
    fixture f;
    service_instance svc(f.storage);
    const std::string cookie = session_cookie(svc.port(), alice_token);
    auto create = request(svc.port(), http::verb::post, "/s3/multipart", R"({"filename":"a.bin","type":""})",
                          {{"Cookie", cookie}});
    BOOST_REQUIRE_MESSAGE(create.status == 200, create.body);
    const std::string key(create.json().at("key").as_string()), id(create.json().at("uploadId").as_string());
    auto listed = request(svc.port(), http::verb::get, target_for(id, "", key), "", {{"Cookie", cookie}});
    BOOST_TEST(listed.status == 200u);
    BOOST_TEST(listed.body == "[]");
    BOOST_REQUIRE_EQUAL(f.storage.open_uploads().size(), 1u);
    auto aborted = request(svc.port(), http::verb::delete_, target_for(id, "", key), "", {{"Cookie", cookie}});
    BOOST_TEST(aborted.status == 200u);
    BOOST_TEST(aborted.body == "{}");
    BOOST_TEST(f.storage.open_uploads().empty());
    BOOST_TEST(f.storage.aborted_uploads().size() == 1u);
    // Again: already gone is what the caller wanted.
    BOOST_TEST(request(svc.port(), http::verb::delete_, target_for(id, "", key), "", {{"Cookie", cookie}}).status == 200u);
}

// Ceph RGW 16 answers ListParts on an aborted upload with 404 NoSuchKey: the
// JSON API and the /s3 routes both say 404 no_such_upload (the page and Uppy
// then start over), not 502 (retried as a storage failure).
BOOST_AUTO_TEST_CASE(rgw_no_such_key_on_list_parts_is_no_such_upload_on_every_route) {
    fixture f;
    service_instance svc(f.storage);
    const std::string cookie = session_cookie(svc.port(), alice_token);
    auto create = request(svc.port(), http::verb::post, "/s3/multipart", R"({"filename":"a.bin","type":""})",
                          {{"Cookie", cookie}});
    BOOST_REQUIRE_MESSAGE(create.status == 200, create.body);
    const std::string key(create.json().at("key").as_string()), id(create.json().at("uploadId").as_string());

    f.storage.inject({t::s3_op::list_parts, std::nullopt, 1}, {t::fault_kind::no_such_key});
    auto listed = request(svc.port(), http::verb::get, target_for(id, "", key), "", {{"Cookie", cookie}});
    BOOST_TEST(listed.status == 404u, listed.body);
    BOOST_TEST(error_code_of(listed) == "no_such_upload");

    f.storage.inject({t::s3_op::list_parts, std::nullopt, 1}, {t::fault_kind::no_such_key});
    const json::object body{{"action", "list-parts"}, {"uploadId", id}, {"s3Key", key}};
    auto api = request(svc.port(), http::verb::post, "/v1/presigned-upload", json::serialize(body),
                       {{"Authorization", "Bearer " + alice_token}, {"Content-Type", "application/json"}});
    BOOST_TEST(api.status == 404u, api.body);
    BOOST_TEST(error_code_of(api) == "no_such_upload");
}

BOOST_AUTO_TEST_CASE(companion_params_post_policy) {
    fixture f;
    service_instance svc(f.storage);
    const std::string cookie = session_cookie(svc.port(), alice_token);
    auto a = request(svc.port(), http::verb::get, "/s3/params?filename=My+Notes.txt&type=text%2Fplain&metadata%5Bname%5D=x",
                     "", {{"Cookie", cookie}});
    BOOST_REQUIRE_MESSAGE(a.status == 200, a.body);
    const auto o = a.json().as_object();
    BOOST_TEST(o.at("method").as_string() == "POST");
    BOOST_TEST(o.at("url").as_string() == f.storage.endpoint_url() + "/bucket/");
    const auto& fields = o.at("fields").as_object();
    const std::string key(fields.at("key").as_string());
    BOOST_TEST(key.starts_with("uploads/alice/alice_"));
    BOOST_TEST(key.ends_with("_My_Notes.txt"));
    BOOST_TEST(fields.at("Content-Type").as_string() == "text/plain");
    const std::string policy_b64(fields.at("Policy").as_string());
    auto policy_text = hoist::sigv4::base64_decode(policy_b64);
    BOOST_REQUIRE(policy_text.has_value());
    const auto policy = json::parse(*policy_text).as_object();
    std::vector<std::string> conditions;
    for (const auto& c : policy.at("conditions").as_array()) conditions.push_back(json::serialize(c));
    auto has = [&](const std::string& c) { return std::find(conditions.begin(), conditions.end(), c) != conditions.end(); };
    BOOST_TEST(has(R"({"bucket":"bucket"})"));
    BOOST_TEST(has(R"({"key":")" + key + R"("})"));
    BOOST_TEST(has(R"({"Content-Type":"text/plain"})"));
    BOOST_TEST(has(R"(["content-length-range",0,8388608])"));   // single_put_max by default
    // Signed with the storage's credentials, at the form's date.
    hoist::sigv4::credentials creds;
    creds.access_key_id = f.storage.config().access_key_id;
    creds.secret_access_key = hoist::sigv4::secret_string(f.storage.config().secret);
    const auto date = hoist::sigv4::amz_date::parse(std::string(fields.at("X-Amz-Date").as_string()));
    BOOST_TEST(fields.at("X-Amz-Signature").as_string() ==
               hoist::sigv4::sign_post_policy(hoist::sigv4::signer(creds), policy_b64, "us-east-1", date));
    // Expiring with the URL lifetime (presign_expiry, 3600 s by default).
    BOOST_TEST(o.at("expires").as_int64() == 3600);
    // Bad inputs.
    BOOST_TEST(request(svc.port(), http::verb::get, "/s3/params?type=text%2Fplain", "", {{"Cookie", cookie}}).status == 400u);
    BOOST_TEST(request(svc.port(), http::verb::get, "/s3/params?filename=a&type=nonsense", "", {{"Cookie", cookie}}).status ==
               400u);
    BOOST_TEST(request(svc.port(), http::verb::get, "/s3/params?filename=a&filename=b", "", {{"Cookie", cookie}}).status ==
               400u);
}

BOOST_AUTO_TEST_CASE(sign_request_flow_all_six_kinds) {
    fixture f;
    service_instance svc(f.storage);
    const std::string cookie = session_cookie(svc.port(), alice_token);
    auto sign = [&](const json::object& body) {
        auto a = request(svc.port(), http::verb::post, "/v1/sign-request", json::serialize(body),
                         {{"Cookie", cookie}, {"Content-Type", "application/json"}});
        BOOST_REQUIRE_MESSAGE(a.status == 200, json::serialize(body) << " -> " << a.body);
        BOOST_TEST(!a.json().as_object().contains("headers"));
        return std::pair{std::string(a.json().at("url").as_string()), std::string(a.json().at("key").as_string())};
    };

    // PutObject.
    const std::string small = random_bytes(1000, 3);
    auto [put_url, put_key] = sign({{"method", "PUT"}, {"key", "photos/cat.jpg"}, {"contentType", "image/jpeg"}});
    BOOST_TEST(put_key.starts_with("uploads/alice/alice_"));
    BOOST_TEST(put_key.ends_with("_cat.jpg"));
    auto put = request_url(http::verb::put, put_url, small, {{"Content-Type", "image/jpeg"}});
    BOOST_REQUIRE_MESSAGE(put.status == 200, put.body);
    BOOST_TEST((f.storage.object("bucket", put_key).value_or("") == small));

    // CreateMultipartUpload, UploadPart x2, ListParts, CompleteMultipartUpload.
    const std::string data = random_bytes(5 * MiB + 77, 4);
    auto [create_url, key] = sign({{"method", "POST"}, {"key", "big.bin"}});
    auto created = request_url(http::verb::post, create_url, "", {{"Content-Type", "application/octet-stream"}});
    BOOST_REQUIRE_MESSAGE(created.status == 200, created.body);
    auto init = p::parse_initiate(created.body);
    BOOST_REQUIRE(std::holds_alternative<p::initiate_result>(init));
    const std::string id = std::get<p::initiate_result>(init).upload_id;
    BOOST_TEST(std::get<p::initiate_result>(init).key == key);
    std::vector<p::completed_part> parts;
    for (std::uint32_t n : {1u, 2u}) {
        auto [url, k] = sign({{"method", "PUT"}, {"key", key}, {"uploadId", id}, {"partNumber", n}});
        BOOST_TEST(k == key);
        auto r = request_url(http::verb::put, url, n == 1 ? data.substr(0, 5 * MiB) : data.substr(5 * MiB));
        BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
        parts.push_back({n, r.header("ETag"), {}});
    }
    auto [list_url, lk] = sign({{"method", "GET"}, {"key", key}, {"uploadId", id}});
    auto listed = request_url(http::verb::get, list_url);
    BOOST_REQUIRE_MESSAGE(listed.status == 200, listed.body);
    auto page = p::parse_list_parts(listed.body);
    BOOST_REQUIRE(std::holds_alternative<p::list_parts_page>(page));
    BOOST_TEST(std::get<p::list_parts_page>(page).parts.size() == 2u);
    auto [complete_url, ck] = sign({{"method", "POST"}, {"key", key}, {"uploadId", id}});
    auto completed = request_url(http::verb::post, complete_url, p::complete_body(parts), {{"Content-Type", "application/xml"}});
    BOOST_REQUIRE_MESSAGE(completed.status == 200, completed.body);
    BOOST_TEST((f.storage.object("bucket", key).value_or("") == data));

    // AbortMultipartUpload.
    auto [create2, key2] = sign({{"method", "POST"}, {"key", "gone.bin"}});
    auto created2 = request_url(http::verb::post, create2);
    BOOST_REQUIRE(created2.status == 200);
    const std::string id2 = std::get<p::initiate_result>(p::parse_initiate(created2.body)).upload_id;
    auto [abort_url, ak] = sign({{"method", "DELETE"}, {"key", key2}, {"uploadId", id2}});
    auto aborted = request_url(http::verb::delete_, abort_url);
    BOOST_TEST(aborted.status == 204u, aborted.body);
    BOOST_TEST(f.storage.open_uploads().empty());
    BOOST_TEST(f.storage.aborted_uploads().size() == 1u);
    BOOST_TEST(f.storage.statistics().signature_failures == 0);

    // Not offered: DeleteObject.
    auto del = request(svc.port(), http::verb::post, "/v1/sign-request", R"({"method":"DELETE","key":")" + put_key + "\"}",
                       {{"Cookie", cookie}});
    BOOST_TEST(del.status == 400u);
    BOOST_TEST(error_code_of(del) == "not_offered");
    // With a bearer token instead of the cookie.
    BOOST_TEST(request(svc.port(), http::verb::post, "/v1/sign-request", R"({"method":"PUT","key":"a.bin"})",
                       {{"Authorization", "Bearer " + alice_token}})
                   .status == 200u);
}

BOOST_AUTO_TEST_CASE(cross_user_matrix) {
    fixture f;
    service_instance svc(f.storage);
    const std::string alice = session_cookie(svc.port(), alice_token);
    const std::string bob = session_cookie(svc.port(), bob_token);
    auto create = request(svc.port(), http::verb::post, "/s3/multipart", R"({"filename":"a.bin","type":"a/b"})",
                          {{"Cookie", alice}});
    BOOST_REQUIRE_MESSAGE(create.status == 200, create.body);
    const std::string key(create.json().at("key").as_string()), id(create.json().at("uploadId").as_string());
    auto sign1 = request(svc.port(), http::verb::get, target_for(id, "/1", key), "", {{"Cookie", alice}});
    BOOST_REQUIRE(sign1.status == 200);
    auto put = request_url(http::verb::put, std::string(sign1.json().at("url").as_string()), "part one");
    BOOST_REQUIRE(put.status == 200);
    const std::string complete_body = R"({"parts":[{"PartNumber":1,"ETag":)" + json::serialize(json::value(put.header("ETag"))) + "}]}";
    const auto before = f.storage.statistics();

    struct call {
        http::verb method;
        std::string target, body;
    };
    const std::vector<call> calls{
        {http::verb::get, target_for(id, "/1", key), ""},
        {http::verb::get, target_for(id, "", key), ""},
        {http::verb::post, target_for(id, "/complete", key), complete_body},
        {http::verb::delete_, target_for(id, "", key), ""},
        {http::verb::post, "/v1/sign-request", R"({"method":"PUT","key":")" + key + R"(","uploadId":")" + id + R"(","partNumber":1})"},
        {http::verb::post, "/v1/sign-request", R"({"method":"GET","key":")" + key + R"(","uploadId":")" + id + R"("})"},
        {http::verb::post, "/v1/sign-request", R"({"method":"POST","key":")" + key + R"(","uploadId":")" + id + R"("})"},
        {http::verb::post, "/v1/sign-request", R"({"method":"DELETE","key":")" + key + R"(","uploadId":")" + id + R"("})"},
        {http::verb::post, "/v1/presigned-upload",
         R"({"action":"list-parts","uploadId":")" + id + R"(","s3Key":")" + key + R"(","uploadToken":"v1.1.x"})"},
    };
    const std::string forged = [&] {
        std::string c = alice;
        c.replace(c.find(".alice.") + 1, 5, "bob__");   // a user swapped under alice's MAC
        return c;
    }();
    const std::string expired =
        "hoist_session=" + p::sign_session_cookie(hoist::sigv4::secret_string(t::service_token_secret), "alice",
                                                  hoist::sigv4::sha256(t::alice_token), 1000);
    for (const auto& c : calls) {
        const std::string what = std::string(http::to_string(c.method)) + " " + c.target + " " + c.body;
        auto as_bob = request(svc.port(), c.method, c.target, c.body, {{"Cookie", bob}});
        BOOST_TEST(as_bob.status == 403u, what << " -> " << as_bob.body);
        if (c.target.starts_with("/v1/presigned-upload")) {
            BOOST_TEST(error_code_of(as_bob) == "invalid_upload_token", what);
        } else {
            BOOST_TEST(error_code_of(as_bob) == "forbidden", what);
        }
        BOOST_TEST(request(svc.port(), c.method, c.target, c.body).status == 401u, what);
        BOOST_TEST(request(svc.port(), c.method, c.target, c.body, {{"Cookie", forged}}).status == 401u, what);
        BOOST_TEST(request(svc.port(), c.method, c.target, c.body, {{"Cookie", expired}}).status == 401u, what);
        auto foreign = request(svc.port(), c.method, c.target, c.body, {{"Cookie", alice}, {"Origin", "https://evil.example"}});
        BOOST_TEST(foreign.status == 403u, what);
        BOOST_TEST(error_code_of(foreign) == "origin_not_allowed", what);
    }
    // Bob's create lands under bob's prefix, whatever he proposes.
    auto bobs = request(svc.port(), http::verb::post, "/s3/multipart", R"({"filename":")" + key + R"(","type":"a/b"})",
                        {{"Cookie", bob}});
    BOOST_REQUIRE(bobs.status == 200);
    BOOST_TEST(std::string(bobs.json().at("key").as_string()).starts_with("uploads/bob/bob_"));
    // Nothing of alice's changed: her upload is open with its part, the
    // storage saw no ListParts, Complete or Abort.
    const auto after = f.storage.statistics();
    auto count = [](const t::s3_test_server::stats& s, t::s3_op op) { return s.by_op.count(op) ? s.by_op.at(op) : 0; };
    for (auto op : {t::s3_op::list_parts, t::s3_op::complete, t::s3_op::abort, t::s3_op::upload_part})
        BOOST_TEST(count(after, op) == count(before, op), t::to_string(op));
    auto open = f.storage.open_uploads();
    BOOST_TEST((std::find(open.begin(), open.end(), id) != open.end()));
    auto listed = request(svc.port(), http::verb::get, target_for(id, "", key), "", {{"Cookie", alice}});
    BOOST_TEST(listed.status == 200u);
    BOOST_TEST(listed.json().as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(methods_preflight_and_bad_requests) {
    fixture f;
    service_instance svc(f.storage);
    const std::string cookie = session_cookie(svc.port(), alice_token);
    struct wrong {
        http::verb method;
        std::string target, allow;
    };
    for (const auto& w : std::vector<wrong>{{http::verb::put, "/s3/multipart", "POST, OPTIONS"},
                                            {http::verb::post, "/s3/multipart/ID", "GET, DELETE, OPTIONS"},
                                            {http::verb::delete_, "/s3/multipart/ID/3", "GET, OPTIONS"},
                                            {http::verb::get, "/s3/multipart/ID/complete", "POST, OPTIONS"},
                                            {http::verb::post, "/s3/params", "GET, OPTIONS"},
                                            {http::verb::get, "/v1/sign-request", "POST, OPTIONS"}}) {
        auto a = request(svc.port(), w.method, w.target, "", {{"Cookie", cookie}});
        BOOST_TEST(a.status == 405u, w.target);
        BOOST_TEST(a.header("Allow") == w.allow, w.target);
    }
    BOOST_TEST(request(svc.port(), http::verb::get, "/s3/other", "", {{"Cookie", cookie}}).status == 404u);
    // A CORS preflight from a configured origin allows DELETE and credentials.
    auto pre = request(svc.port(), http::verb::options, "/s3/multipart/ID", "",
                       {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "DELETE"}});
    BOOST_TEST(pre.status == 204u);
    BOOST_TEST(pre.header("Access-Control-Allow-Origin") == "https://app.example");
    BOOST_TEST(pre.header("Access-Control-Allow-Methods").find("DELETE") != std::string::npos);
    BOOST_TEST(pre.header("Access-Control-Allow-Credentials") == "true");
    // Bodies: not JSON, a key missing, a body over max_body_bytes.
    BOOST_TEST(request(svc.port(), http::verb::post, "/s3/multipart", "nope", {{"Cookie", cookie}}).status == 400u);
    BOOST_TEST(request(svc.port(), http::verb::post, "/v1/sign-request", "{}", {{"Cookie", cookie}}).status == 400u);
    BOOST_TEST(request(svc.port(), http::verb::post, "/s3/multipart", std::string(5000, ' '), {{"Cookie", cookie}}).status ==
               413u);
    BOOST_TEST(request(svc.port(), http::verb::get, "/s3/multipart/ID?x=1", "", {{"Cookie", cookie}}).status == 400u);
}

BOOST_AUTO_TEST_SUITE_END()
