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
#include "hoist/protocol/presign/auth.hpp"
#include "hoist/sigv4/encoding.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>
#include <time.h>

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

http_answer api(std::uint16_t port, const json::object& body, const std::string& token,
               const std::string& path = "/v1/presigned-upload") {
    std::map<std::string, std::string> h{{"Content-Type", "application/json"}};
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return request(port, http::verb::post, path, json::serialize(body), h);
}

std::string error_code_of(const http_answer& a) {
    auto v = a.json();
    if (!v.is_object() || !v.as_object().contains("error")) return "";
    return std::string(v.at("error").at("code").as_string());
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

// A plain POSIX client for bytes no HTTP library would send, bounded by
// SO_RCVTIMEO/SO_SNDTIMEO (Asio's synchronous reads would wait past them).
class raw_client {
public:
    explicit raw_client(std::uint16_t port, std::chrono::milliseconds timeout = 5s) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        BOOST_REQUIRE(fd_ >= 0);
        timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        BOOST_REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;
    ~raw_client() { ::close(fd_); }

    bool send(std::string_view bytes) {
        for (std::size_t off = 0; off < bytes.size();) {
            auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<std::size_t>(n);
        }
        return true;
    }
    // Everything until the peer closes (or the timeout passes between two reads).
    std::string read_to_end() {
        std::string out;
        char buf[16384];
        for (int i = 0; i < 1000; ++i) {
            auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }
    // One response: its head and a Content-Length body ("" when the peer closed first).
    std::string read_response() {
        std::string out;
        char c;
        while (out.find("\r\n\r\n") == std::string::npos && out.size() < 65536) {
            if (::recv(fd_, &c, 1, 0) != 1) return out;
            out += c;
        }
        auto at = out.find("\r\nContent-Length: ");
        std::size_t length = at == std::string::npos ? 0 : std::stoul(out.substr(at + 18));
        std::string body(length, '\0');
        for (std::size_t got = 0; got < length;) {
            auto n = ::recv(fd_, body.data() + got, length - got, 0);
            if (n <= 0) return out;
            got += static_cast<std::size_t>(n);
        }
        return out + body;
    }
    // Whether the peer closed the connection (EOF) within the timeout.
    bool closed_by_peer() {
        char c;
        return ::recv(fd_, &c, 1, 0) == 0;
    }

private:
    int fd_ = -1;
};

struct raw_answer {
    unsigned status = 0;
    std::map<std::string, std::string> headers;   // names as sent
    std::string body;
    json::value json() const { return json::parse(body); }
    std::string error_code() const { return std::string(json().at("error").at("code").as_string()); }
};

raw_answer parse_answer(const std::string& text) {
    raw_answer a;
    BOOST_REQUIRE_MESSAGE(text.starts_with("HTTP/1.1 ") && text.size() >= 12, "not an HTTP answer: " << text);
    a.status = static_cast<unsigned>(std::stoul(text.substr(9, 3)));
    auto end = text.find("\r\n\r\n");
    BOOST_REQUIRE(end != std::string::npos);
    std::size_t at = text.find("\r\n") + 2;
    while (at < end) {
        auto eol = text.find("\r\n", at);
        auto line = text.substr(at, eol - at);
        auto colon = line.find(": ");
        if (colon != std::string::npos) a.headers[line.substr(0, colon)] = line.substr(colon + 2);
        at = eol + 2;
    }
    a.body = text.substr(end + 4);
    return a;
}

int count_lines(const std::vector<std::string>& log, std::string_view needle) {
    int n = 0;
    for (const auto& line : log) n += line.find(needle) != std::string::npos;
    return n;
}

// The service logs a request after its answer is written, so a client can
// read the answer before the line exists: wait (at most 5 s) for `n` lines.
int wait_for_lines(const t::service_instance& svc, std::string_view needle, int n) {
    int found = 0;
    for (int i = 0; i < 100 && (found = count_lines(svc.log(), needle)) < n; ++i)
        std::this_thread::sleep_for(50ms);
    return found;
}

// The number after `series` ("name{labels} N") in a /metrics text, or -1.
long long metric(const std::string& text, const std::string& series) {
    auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + series.size() + 2));
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

// The product's contract: start with fileName and totalParts only (every part
// presigned, URLs as strings), then complete and abort by uploadId + s3Key,
// authorised by the caller's key prefix; Bob can touch none of it.
BOOST_AUTO_TEST_CASE(start_without_file_size_and_calls_authorised_by_the_key_prefix) {
    fixture f;
    service_instance svc(f.storage);
    auto start = api(svc.port(), {{"action", "start"}, {"fileName", "prod model.bin"}, {"totalParts", 2}}, alice_token);
    BOOST_REQUIRE_MESSAGE(start.status == 200, start.body);
    auto s = start.json().as_object();
    const std::string id(s.at("uploadId").as_string()), key(s.at("s3Key").as_string()),
        token(s.at("uploadToken").as_string());
    BOOST_TEST(key.starts_with("uploads/alice/alice_"));
    BOOST_TEST(key.ends_with("_prod_model.bin"));
    BOOST_TEST(s.at("uniqueFileName").as_string() == key.substr(key.rfind('/') + 1));
    BOOST_TEST(!s.contains("partSize"));
    BOOST_TEST(s.at("expiresAt").is_string());
    const auto& urls = s.at("presignedUrls").as_array();
    BOOST_REQUIRE(urls.size() == 2u);
    for (std::size_t i = 0; i < urls.size(); ++i) {
        BOOST_REQUIRE(urls[i].is_string());
        const std::string url(urls[i].as_string());
        BOOST_TEST(url.find("partNumber=" + std::to_string(i + 1) + "&") != std::string::npos, url);
        BOOST_TEST(url.find("X-Amz-Signature=") != std::string::npos, url);
        BOOST_TEST(url.find("content-type") == std::string::npos, url);   // browsers set it; it must not be signed
    }
    BOOST_TEST((f.storage.open_uploads() == std::vector<std::string>{id}));

    // Two parts through the proxy (the presigned URLs are exercised by the Node test).
    auto data = random_bytes(5 * MiB + 1000, 11);
    json::array parts;
    for (std::uint32_t n = 1; n <= 2; ++n) {
        auto chunk = data.substr((n - 1) * 5 * MiB, 5 * MiB);
        auto r = request(svc.port(), http::verb::put,
                         "/v1/uploads/" + id + "/parts/" + std::to_string(n) + "?key=" +
                             hoist::sigv4::uri_encode(key, false),
                         chunk, {{"Authorization", "Bearer " + alice_token}, {"X-Upload-Token", token}});
        BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
        parts.push_back({{"PartNumber", n}, {"ETag", r.json().as_object().at("ETag")}});
    }

    // Bob, without a token, on Alice's key: 403 forbidden for every action.
    // Bob with Alice's genuine token: 403 invalid_upload_token. Alice with a
    // forged token on her own key: still 403 (a token is never ignored).
    std::string forged = token;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    struct attempt {
        const char* who;
        std::string bearer, upload_token, key, code;
    };
    const attempt attempts[] = {
        {"bob, no token, alice's key", bob_token, "", key, "forbidden"},
        {"bob, no token, alice's id under bob's prefix", bob_token, "", "uploads/bob/" + key.substr(14),
         "no_such_upload"},
        {"bob with alice's valid token", bob_token, token, key, "invalid_upload_token"},
        {"alice with a forged token", alice_token, forged, key, "invalid_upload_token"},
        {"alice, no token, a '..' key", alice_token, "", "uploads/alice/../bob/x", "forbidden"},
    };
    for (const auto& a : attempts) {
        BOOST_TEST_CONTEXT(a.who) {
            json::object ref{{"uploadId", id}, {"s3Key", a.key}};
            if (!a.upload_token.empty()) ref["uploadToken"] = a.upload_token;
            for (const char* action : {"complete", "abort", "presign", "list-parts"}) {
                json::object body = ref;
                body["action"] = action;
                if (std::string(action) == "complete") body["parts"] = parts;
                if (std::string(action) == "presign") body["partNumbers"] = json::array{1};
                auto r = api(svc.port(), body, a.bearer);
                // Under bob's own prefix the storage itself refuses alice's upload id
                // (presign touches no storage: URLs for an upload that is not there).
                if (a.code == "no_such_upload" && std::string(action) == "presign") {
                    BOOST_TEST(r.status == 200u, r.body);
                    continue;
                }
                if (a.code == "no_such_upload" && std::string(action) == "abort") {
                    // AbortMultipartUpload of an unknown upload: answered as done, nothing changed.
                    BOOST_TEST(r.status == 200u, r.body);
                    continue;
                }
                BOOST_TEST(r.status == (a.code == "no_such_upload" ? 404u : 403u), action << ": " << r.body);
                BOOST_TEST(error_code_of(r) == a.code, action << ": " << r.body);
            }
        }
    }
    // Nothing changed: the upload is open with its two parts, nothing
    // completed. The one Complete the storage saw is Bob's under his own
    // prefix, which it refused (NoSuchUpload: the id is not an upload of that key).
    BOOST_TEST((f.storage.open_uploads() == std::vector<std::string>{id}));
    BOOST_TEST(f.storage.statistics().by_op[t::s3_op::complete] == 1);
    BOOST_TEST(f.storage.statistics().by_op[t::s3_op::abort] == 1);
    BOOST_TEST(f.storage.aborted_uploads().empty());
    BOOST_TEST(!f.stored(key));

    // Alice, without a token: list-parts, presign, then complete.
    json::object ref{{"uploadId", id}, {"s3Key", key}};
    json::object list = ref;
    list["action"] = "list-parts";
    auto listed = api(svc.port(), list, alice_token);
    BOOST_REQUIRE_MESSAGE(listed.status == 200, listed.body);
    BOOST_TEST(listed.json().at("parts").as_array().size() == 2u);
    json::object presign = ref;
    presign["action"] = "presign";
    presign["partNumbers"] = json::array{2};
    auto more = api(svc.port(), presign, alice_token);
    BOOST_REQUIRE_MESSAGE(more.status == 200, more.body);
    BOOST_TEST(more.json().at("presignedUrls").as_array().size() == 1u);
    json::object complete = ref;
    complete["action"] = "complete";
    complete["parts"] = parts;
    auto done = api(svc.port(), complete, alice_token);
    BOOST_REQUIRE_MESSAGE(done.status == 200, done.body);
    auto c = done.json().as_object();
    BOOST_TEST(c.at("success").as_bool());
    BOOST_TEST(c.at("uniqueFileName") == s.at("uniqueFileName"));
    BOOST_TEST(c.at("size").to_number<std::uint64_t>() == data.size());
    BOOST_TEST((f.stored(key) == data));
    BOOST_TEST(f.storage.open_uploads().empty());

    // A second upload, aborted by Alice without a token.
    auto second = api(svc.port(), {{"action", "start"}, {"fileName", "b.bin"}, {"totalParts", 1}}, alice_token);
    BOOST_REQUIRE_MESSAGE(second.status == 200, second.body);
    auto s2 = second.json().as_object();
    auto aborted = api(svc.port(), {{"action", "abort"}, {"uploadId", s2.at("uploadId")}, {"s3Key", s2.at("s3Key")}},
                       alice_token);
    BOOST_REQUIRE_MESSAGE(aborted.status == 200, aborted.body);
    BOOST_TEST(aborted.json().at("success").as_bool());
    BOOST_TEST(aborted.json().at("message").as_string() == "Upload aborted");
    BOOST_TEST(f.storage.open_uploads().empty());
    BOOST_TEST(f.storage.aborted_uploads().size() == 1u);
}

BOOST_AUTO_TEST_CASE(start_without_file_size_refuses_bad_part_counts_before_touching_storage) {
    fixture f;
    service_instance svc(f.storage, R"(, "allowed_extensions":["bin"], "max_file_size":10485760)");
    auto neither = api(svc.port(), {{"action", "start"}, {"fileName", "a.bin"}}, alice_token);
    BOOST_TEST(neither.status == 400u);
    BOOST_TEST(error_code_of(neither) == "invalid_request");
    BOOST_TEST(neither.body.find("fileSize or totalParts is required") != std::string::npos, neither.body);
    for (json::value total : {json::value(0), json::value(10001), json::value("3"), json::value(2.5)}) {
        auto r = api(svc.port(), {{"action", "start"}, {"fileName", "a.bin"}, {"totalParts", total}}, alice_token);
        BOOST_TEST(r.status == 400u, r.body);
        BOOST_TEST(r.body.find("totalParts must be a whole number from 1 to 10000") != std::string::npos, r.body);
    }
    auto ext = api(svc.port(), {{"action", "start"}, {"fileName", "a.exe"}, {"totalParts", 2}}, alice_token);
    BOOST_TEST(error_code_of(ext) == "extension_not_allowed");
    // 4 parts make at least 15 MiB (all but the last >= 5 MiB): above max_file_size.
    auto big = api(svc.port(), {{"action", "start"}, {"fileName", "a.bin"}, {"totalParts", 4}}, alice_token);
    BOOST_TEST(big.status == 400u);
    BOOST_TEST(error_code_of(big) == "file_too_large", big.body);
    auto anonymous = api(svc.port(), {{"action", "start"}, {"fileName", "a.bin"}, {"totalParts", 2}}, "");
    BOOST_TEST(anonymous.status == 401u);
    BOOST_TEST(f.storage.statistics().by_op[t::s3_op::create] == 0);
    BOOST_TEST(f.storage.open_uploads().empty());
}

// The largest answer the product's form can ask for: 10,000 URLs in one answer.
BOOST_AUTO_TEST_CASE(start_without_file_size_presigns_up_to_10000_parts_in_one_answer) {
    fixture f;
    service_instance svc(f.storage);
    const std::string name(200, 'n');   // a long name: a long key in every URL
    auto start = api(svc.port(), {{"action", "start"}, {"fileName", name + ".bin"}, {"totalParts", 10000}}, alice_token);
    BOOST_REQUIRE_MESSAGE(start.status == 200, start.body.substr(0, 300));
    auto urls = start.json().at("presignedUrls").as_array();
    BOOST_REQUIRE(urls.size() == 10000u);
    BOOST_TEST(std::string(urls[9999].as_string()).find("partNumber=10000&") != std::string::npos);
    BOOST_TEST_MESSAGE("answer with 10000 URLs and a 200-byte name: " << start.body.size() << " bytes");
    BOOST_TEST(start.body.size() < 16 * MiB);
}

BOOST_AUTO_TEST_CASE(the_json_api_answers_on_its_configured_path_only) {
    fixture f;
    service_instance svc(f.storage, R"(, "api_path":"/api/upload")");
    auto start = api(svc.port(), {{"action", "start"}, {"fileName", "a.bin"}, {"totalParts", 1}}, alice_token,
                     "/api/upload");
    BOOST_REQUIRE_MESSAGE(start.status == 200, start.body);
    auto old = api(svc.port(), {{"action", "start"}, {"fileName", "a.bin"}, {"totalParts", 1}}, alice_token);
    BOOST_TEST(old.status == 404u);
    auto get = request(svc.port(), http::verb::get, "/api/upload", "");
    BOOST_TEST(get.status == 405u);
    BOOST_TEST(get.headers["Allow"] == "POST, OPTIONS");
    auto metrics = request(svc.port(), http::verb::get, "/metrics", "");
    BOOST_TEST(metric(metrics.body, R"(hoist_http_requests_total{route="/api/upload",status="200"})") == 1);
    BOOST_TEST(f.storage.open_uploads().size() == 1u);
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

// hoist serve under abuse (issue 17): malformed heads, slow and silent
// clients, the descriptor limit, expired tokens, probes in the log.
BOOST_AUTO_TEST_SUITE(presign_service_abuse)

BOOST_AUTO_TEST_CASE(malformed_heads_get_a_json_error_a_log_line_and_a_count) {
    fixture f;
    service_instance svc(f.storage);
    struct hostile {
        const char* what;
        std::string bytes;
        unsigned status;
        const char* code;
        const char* reason;
    };
    const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    const hostile cases[] = {
        {"a 33 KB header", get + "X-Big: " + std::string(33 * 1024, 'a') + "\r\n\r\n", 431, "header_too_large",
         "header_too_large"},
        {"an HTTP/0.9 request line", "GET /healthz\r\n\r\n", 400, "bad_request", "bad_request_line"},
        {"garbage (a TLS hello to plain HTTP)", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n",
         400, "bad_request", "bad_request_line"},
        {"Content-Length with Transfer-Encoding",
         "POST /v1/presigned-upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
         400, "bad_request", "bad_transfer_encoding"},
        {"a negative Content-Length", "POST /v1/presigned-upload HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
         400, "bad_request", "bad_content_length"},
        {"a huge Content-Length",
         "POST /v1/presigned-upload HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400,
         "bad_request", "bad_content_length"},
        {"a non-numeric Content-Length", "POST /v1/presigned-upload HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
         400, "bad_request", "bad_content_length"},
        {"two different Content-Lengths",
         "POST /v1/presigned-upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400,
         "bad_request", "bad_content_length"},
        {"two equal Content-Lengths",
         "POST /v1/presigned-upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400,
         "bad_request", "bad_content_length"},
        {"HTTP/2.0 on an HTTP/1 port", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 400, "bad_request",
         "bad_request_line"},
    };
    std::map<std::string, int> reasons;
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.what) {
            raw_client client(svc.port());
            client.send(c.bytes);
            auto text = client.read_to_end();
            auto a = parse_answer(text);
            BOOST_TEST(a.status == c.status);
            BOOST_TEST(a.headers["Connection"] == "close");
            BOOST_TEST(a.headers["Content-Type"] == "application/json");
            BOOST_TEST(a.error_code() == c.code, a.body);
            ++reasons[c.reason];
        }
    }
    auto metrics = request(svc.port(), http::verb::get, "/metrics", "").body;
    for (const auto& [reason, n] : reasons)
        BOOST_TEST(metric(metrics, "hoist_http_rejected_total{reason=\"" + reason + "\"}") == n, reason << "\n" << metrics);
    BOOST_TEST(wait_for_lines(svc, "\"route\":\"rejected\"", static_cast<int>(std::size(cases))) ==
               static_cast<int>(std::size(cases)));
    auto log = svc.log();
    BOOST_TEST(count_lines(log, "\"error\":\"bad_content_length\"") == reasons["bad_content_length"]);
    BOOST_TEST(count_lines(log, "\"status\":431") == 1);
}

