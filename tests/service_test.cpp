// hoist serve end to end: the strict S3 test server as storage, the service
// in-process (run_service on its own thread), and the engine's via-service
// client or raw HTTP requests. Covers the full flow, the proxy fallback, URL
// refresh, the single PUT, a matrix of cross-user and forged-token attempts,
// two instances serving one upload, bad requests, health, metrics and CORS.
#include "s3_test_server.hpp"
#include "service_instance.hpp"
#include "test_certificate.hpp"

#include "hoist/serve/service.hpp"
#include "hoist/engine/upload.hpp"
#include "hoist/sigv4/encoding.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

namespace e = hoist::engine;
namespace p = hoist::protocol;
namespace t = hoist::test;
namespace fs = std::filesystem;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;
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
    std::map<std::string, std::string> headers;
    json::value json() const { return json::parse(body); }
};

// A synchronous HTTP/1.1 request on a fresh connection, bounded in time.
http_answer request(std::uint16_t port, http::verb method, const std::string& target, const std::string& body,
                    std::map<std::string, std::string> headers = {}) {
    boost::asio::io_context ioc;
    boost::beast::tcp_stream stream(ioc);
    stream.expires_after(10s);
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    boost::beast::error_code ec;
    http::write(stream, req, ec);  // a refused body may be cut short; the answer still comes
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

http_answer api(std::uint16_t port, const json::object& body, const std::string& token) {
    std::map<std::string, std::string> h{{"Content-Type", "application/json"}};
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return request(port, http::verb::post, "/v1/presigned-upload", json::serialize(body), h);
}

// An upload started with action "start" as alice, and what later calls name it by.
struct started_upload {
    std::string id, key, token;
    json::object answer;
};

started_upload start_upload(std::uint16_t port, const std::string& file_name, std::uint64_t size) {
    auto start = api(port, {{"action", "start"}, {"fileName", file_name}, {"fileSize", size}}, alice_token);
    BOOST_REQUIRE_MESSAGE(start.status == 200, start.body);
    auto s = start.json().as_object();
    return {std::string(s.at("uploadId").as_string()), std::string(s.at("s3Key").as_string()),
            std::string(s.at("uploadToken").as_string()), s};
}

struct fixture {
    t::s3_test_server storage;
    fs::path dir = fs::temp_directory_path() / ("hoist-service-" + std::to_string(::getpid()));
    explicit fixture(t::s3_test_server::options opts = {}) : storage(std::move(opts)) {
        storage.create_bucket("bucket");
        fs::create_directories(dir);
    }
    ~fixture() { fs::remove_all(dir); }

    fs::path write(const std::string& data) {
        auto path = dir / "model.safetensors";
        std::ofstream(path, std::ios::binary) << data;
        return path;
    }

    e::upload_options via(const service_instance& svc, const std::string& token = alice_token) {
        e::upload_options o;
        o.via = e::via_service{p::parse_endpoint(svc.url()), hoist::sigv4::secret_string(token), "model.safetensors"};
        o.tls.ca_file = storage.ca_file();
        o.concurrency = 3;
        o.backoff_base = 10ms;
        o.backoff_cap = 100ms;
        o.seed = 1;
        return o;
    }

    // The only object in the bucket under uploads/alice/.
    std::optional<std::string> stored(const std::string& key) { return storage.object("bucket", key); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(presign_service)

BOOST_AUTO_TEST_CASE(full_flow_presigned_parts_byte_exact) {
    fixture f;
    service_instance svc(f.storage);
    auto data = random_bytes(12 * MiB + 3, 1);
    auto r = e::upload_file(f.write(data).string(), f.via(svc));
    BOOST_TEST(r.method == "presigned-s3");
    BOOST_TEST(r.parts == 3u);
    BOOST_TEST(r.key.starts_with("uploads/alice/alice_"));
    BOOST_TEST(r.key.ends_with("_model.safetensors"));
    auto stored = f.stored(r.key);
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST((*stored == data));
    BOOST_TEST(f.storage.open_uploads().empty());
    BOOST_TEST(f.storage.statistics().signature_failures == 0);
    // Parts went to storage directly, not through the service's proxy.
    for (const auto& line : svc.log()) BOOST_TEST(line.find("\"proxy\"") == std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(refused_presigned_put_falls_back_to_the_proxy) {
    fixture f;
    service_instance svc(f.storage);
    f.storage.inject({t::s3_op::upload_part, 2}, {t::fault_kind::access_denied});
    auto data = random_bytes(11 * MiB, 2);
    auto r = e::upload_file(f.write(data).string(), f.via(svc));
    BOOST_TEST(r.method == "chunked-s3");
    BOOST_TEST(r.fallback_reason.find("AccessDenied") != std::string::npos, r.fallback_reason);
    auto stored = f.stored(r.key);
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST((*stored == data));
    int proxied = 0;
    for (const auto& line : svc.log()) proxied += line.find("\"proxy\"") != std::string::npos;
    BOOST_TEST(proxied >= 1);
}

BOOST_AUTO_TEST_CASE(expired_urls_are_refreshed) {
    fixture f;
    // 2 s URLs: a refreshed one must outlive its way to storage on a loaded
    // machine under ASan (1 s did not, once, with a benchmark running beside).
    service_instance svc(f.storage, R"(, "presign_expiry":2)");
    // Part 1 answers slowly, so part 2's URL (issued at start) expires meanwhile.
    f.storage.inject({t::s3_op::upload_part, 1}, {t::fault_kind::slow_first_byte, 3500ms});
    auto o = f.via(svc);
    o.concurrency = 1;
    o.response_timeout = 10s;
    auto data = random_bytes(11 * MiB, 3);
    auto r = e::upload_file(f.write(data).string(), o);
    BOOST_TEST(r.method == "presigned-s3",
               "an expired URL is refreshed, not a reason to fall back (fallback: " << r.fallback_reason << ")");
    BOOST_TEST((*f.stored(r.key) == data));
    int presign_calls = 0;
    for (const auto& line : svc.log()) presign_calls += line.find("\"action\":\"presign\"") != std::string::npos;
    BOOST_TEST(presign_calls >= 1);
}

BOOST_AUTO_TEST_CASE(small_files_use_one_presigned_put) {
    fixture f;
    service_instance svc(f.storage);
    auto data = random_bytes(1000, 4);
    auto r = e::upload_file(f.write(data).string(), f.via(svc));
    BOOST_TEST(r.method == "single-put");
    BOOST_TEST((*f.stored(r.key) == data));
}

BOOST_AUTO_TEST_CASE(cross_user_and_forged_tokens_change_nothing) {
    fixture f;
    service_instance svc(f.storage);
    auto [id, key, token, answer] = start_upload(svc.port(), "a.bin", 6 * MiB);
    std::string forged = token;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    json::array parts{json::object{{"PartNumber", 1}, {"ETag", "\"x\""}}};

    struct attempt {
        const char* who;
        std::string bearer, upload_token, key;
        int status;
    };
    const attempt attempts[] = {
        {"bob with alice's token", bob_token, token, key, 403},
        {"alice with a forged token", alice_token, forged, key, 403},
        {"alice with another key", alice_token, token, "uploads/alice/other.bin", 403},
        {"bob on bob's prefix with alice's token", bob_token, token, "uploads/bob/x", 403},
        {"no bearer", "", token, key, 401},
        {"unknown bearer", "nobody", token, key, 401},
    };
    for (const auto& a : attempts) {
        BOOST_TEST_CONTEXT(a.who) {
            json::object ref{{"uploadId", id}, {"s3Key", a.key}, {"uploadToken", a.upload_token}};
            for (const char* action : {"complete", "abort", "presign", "list-parts"}) {
                json::object body = ref;
                body["action"] = action;
                if (std::string(action) == "complete") body["parts"] = parts;
                if (std::string(action) == "presign") body["partNumbers"] = json::array{1};
                auto r = api(svc.port(), body, a.bearer);
                BOOST_TEST(r.status == static_cast<unsigned>(a.status), action << ": " << r.body);
                BOOST_TEST(r.body.find("\"error\"") != std::string::npos);
            }
            std::map<std::string, std::string> h{{"X-Upload-Token", a.upload_token}};
            if (!a.bearer.empty()) h["Authorization"] = "Bearer " + a.bearer;
            auto proxied = request(svc.port(), http::verb::put,
                                   "/v1/uploads/" + id + "/parts/1?key=" + hoist::sigv4::uri_encode(a.key, false),
                                   std::string(5 * MiB, 'x'), h);
            BOOST_TEST(proxied.status == static_cast<unsigned>(a.status), "proxy: " << proxied.body);
        }
    }
    // Nothing changed: the upload is open and has no parts.
    BOOST_REQUIRE(f.storage.open_uploads().size() == 1u);
    BOOST_TEST(f.storage.open_uploads().front() == id);
    BOOST_TEST(f.storage.statistics().by_op[t::s3_op::upload_part] == 0);
    // The owner can still abort it.
    auto abort = api(svc.port(), {{"action", "abort"}, {"uploadId", id}, {"s3Key", key}, {"uploadToken", token}},
                     alice_token);
    BOOST_TEST(abort.status == 200u, abort.body);
    BOOST_TEST(abort.json().as_object().at("message").as_string() == "Upload aborted");
    BOOST_TEST(f.storage.open_uploads().empty());
    // Logs never carry a bearer token or an upload token.
    for (const auto& line : svc.log()) {
        BOOST_TEST(line.find(alice_token) == std::string::npos);
        BOOST_TEST(line.find(token) == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(two_instances_serve_one_upload) {
    fixture f;
    service_instance a(f.storage), b(f.storage);
    auto data = random_bytes(6 * MiB, 5);
    auto [id, key, token, answer] = start_upload(a.port(), "two.bin", data.size());
    BOOST_TEST(answer.at("presignedUrls").as_array().size() == 2u);
    // Both parts through instance b's proxy, then complete on b.
    json::array parts;
    for (std::uint32_t n = 1; n <= 2; ++n) {
        auto chunk = data.substr((n - 1) * 5 * MiB, 5 * MiB);
        auto r = request(b.port(), http::verb::put,
                         "/v1/uploads/" + id + "/parts/" + std::to_string(n) + "?key=" +
                             hoist::sigv4::uri_encode(key, false),
                         chunk, {{"Authorization", "Bearer " + alice_token}, {"X-Upload-Token", token}});
        BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
        parts.push_back({{"PartNumber", n}, {"ETag", r.json().as_object().at("ETag")}});
    }
    // Resume support: instance a lists what b uploaded.
    auto listed = api(a.port(), {{"action", "list-parts"}, {"uploadId", id}, {"s3Key", key}, {"uploadToken", token}},
                      alice_token);
    BOOST_REQUIRE_MESSAGE(listed.status == 200, listed.body);
    auto listed_parts = listed.json().at("parts").as_array();
    BOOST_REQUIRE(listed_parts.size() == 2u);
    BOOST_TEST(listed_parts[1].at("PartNumber").to_number<int>() == 2);
    BOOST_TEST(listed_parts[0].at("ETag") == parts[0].at("ETag"));
    BOOST_TEST(listed_parts[0].at("Size").to_number<std::uint64_t>() == 5 * MiB);
    auto done = api(b.port(), {{"action", "complete"}, {"uploadId", id}, {"s3Key", key}, {"uploadToken", token},
                               {"parts", parts}},
                    alice_token);
    BOOST_REQUIRE_MESSAGE(done.status == 200, done.body);
    auto c = done.json().as_object();
    BOOST_TEST(c.at("success").as_bool());
    BOOST_TEST(c.at("size").to_number<std::uint64_t>() == data.size());
    BOOST_TEST((*f.stored(key) == data));
}

BOOST_AUTO_TEST_CASE(bad_requests_get_clear_errors) {
    fixture f;
    service_instance svc(f.storage, R"(, "allowed_extensions":["bin"])");
    auto code = [](const http_answer& a) { return std::string(a.json().at("error").at("code").as_string()); };
    auto raw = [&](const std::string& body) {
        return request(svc.port(), http::verb::post, "/v1/presigned-upload", body,
                       {{"Authorization", "Bearer " + alice_token}});
    };
    auto malformed = raw("{not json");
    BOOST_TEST(malformed.status == 400u);
    BOOST_TEST(code(malformed) == "invalid_json");
    auto unknown = api(svc.port(), {{"action", "explode"}}, alice_token);
    BOOST_TEST(unknown.status == 400u);
    BOOST_TEST(code(unknown) == "unknown_action");
    auto big = raw(std::string(5000, ' ') + "{}");
    BOOST_TEST(big.status == 413u);
    auto traversal = api(svc.port(), {{"action", "start"}, {"fileName", "../etc/passwd.bin"}, {"fileSize", 1}}, alice_token);
    BOOST_TEST(traversal.status == 400u);
    BOOST_TEST(code(traversal) == "invalid_file_name");
    auto ext = api(svc.port(), {{"action", "start"}, {"fileName", "x.exe"}, {"fileSize", 6 * MiB}}, alice_token);
    BOOST_TEST(code(ext) == "extension_not_allowed");
    auto mismatch = api(svc.port(), {{"action", "start"}, {"fileName", "x.bin"}, {"fileSize", 20 * MiB},
                                     {"totalParts", 40}},
                        alice_token);
    BOOST_TEST(code(mismatch) == "part_count_mismatch");
    auto none = request(svc.port(), http::verb::get, "/nowhere", "");
    BOOST_TEST(none.status == 404u);
    BOOST_TEST(f.storage.open_uploads().empty());
}

BOOST_AUTO_TEST_CASE(health_metrics_and_cors) {
    fixture f;
    service_instance svc(f.storage);
    auto health = request(svc.port(), http::verb::get, "/healthz", "");
    BOOST_TEST(health.status == 200u);
    BOOST_TEST(health.body == R"({"status":"ok"})");
    auto preflight = request(svc.port(), http::verb::options, "/v1/presigned-upload", "",
                             {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}});
    BOOST_TEST(preflight.status == 204u);
    BOOST_TEST(preflight.headers["Access-Control-Allow-Origin"] == "https://app.example");
    BOOST_TEST(preflight.headers["Access-Control-Expose-Headers"] == "ETag");
    auto other = request(svc.port(), http::verb::options, "/v1/presigned-upload", "", {{"Origin", "https://evil.example"}});
    BOOST_TEST(other.headers.count("Access-Control-Allow-Origin") == 0u);
    start_upload(svc.port(), "m.bin", 6 * MiB);
    auto metrics = request(svc.port(), http::verb::get, "/metrics", "");
    BOOST_TEST(metrics.status == 200u);
    BOOST_TEST(metrics.body.find("hoist_uploads_started_total 1") != std::string::npos, metrics.body);
    BOOST_TEST(metrics.body.find(R"(hoist_http_requests_total{route="/v1/presigned-upload",status="200"} 1)") !=
               std::string::npos);
    BOOST_TEST(metrics.body.find("hoist_http_request_duration_seconds_count") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_failed_via_upload_is_aborted_through_the_service) {
    fixture f;
    service_instance svc(f.storage);
    // Complete is refused by storage on every try: the service answers 502, the
    // client gives up after its attempts and aborts through the service.
    for (int i = 1; i <= 3; ++i) f.storage.inject({t::s3_op::complete, std::nullopt, i}, {t::fault_kind::access_denied});
    auto o = f.via(svc);
    o.max_attempts = 3;
    try {
        e::upload_file(f.write(random_bytes(11 * MiB, 6)).string(), o);
        BOOST_FAIL("the upload succeeded");
    } catch (const e::upload_error& err) {
        BOOST_TEST(std::string(err.what()).find("service complete") != std::string::npos, err.what());
        BOOST_TEST(err.aborted(), err.what());
    }
    BOOST_TEST(f.storage.open_uploads().empty());
    BOOST_TEST(f.storage.aborted_uploads().size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_service_over_tls) {
    // Storage over plain HTTP here: both test certificates name 127.0.0.1, and
    // one CA bundle cannot hold two self-signed certificates with one subject.
    t::s3_test_server::options plain;
    plain.tls = false;
    fixture f(plain);
    auto cert = t::make_test_certificate();
    auto cert_file = f.dir / "svc-cert.pem", key_file = f.dir / "svc-key.pem";
    std::ofstream(cert_file) << cert.cert_pem;
    std::ofstream(key_file) << cert.key_pem;
    service_instance svc(f.storage, R"(, "tls":{"cert":")" + cert_file.string() + R"(","key":")" + key_file.string() +
                                        R"("})");
    auto o = f.via(svc);
    o.via->service = p::parse_endpoint("https://127.0.0.1:" + std::to_string(svc.port()));
    o.tls.ca_file = cert_file.string();
    auto data = random_bytes(12 * MiB, 7);
    auto r = e::upload_file(f.write(data).string(), o);
    BOOST_TEST(r.method == "presigned-s3");
    BOOST_TEST((*f.stored(r.key) == data));
    // Without trusting the service's certificate, the client refuses it.
    o.tls.ca_file.clear();
    BOOST_CHECK_THROW(e::upload_file(f.write(data).string(), o), e::upload_error);
}

BOOST_AUTO_TEST_CASE(expect_100_continue_is_answered_before_the_body) {
    fixture f;
    service_instance svc(f.storage);
    boost::asio::io_context ioc;
    boost::beast::tcp_stream stream(ioc);
    stream.expires_after(5s);
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), svc.port()));
    std::string body = R"({"action":"single","fileName":"a.bin","fileSize":10})";
    std::string head = "POST /v1/presigned-upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice_token +
                       "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    boost::asio::write(stream, boost::asio::buffer(head));
    // Without the interim answer the service would wait for the body (up to
    // its 60 s read deadline) and a client like curl a second before sending.
    stream.expires_after(3s);
    boost::beast::flat_buffer buffer;
    http::response<http::empty_body> cont;
    http::read(stream, buffer, cont);
    BOOST_TEST(cont.result_int() == 100u);
    stream.expires_after(5s);
    boost::asio::write(stream, boost::asio::buffer(body));
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    BOOST_TEST(res.result_int() == 200u, res.body());
}

BOOST_AUTO_TEST_CASE(a_client_that_drops_a_proxied_part_is_its_fault_not_storage_s) {
    // The client promises 6 MiB, sends 1 MiB and resets. The service must log
    // 400 incomplete_body (not 502 storage_error), and no part may be stored.
    fixture f;
    service_instance svc(f.storage);
    auto [id, key, token, answer] = start_upload(svc.port(), "drop.bin", 12 * MiB);
    {
        boost::asio::io_context ioc;
        boost::beast::tcp_stream stream(ioc);
        stream.expires_after(5s);
        stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), svc.port()));
        std::string head = "PUT /v1/uploads/" + id + "/parts/1?key=" + hoist::sigv4::uri_encode(key, false) +
                           " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice_token +
                           "\r\nX-Upload-Token: " + token + "\r\nContent-Length: " + std::to_string(6 * MiB) +
                           "\r\n\r\n";
        boost::asio::write(stream, boost::asio::buffer(head));
        boost::asio::write(stream, boost::asio::buffer(std::string(MiB, 'd')));
        std::this_thread::sleep_for(200ms);
        stream.socket().set_option(boost::asio::socket_base::linger(true, 0));   // close with RST
        stream.close();
    }
    std::string proxy_line;
    for (int i = 0; i < 100 && proxy_line.empty(); ++i) {   // at most ~5 s
        for (const auto& line : svc.log())
            if (line.find("\"proxy\"") != std::string::npos) proxy_line = line;
        std::this_thread::sleep_for(50ms);
    }
    BOOST_TEST(proxy_line.find("\"status\":400") != std::string::npos, proxy_line);
    BOOST_TEST(proxy_line.find("\"error\":\"incomplete_body\"") != std::string::npos, proxy_line);
    auto listed = api(svc.port(), {{"action", "list-parts"}, {"uploadId", id}, {"s3Key", key}, {"uploadToken", token}},
                      alice_token);
    BOOST_REQUIRE_MESSAGE(listed.status == 200, listed.body);
    BOOST_TEST(listed.json().at("parts").as_array().empty(), listed.body);
}

BOOST_AUTO_TEST_SUITE_END()

// The service's pooled connections to storage: the retry rules hold on the
// proxy route too, whose bodies come from the client's socket and cannot be
// read twice (issue 14, bug 4).
BOOST_AUTO_TEST_SUITE(presign_service_storage_connections)

BOOST_AUTO_TEST_CASE(a_proxied_part_after_storage_closed_the_idle_pooled_connection_succeeds) {
    // Storage closes a kept-alive connection after 1 s without a request, as
    // s3rver does after 5 s. Before the fix the service answered 502
    // ("UploadPart: failed after 1 attempt; last error: connection reset").
    t::s3_test_server::options opts;
    opts.idle_timeout = 1s;
    fixture f(opts);
    service_instance svc(f.storage);
    auto [id, key, token, answer] = start_upload(svc.port(), "idle.bin", 6 * MiB);   // Create: one pooled connection
    BOOST_REQUIRE(f.storage.statistics().connections == 1);
    std::this_thread::sleep_for(1500ms);
    auto chunk = random_bytes(5 * MiB, 8);
    auto r = request(svc.port(), http::verb::put,
                     "/v1/uploads/" + id + "/parts/1?key=" + hoist::sigv4::uri_encode(key, false), chunk,
                     {{"Authorization", "Bearer " + alice_token}, {"X-Upload-Token", token}});
    BOOST_TEST(r.status == 200u, r.body);
    // The idle connection was really gone: the part went on a second one.
    BOOST_TEST(f.storage.statistics().connections == 2);
    auto listed = api(svc.port(), {{"action", "list-parts"}, {"uploadId", id}, {"s3Key", key}, {"uploadToken", token}},
                      alice_token);
    BOOST_REQUIRE_MESSAGE(listed.status == 200, listed.body);
    auto parts = listed.json().at("parts").as_array();
    BOOST_REQUIRE(parts.size() == 1u);
    BOOST_TEST(parts[0].at("Size").to_number<std::uint64_t>() == 5 * MiB);
}

BOOST_AUTO_TEST_CASE(a_proxied_part_cut_within_its_first_slice_on_a_reused_connection_is_sent_again) {
    // The race the liveness check cannot see: storage drops a kept-alive
    // connection just as the part goes out on it. The part (100 KiB) fits in
    // the service's first 128 KiB slice, which the runner still holds, so the
    // free retry on a fresh connection applies although the client's body
    // cannot be read twice.
    fixture f;
    service_instance svc(f.storage);
    auto [id, key, token, answer] = start_upload(svc.port(), "cut.bin", 6 * MiB);
    f.storage.inject({t::s3_op::upload_part, 1}, {t::fault_kind::reset_mid_body});
    auto chunk = random_bytes(100 * 1024, 9);
    auto r = request(svc.port(), http::verb::put,
                     "/v1/uploads/" + id + "/parts/1?key=" + hoist::sigv4::uri_encode(key, false), chunk,
                     {{"Authorization", "Bearer " + alice_token}, {"X-Upload-Token", token}});
    BOOST_TEST(r.status == 200u, r.body);
    auto stats = f.storage.statistics();
    BOOST_TEST(stats.by_op[t::s3_op::upload_part] == 2, "cut once, then sent again");
    BOOST_TEST(stats.connections == 2);
    auto log = f.storage.log();
    BOOST_REQUIRE(!log.empty());
    BOOST_TEST(log.back() == "PUT UploadPart part=1 -> 200");
}

BOOST_AUTO_TEST_SUITE_END()

// request_runner::stop() on its own, with the strict server this target has:
// the service and the upload job share the runner, and pools are about to be
// shared between runners, so a stop must cut its own runner's calls without
// closing connections (no connection_pool::close_all() here).
#include "request_runner.hpp"

#include <boost/asio/co_spawn.hpp>

BOOST_AUTO_TEST_SUITE(request_runner_stop)

BOOST_AUTO_TEST_CASE(stop_cuts_its_own_exchanges_and_sleeps_and_not_another_runners) {
    namespace d = hoist::engine::detail;
    t::s3_test_server storage;
    storage.create_bucket("bucket");
    // Runner a: a CreateMultipartUpload whose answer takes 5 s (an exchange in
    // flight) and a HeadObject answered 503 with Retry-After: 10 (a backoff
    // sleep). Runner b, same pool: a ListMultipartUploads answered after 0.8 s.
    storage.inject({t::s3_op::create, std::nullopt}, {t::fault_kind::slow_first_byte, 5000ms});
    storage.inject({t::s3_op::head_object, std::nullopt}, {t::fault_kind::slow_down_503, 0ms, 10});
    storage.inject({t::s3_op::list_uploads, std::nullopt}, {t::fault_kind::slow_first_byte, 800ms});
    auto ep = p::parse_endpoint(storage.endpoint_url());
    auto object = p::locate(ep, "bucket", "stop.bin", p::addressing::path);
    auto bucket = p::locate(ep, "bucket", "", p::addressing::path);
    hoist::sigv4::credentials creds;
    creds.access_key_id = storage.config().access_key_id;
    creds.secret_access_key = hoist::sigv4::secret_string(storage.config().secret);
    hoist::sigv4::signer signer(creds);

    boost::asio::io_context ioc;
    d::pool_config pc;
    pc.host = ep.host;
    pc.port = ep.port;
    pc.use_tls = ep.tls();
    pc.tls.ca_file = storage.ca_file();
    d::connection_pool pool(ioc.get_executor(), pc);
    auto runner = [&] {
        return std::make_unique<d::request_runner>(ioc.get_executor(), e::backoff_policy{}, 1, d::exchange_timeouts{},
                                                   64 * 1024);
    };
    auto a = runner(), b = runner();

    struct outcome {
        std::optional<d::call_result> result;
        std::chrono::steady_clock::duration took{};
    };
    outcome create, head, list;
    const auto started = std::chrono::steady_clock::now();
    auto run = [&](d::request_runner& r, std::string what, std::function<p::s3_request()> build,
                   outcome& out) -> boost::asio::awaitable<void> {
        d::call_spec spec{std::move(what), d::signed_each_attempt(std::move(build), signer, "us-east-1"), nullptr,
                          true, 3};
        out.result = co_await r.call(pool, std::move(spec));
        out.took = std::chrono::steady_clock::now() - started;
    };
    auto report = [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    };
    boost::asio::co_spawn(ioc, run(*a, "create", [&] { return p::create_multipart_upload(object, {}); }, create),
                          report);
    boost::asio::co_spawn(ioc, run(*a, "head", [&] { return p::head_object(object); }, head), report);
    boost::asio::co_spawn(ioc, run(*b, "list", [&] { return p::list_multipart_uploads(bucket, ""); }, list), report);
    boost::asio::steady_timer stop_a(ioc, 400ms);
    stop_a.async_wait([&](boost::system::error_code) { a->stop(); });
    ioc.run_for(20s);

    BOOST_REQUIRE(create.result && head.result && list.result);
    BOOST_TEST((create.result->code == e::upload_errc::cancelled), create.result->error);
    BOOST_TEST((head.result->code == e::upload_errc::cancelled), head.result->error);
    BOOST_TEST(create.result->error == "create: stopped");
    BOOST_TEST((create.took < 2s), "the exchange was cut, not waited for");
    BOOST_TEST((head.took < 2s), "the backoff sleep was cut");
    BOOST_TEST(list.result->ok, list.result->error);
    BOOST_TEST((list.took >= 800ms), "runner b's exchange ran its course");
    BOOST_TEST(head.result->status == 503u);

    // A connection whose exchange was cut is closed, never pooled: if it were,
    // one of these (as many as the pool can hold idle) would take it and read
    // the late answer to the Create as its own.
    ioc.restart();
    std::vector<outcome> again(3);
    for (auto& h : again)
        boost::asio::co_spawn(ioc, run(*b, "head", [&] { return p::head_object(object); }, h), report);
    ioc.run_for(20s);
    for (auto& h : again) {
        BOOST_REQUIRE(h.result);
        BOOST_TEST(h.result->status == 404u, "status " << h.result->status << " " << h.result->error);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(connection_pool_liveness)

BOOST_AUTO_TEST_CASE(an_idle_connection_the_server_closed_is_never_written_to) {
    // Storage closes a kept-alive connection after 1 s without a request. The
    // pool must see that when it takes the connection (not by sending on it
    // and failing): no retry, a second connection, no reuse.
    namespace d = hoist::engine::detail;
    t::s3_test_server::options opts;
    opts.idle_timeout = 1s;
    t::s3_test_server storage(opts);
    storage.create_bucket("bucket");
    auto ep = p::parse_endpoint(storage.endpoint_url());
    auto object = p::locate(ep, "bucket", "idle.bin", p::addressing::path);
    hoist::sigv4::credentials creds;
    creds.access_key_id = storage.config().access_key_id;
    creds.secret_access_key = hoist::sigv4::secret_string(storage.config().secret);
    hoist::sigv4::signer signer(creds);

    boost::asio::io_context ioc;
    d::pool_config pc;
    pc.host = ep.host;
    pc.port = ep.port;
    pc.use_tls = ep.tls();
    pc.tls.ca_file = storage.ca_file();
    d::connection_pool pool(ioc.get_executor(), pc);
    d::request_runner runner(ioc.get_executor(), e::backoff_policy{}, 1, d::exchange_timeouts{}, 64 * 1024);
    int retries = 0;
    runner.on_retry = [&] { ++retries; };
    std::vector<d::call_result> results;
    auto two_calls = [&]() -> boost::asio::awaitable<void> {
        for (int i = 0; i < 2; ++i) {
            if (i == 1) {
                boost::asio::steady_timer idle(ioc, 1500ms);
                co_await idle.async_wait(boost::asio::use_awaitable);
            }
            d::call_spec spec{"create", d::signed_each_attempt([&] { return p::create_multipart_upload(object, {}); },
                                                               signer, "us-east-1"),
                              nullptr, true, 3};
            results.push_back(co_await runner.call(pool, std::move(spec)));
        }
    };
    boost::asio::co_spawn(ioc, two_calls(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    ioc.run_for(20s);

    BOOST_REQUIRE(results.size() == 2u);
    BOOST_TEST(results[0].ok, results[0].error);
    BOOST_TEST(results[1].ok, results[1].error);
    BOOST_TEST(retries == 0, "the dead connection was written to and the request sent again");
    BOOST_TEST(pool.opened() == 2u);
    BOOST_TEST(pool.reused() == 0u);
    BOOST_TEST(storage.statistics().connections == 2);
}

BOOST_AUTO_TEST_SUITE_END()
