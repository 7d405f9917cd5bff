// The product's own frontend flow against hoist serve: tests/product_frontend/
// upload.mjs (the product's browser client transcribed from its documents,
// run by node with plain fetch and Blob.slice) uploads through an in-process
// service, on a non-default api_path, to the strict in-process S3 server
// (HTTPS: node trusts its CA through NODE_EXTRA_CA_CERTS). Also: another
// user's bearer token on the upload's complete and abort changes nothing.
//
// Needs node (tools/install-deps); without it every test fails and says so.
#include "process.hpp"
#include "s3_test_server.hpp"
#include "service_instance.hpp"

#include "hoist/sigv4/encoding.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

namespace t = hoist::test;
namespace fs = std::filesystem;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;
const std::string api_path = "/api/upload";   // not the default: the product keeps its own URL

std::string random_bytes(std::size_t n, unsigned seed) {
    std::string s(n, '\0');
    std::mt19937_64 rng(seed);
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

std::string search_path() {
    const char* p = std::getenv("PATH");
    return p && *p ? p : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

std::optional<std::string> find_on_path(const std::string& program) {
    std::stringstream dirs(search_path());
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty()) continue;
        std::string candidate = dir + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

struct fixture {
    t::s3_test_server storage;
    t::service_instance svc{storage, R"(, "api_path":")" + api_path + "\""};
    fs::path dir = fs::temp_directory_path() / ("hoist-product-frontend-" + std::to_string(::getpid()));

    fixture() {
        storage.create_bucket("bucket");   // before any request: the service only starts listening
        fs::create_directories(dir);
    }
    ~fixture() { fs::remove_all(dir); }

    fs::path write(const std::string& name, const std::string& data) {
        auto path = dir / name;
        std::ofstream(path, std::ios::binary) << data;
        return path;
    }

    // node tests/product_frontend/upload.mjs FILE, as `token`'s user.
    t::process_result run_frontend(const fs::path& file, const std::string& token) {
        auto node = find_on_path("node");
        BOOST_REQUIRE_MESSAGE(node, "node is not installed (not on PATH); run tools/install-deps");
        // Only what the script needs: no proxy or other setting of the
        // developer's can change what fetch does.
        std::map<std::string, std::string> env{{"PATH", search_path()},
                                               {"HOME", "/nonexistent"},
                                               {"HOIST_API_URL", svc.url() + api_path},
                                               {"HOIST_TOKEN", token}};
        if (!storage.ca_file().empty()) env["NODE_EXTRA_CA_CERTS"] = storage.ca_file();
        return t::run_process({*node, std::string(HOIST_SOURCE_DIR) + "/tests/product_frontend/upload.mjs", file.string()},
                              env, 120);
    }
};

struct http_answer {
    unsigned status = 0;
    std::string body;
    json::value json() const { return json::parse(body); }
    std::string error_code() const { return std::string(json().at("error").at("code").as_string()); }
};

// A synchronous HTTP/1.1 request on a fresh connection, bounded in time.
http_answer request(std::uint16_t port, http::verb method, const std::string& target, const std::string& body,
                    const std::map<std::string, std::string>& headers) {
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
    http::write(stream, req, ec);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res, ec);
    BOOST_REQUIRE_MESSAGE(!ec, "reading the answer: " << ec.message());
    return {res.result_int(), res.body()};
}

http_answer api(std::uint16_t port, const json::object& body, const std::string& token) {
    return request(port, http::verb::post, api_path, json::serialize(body),
                   {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}});
}

} // namespace

BOOST_AUTO_TEST_SUITE(product_frontend)

// 12 MB: three parts (5 MiB, 5 MiB, the rest) PUT straight to storage; the
// second part's first PUT gets a 500, so the client's retry is exercised.
BOOST_AUTO_TEST_CASE(the_products_client_uploads_12_mb_byte_exact) {
    fixture f;
    const std::string data = random_bytes(12'000'000, 16);
    const auto file = f.write("product model.bin", data);
    f.storage.inject({t::s3_op::upload_part, 2, 1}, {t::fault_kind::status_500});

    auto r = f.run_frontend(file, t::alice_token);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "upload.mjs exited " << r.exit_code << ": " << r.err << r.out);
    auto answer = json::parse(r.out).as_object();
    BOOST_TEST(answer.at("success").as_bool());
    const std::string name(answer.at("uniqueFileName").as_string());
    BOOST_TEST(name.starts_with("alice_"));
    BOOST_TEST(name.ends_with("_product_model.bin"));
    BOOST_TEST(answer.at("size").to_number<std::uint64_t>() == data.size());

    const std::string key = "uploads/alice/" + name;
    auto stored = f.storage.object("bucket", key);
    BOOST_REQUIRE_MESSAGE(stored, "no object " << key);
    BOOST_TEST(stored->size() == data.size());
    BOOST_TEST((*stored == data));
    BOOST_TEST(f.storage.open_uploads().empty());
    auto stats = f.storage.statistics();
    BOOST_TEST(stats.by_op[t::s3_op::create] == 1);
    BOOST_TEST(stats.by_op[t::s3_op::upload_part] == 4);   // 3 parts + 1 retry
    BOOST_TEST(stats.by_op[t::s3_op::complete] == 1);
    BOOST_TEST(stats.by_op[t::s3_op::abort] == 0);
    // Straight to storage: nothing went through the service's proxy.
    for (const auto& line : f.svc.log()) BOOST_TEST(line.find("\"action\":\"proxy\"") == std::string::npos, line);
}