BOOST_AUTO_TEST_CASE(a_known_path_with_another_method_is_405_with_allow) {
    fixture f;
    service_instance svc(f.storage);
    auto get = request(svc.port(), http::verb::get, "/v1/presigned-upload", "");
    BOOST_TEST(get.status == 405u);
    BOOST_TEST(get.headers["Allow"] == "POST, OPTIONS");
    BOOST_TEST(get.json().at("error").at("code").as_string() == "method_not_allowed");
    auto put = request(svc.port(), http::verb::post, "/healthz", "{}");
    BOOST_TEST(put.status == 405u);
    BOOST_TEST(put.headers["Allow"] == "GET");
    auto part = request(svc.port(), http::verb::get, "/v1/uploads/x/parts/1?key=k", "");
    BOOST_TEST(part.status == 405u);
    BOOST_TEST(part.headers["Allow"] == "PUT, OPTIONS");
    BOOST_TEST(request(svc.port(), http::verb::get, "/nowhere", "").status == 404u);
}

BOOST_AUTO_TEST_CASE(probes_are_not_logged_unless_asked) {
    fixture f;
    {
        service_instance svc(f.storage);
        for (int i = 0; i < 3; ++i) BOOST_TEST(request(svc.port(), http::verb::get, "/healthz", "").status == 200u);
        auto metrics = request(svc.port(), http::verb::get, "/metrics", "");
        BOOST_TEST(metric(metrics.body, R"(hoist_http_requests_total{route="/healthz",status="200"})") == 3);
        start_upload(svc.port(), "logged.bin", 6 * MiB);
        BOOST_TEST(wait_for_lines(svc, "\"action\":\"start\"", 1) == 1);   // the log works
        auto log = svc.log();
        BOOST_TEST(count_lines(log, "/healthz") == 0);
        BOOST_TEST(count_lines(log, "/metrics") == 0);
    }
    service_instance verbose(f.storage, "", [](e::service_options& o) { o.log_probes = true; });
    request(verbose.port(), http::verb::get, "/healthz", "");
    request(verbose.port(), http::verb::get, "/metrics", "");
    BOOST_TEST(wait_for_lines(verbose, "\"route\":\"/healthz\"", 1) == 1);
    BOOST_TEST(wait_for_lines(verbose, "\"route\":\"/metrics\"", 1) == 1);
}

BOOST_AUTO_TEST_CASE(a_preflight_from_a_foreign_origin_gets_a_json_403) {
    fixture f;
    service_instance svc(f.storage);
    auto other = request(svc.port(), http::verb::options, "/v1/presigned-upload", "",
                         {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
    BOOST_TEST(other.status == 403u);
    BOOST_TEST(other.headers.count("Access-Control-Allow-Origin") == 0u);
    BOOST_TEST(other.json().at("error").at("code").as_string() == "origin_not_allowed");
    BOOST_TEST(other.body.find("evil") == std::string::npos, "the origin is not echoed: " << other.body);
}

BOOST_AUTO_TEST_CASE(an_expired_upload_token_still_aborts_its_own_upload) {
    fixture f;
    service_instance svc(f.storage);
    auto [id, key, token, answer] = start_upload(svc.port(), "orphan.bin", 12 * MiB);
    // The same upload's token as start would have issued it, expired a minute ago.
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    auto expired = p::sign_upload_token(hoist::sigv4::secret_string(t::service_token_secret), "alice", key, id,
                                        now.count() - 60);
    json::object ref{{"uploadId", id}, {"s3Key", key}, {"uploadToken", expired}};
    auto with = [&](const char* action) {
        json::object body = ref;
        body["action"] = action;
        if (std::string(action) == "presign") body["partNumbers"] = json::array{1};
        return body;
    };
    // Everything else refuses it.
    auto presign = api(svc.port(), with("presign"), alice_token);
    BOOST_TEST(presign.status == 403u);
    BOOST_TEST(presign.json().at("error").at("code").as_string() == "upload_token_expired");
    BOOST_TEST(api(svc.port(), with("list-parts"), alice_token).status == 403u);
    // Another user cannot abort with it.
    BOOST_TEST(api(svc.port(), with("abort"), bob_token).status == 403u);
    BOOST_REQUIRE(f.storage.open_uploads().size() == 1u);
    // Its owner can.
    auto abort = api(svc.port(), with("abort"), alice_token);
    BOOST_TEST(abort.status == 200u, abort.body);
    BOOST_TEST(f.storage.open_uploads().empty());
    BOOST_TEST(f.storage.aborted_uploads().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_slow_proxied_part_is_not_cut_and_a_silent_one_is_answered_408) {
    // The rule is "no byte for body_idle" (1 s here): a client sending 1 KiB
    // every 250 ms for 3 s is slow, not gone (the old rule, a 128 KiB slice
    // within the deadline, cut it); when it stops, it gets a 408 JSON answer
    // on its open connection, and the log says how many bytes really came.
    fixture f;
    service_instance svc(f.storage, "", [](e::service_options& o) { o.limits.body_idle = 1s; });
    auto [id, key, token, answer] = start_upload(svc.port(), "slow.bin", 12 * MiB);
    raw_client client(svc.port(), 10s);
    client.send("PUT /v1/uploads/" + id + "/parts/1?key=" + hoist::sigv4::uri_encode(key, false) +
                " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice_token + "\r\nX-Upload-Token: " + token +
                "\r\nContent-Length: " + std::to_string(5 * MiB) + "\r\n\r\n");
    const std::string kib(1024, 's');
    for (int i = 0; i < 12; ++i) {
        BOOST_REQUIRE_MESSAGE(client.send(kib), "cut after " << i << " KiB");
        std::this_thread::sleep_for(250ms);
    }
    auto a = parse_answer(client.read_response());
    BOOST_TEST(a.status == 408u, a.body);
    BOOST_TEST(a.error_code() == "request_timeout");
    BOOST_TEST(a.headers["Connection"] == "close");
    BOOST_REQUIRE(wait_for_lines(svc, "\"proxy\"", 1) == 1);
    std::string line;
    for (const auto& l : svc.log())
        if (l.find("\"proxy\"") != std::string::npos) line = l;
    BOOST_TEST(line.find("\"status\":408") != std::string::npos, line);
    BOOST_TEST(line.find("\"bytes_in\":12288") != std::string::npos, line);
    auto listed = api(svc.port(), {{"action", "list-parts"}, {"uploadId", id}, {"s3Key", key}, {"uploadToken", token}},
                      alice_token);
    BOOST_REQUIRE_MESSAGE(listed.status == 200, listed.body);
    BOOST_TEST(listed.json().at("parts").as_array().empty(), listed.body);
}

BOOST_AUTO_TEST_CASE(slowloris_heads_are_cut_and_counted_while_healthz_answers) {
    fixture f;
    service_instance svc(f.storage, "", [](e::service_options& o) { o.limits.request_head = 1s; });
    std::vector<std::unique_ptr<raw_client>> slow;
    for (int i = 0; i < 50; ++i) {
        slow.push_back(std::make_unique<raw_client>(svc.port(), 5s));
        slow.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");   // and never the end of the head
    }
    BOOST_TEST(request(svc.port(), http::verb::get, "/healthz", "").status == 200u);
    for (auto& c : slow) BOOST_TEST(c->closed_by_peer());   // at the 1 s head deadline, within the 5 s bound
    auto metrics = request(svc.port(), http::verb::get, "/metrics", "").body;
    BOOST_TEST(metric(metrics, R"(hoist_http_rejected_total{reason="header_timeout"})") == 50, metrics);
    // An idle kept-alive connection that sent nothing is not a slowloris.
    raw_client idle(svc.port(), 5s);
    BOOST_TEST(idle.closed_by_peer());
    metrics = request(svc.port(), http::verb::get, "/metrics", "").body;
    BOOST_TEST(metric(metrics, R"(hoist_http_rejected_total{reason="header_timeout"})") == 50);
}

BOOST_AUTO_TEST_CASE(at_the_descriptor_limit_accept_pauses_instead_of_spinning) {
    fixture f;
    service_instance svc(f.storage);
    raw_client probe(svc.port(), 3s);   // kept alive: it needs no new descriptor later
    auto ask = [&](const std::string& target) {
        probe.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
        return parse_answer(probe.read_response());
    };
    BOOST_REQUIRE(ask("/healthz").status == 200u);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(svc.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    // This process (the service's) gets 4 descriptors to spare; a child with
    // the old limit opens 64 connections, so most wait in the backlog while
    // accept() fails with EMFILE.
    long open_fds = std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{});
    rlimit old{};
    BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
    rlimit low = old;
    low.rlim_cur = static_cast<rlim_t>(open_fds + 4);
    BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    pid_t child = ::fork();
    if (child == 0) {   // only async-signal-safe calls here
        ::setrlimit(RLIMIT_NOFILE, &old);
        for (int i = 0; i < 64; ++i) {
            int s = ::socket(AF_INET, SOCK_STREAM, 0);
            if (s < 0) break;
            ::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        }
        timespec wait{20, 0};   // the parent kills it long before
        ::nanosleep(&wait, nullptr);
        ::_exit(0);
    }
    BOOST_REQUIRE(child > 0);
    std::this_thread::sleep_for(500ms);
    rusage before{}, after{};
    ::getrusage(RUSAGE_SELF, &before);
    std::this_thread::sleep_for(2s);
    ::getrusage(RUSAGE_SELF, &after);
    auto cpu = [](const rusage& r) {
        return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
               static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
    };
    double busy = cpu(after) - cpu(before);
    auto health = ask("/healthz");
    auto metrics = ask("/metrics");
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ::setrlimit(RLIMIT_NOFILE, &old);

    BOOST_TEST(busy < 0.25, "CPU seconds in 2 s at the descriptor limit: " << busy);   // spinning: ~1-2 s
    BOOST_TEST(health.status == 200u);
    auto failures = metric(metrics.body, R"(hoist_accept_failures_total{error="emfile"})");
    BOOST_TEST(failures >= 5, metrics.body);
    BOOST_TEST(failures <= 40, "a pause of 100 ms between tries: " << failures);
    // Logged once (then at most every 10 s), not once per failure.
    BOOST_TEST(count_lines(svc.log(), "\"event\":\"accept_failed\"") == 1);
    // Once descriptors are free, new connections are served again.
    bool served = false;
    for (int i = 0; i < 50 && !served; ++i) {   // at most ~5 s
        served = request(svc.port(), http::verb::get, "/healthz", "").status == 200u;
        if (!served) std::this_thread::sleep_for(100ms);
    }
    BOOST_TEST(served);
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