// A part that fails all its attempts (the first and 3 retries): the client
// aborts through the API, without a token, and nothing is left behind.
BOOST_AUTO_TEST_CASE(a_part_out_of_retries_aborts_the_upload) {
    fixture f;
    const auto file = f.write("doomed.bin", random_bytes(6 * MiB, 17));
    for (int i = 1; i <= 4; ++i) f.storage.inject({t::s3_op::upload_part, 2, i}, {t::fault_kind::access_denied});

    auto r = f.run_frontend(file, t::alice_token);
    BOOST_TEST(r.exit_code == 1, r.err);
    BOOST_TEST(r.err.find("part 2: HTTP 403") != std::string::npos, r.err);
    BOOST_TEST(f.storage.open_uploads().empty());
    BOOST_TEST(f.storage.aborted_uploads().size() == 1u);
    BOOST_TEST(f.storage.object_keys("bucket").empty());
    auto stats = f.storage.statistics();
    BOOST_TEST(stats.by_op[t::s3_op::complete] == 0);
    BOOST_TEST(stats.by_op[t::s3_op::abort] == 1);
}

// Bob's bearer token on Alice's complete and abort, as the product's client
// sends them (uploadId + s3Key, no token): 403, and the upload is intact.
BOOST_AUTO_TEST_CASE(another_users_token_can_neither_complete_nor_abort) {
    fixture f;
    auto start = api(f.svc.port(), {{"action", "start"}, {"fileName", "a.bin"}, {"totalParts", 1}}, t::alice_token);
    BOOST_REQUIRE_MESSAGE(start.status == 200, start.body);
    auto s = start.json().as_object();
    const std::string id(s.at("uploadId").as_string()), key(s.at("s3Key").as_string()),
        token(s.at("uploadToken").as_string());
    // One part, through the proxy (this test speaks plain HTTP; node does the presigned PUTs above).
    const std::string data = random_bytes(1000, 18);
    auto part = request(f.svc.port(), http::verb::put,
                        "/v1/uploads/" + id + "/parts/1?key=" + hoist::sigv4::uri_encode(key, false), data,
                        {{"Authorization", "Bearer " + t::alice_token}, {"X-Upload-Token", token}});
    BOOST_REQUIRE_MESSAGE(part.status == 200, part.body);
    json::array parts{json::object{{"PartNumber", 1}, {"ETag", part.json().at("ETag")}}};

    auto complete = api(f.svc.port(), {{"action", "complete"}, {"uploadId", id}, {"s3Key", key}, {"parts", parts}},
                        t::bob_token);
    BOOST_TEST(complete.status == 403u, complete.body);
    BOOST_TEST(complete.error_code() == "forbidden");
    auto abort = api(f.svc.port(), {{"action", "abort"}, {"uploadId", id}, {"s3Key", key}}, t::bob_token);
    BOOST_TEST(abort.status == 403u, abort.body);
    BOOST_TEST(abort.error_code() == "forbidden");
    // With Alice's own upload token, Bob is still refused.
    auto with_token = api(f.svc.port(), {{"action", "abort"}, {"uploadId", id}, {"s3Key", key}, {"uploadToken", token}},
                          t::bob_token);
    BOOST_TEST(with_token.status == 403u, with_token.body);

    BOOST_TEST((f.storage.open_uploads() == std::vector<std::string>{id}));
    auto stats = f.storage.statistics();
    BOOST_TEST(stats.by_op[t::s3_op::complete] == 0);
    BOOST_TEST(stats.by_op[t::s3_op::abort] == 0);
    // Alice completes it, as the product's client would.
    auto done = api(f.svc.port(), {{"action", "complete"}, {"uploadId", id}, {"s3Key", key}, {"parts", parts}},
                    t::alice_token);
    BOOST_REQUIRE_MESSAGE(done.status == 200, done.body);
    BOOST_TEST(done.json().at("success").as_bool());
    BOOST_TEST((f.storage.object("bucket", key) == data));
}

BOOST_AUTO_TEST_SUITE_END()
