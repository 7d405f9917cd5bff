// `hoist cp` against s3rver (tools/s3rver-local), a third-party S3 emulator:
// the real binary uploads files of the sizes at the edges of part planning,
// and the bytes s3rver stored on disk must be the file's, byte for byte.
// s3rver verifies neither signatures nor checksums (see tools/s3rver-local):
// this is a test of the protocol flow and of the bytes, not of integrity headers.
#include "process.hpp"
#include "s3rver.hpp"

#include "hoist/serve/service.hpp"
#include "hoist/sigv4/encoding.hpp"

#include <boost/json.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <memory>
#include <random>

namespace t = hoist::test;
namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;

namespace {

const std::string bucket = "interop";
constexpr std::size_t mib = 1024 * 1024;

// One server for the whole executable, started by the first test that needs
// it. If it cannot start, every test fails with the reason.
t::s3rver_instance& server() {
    static t::s3rver_instance instance({bucket});
    return instance;
}

// A temporary directory, removed at scope exit.
struct temp_dir {
    fs::path path = fs::temp_directory_path() / ("hoist-interop-" + std::to_string(::getpid()));
    temp_dir() { fs::create_directories(path); }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string random_bytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        std::uint64_t v = rng();
        for (std::size_t j = 0; j < 8 && i + j < size; ++j) bytes[i + j] = static_cast<char>(v >> (8 * j));
    }
    return bytes;
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    BOOST_TEST_REQUIRE(out.good());
}

t::process_result hoist_cp(const fs::path& file, const std::string& key) {
    auto& s = server();
    return t::run_process({HOIST_BINARY, "cp", file.string(), "s3://" + bucket + "/" + key, "--endpoint-url",
                           s.endpoint(), "--ca-bundle", s.ca_file(), "--json", "--quiet",
                           // 5 MiB parts and threshold: 5 MiB is one multipart part,
                           // 5 MiB + 1 two, so both edges of part planning go through s3rver.
                           "--part-size", "5MiB", "--multipart-threshold", "5MiB"},
                          {{"AWS_ACCESS_KEY_ID", "S3RVER"}, {"AWS_SECRET_ACCESS_KEY", "S3RVER"}, {"HOME", "/nonexistent"}},
                          180);
}

// Uploads `size` seeded random bytes to `key` and checks hoist's report and
// the stored bytes.
void upload_and_compare(std::size_t size, const std::string& key) {
    temp_dir dir;
    const std::string content = random_bytes(size, 0x5eed0000 + size);
    const fs::path file = dir.path / "upload.bin";
    write_file(file, content);

    auto r = hoist_cp(file, key);
    BOOST_TEST_REQUIRE(r.exit_code == 0, "hoist cp exited " << r.exit_code << "; stderr: " << r.err
                                                            << "; stdout: " << r.out);

    boost::json::value summary;
    try {
        summary = boost::json::parse(r.out);
    } catch (const std::exception& e) {
        BOOST_FAIL("stdout is not JSON (" << e.what() << "): " << r.out);
    }
    BOOST_TEST_REQUIRE(summary.is_object(), "stdout: " << r.out);
    const auto& o = summary.as_object();
    for (const char* field : {"bytes", "parts", "etag"})
        BOOST_TEST_REQUIRE(o.contains(field), "no \"" << field << "\" in " << r.out);
    BOOST_TEST_REQUIRE(o.at("bytes").is_number(), r.out);
    BOOST_TEST(o.at("bytes").to_number<std::uint64_t>() == size);
    BOOST_TEST_REQUIRE(o.at("parts").is_number(), r.out);
    const auto parts = o.at("parts").to_number<std::uint64_t>();
    BOOST_TEST(parts <= 10000u);
    const std::uint64_t expected_parts = size < 5 * mib ? 1 : (size + 5 * mib - 1) / (5 * mib);
    BOOST_TEST(parts == expected_parts);
    BOOST_TEST(o.at("method").as_string() == (size < 5 * mib ? "put" : "multipart"));
    BOOST_TEST_REQUIRE(o.at("etag").is_string(), r.out);
    BOOST_TEST(!o.at("etag").as_string().empty());
    BOOST_TEST_MESSAGE(size << " B: " << r.out);

    auto stored = server().stored_object(bucket, key);
    BOOST_TEST_REQUIRE(stored.has_value(), "s3rver has no " << server().object_path(bucket, key));
    BOOST_TEST(stored->size() == size);
    if (*stored != content) {
        std::size_t i = 0;
        while (i < stored->size() && i < content.size() && (*stored)[i] == content[i]) ++i;
        BOOST_ERROR("stored bytes differ from the file's, first at offset " << i);
    }
    // Every multipart upload hoist created was completed or aborted.
    BOOST_TEST(server().pending_uploads(bucket).empty());
    BOOST_TEST(server().running(), "s3rver died: " << server().log());
}

const std::size_t sizes[] = {0, 1, 5 * mib, 5 * mib + 1, 64 * mib};

} // namespace

BOOST_AUTO_TEST_SUITE(interop_s3rver)

BOOST_DATA_TEST_CASE(cp_stores_the_file_byte_exact, bdata::make(sizes), size) {
    upload_and_compare(size, "sizes/object-" + std::to_string(size) + ".bin");
}

BOOST_AUTO_TEST_CASE(cp_key_with_spaces_unicode_and_plus) {
    upload_and_compare(5 * mib + 1, "odd keys/a b+c=d ünï cødé ✓ (1)~.bin");
}

// The presign service's flow against s3rver: hoist serve (in-process) holds
// the credentials, hoist cp --via (the binary) uploads through it.
BOOST_AUTO_TEST_CASE(cp_via_the_presign_service) {
    auto& s = server();
    const std::string token = "interop-bearer-token";
    hoist::engine::service_options opt;
    opt.config = hoist::protocol::parse_service_config(
        R"({"listen":"127.0.0.1:0","storage":{"endpoint":")" + s.endpoint() + R"(","region":"us-east-1","bucket":")" +
        bucket + R"(","path_style":true,"ca_bundle":")" + s.ca_file() +
        R"(","access_key_id":"S3RVER","secret_access_key":"S3RVER"},
           "token_secret":"interop-service-secret-of-32-bytes-or-more",
           "tokens":[{"sha256":")" + hoist::sigv4::sha256_hex(token) + R"(","user":"carol"}],"part_size":5242880})");
    opt.storage_credentials.access_key_id = "S3RVER";
    opt.storage_credentials.secret_access_key = hoist::sigv4::secret_string("S3RVER");
    opt.log = [](std::string_view) {};
    std::promise<std::uint16_t> port;
    opt.on_listening = [&](std::uint16_t p) { port.set_value(p); };
    hoist::engine::cancel_token cancel;
    std::thread service([&] { hoist::engine::run_service(opt, cancel); });
    struct stop_service {
        hoist::engine::cancel_token& c;
        std::thread& t;
        ~stop_service() {
            c.cancel();
            t.join();
        }
    } stopper{cancel, service};
    auto f = port.get_future();
    BOOST_REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    std::string url = "http://127.0.0.1:" + std::to_string(f.get());

    temp_dir dir;
    for (std::size_t size : {std::size_t{1000}, 12 * mib + 1}) {
        BOOST_TEST_CONTEXT("size " << size) {
            auto file = dir.path / ("via-" + std::to_string(size) + ".bin");
            const auto content = random_bytes(size, 0x71a + size);
            write_file(file, content);
            auto r = t::run_process({HOIST_BINARY, "cp", file.string(), "--via", url, "--token", token, "--ca-bundle",
                                     s.ca_file(), "--json", "--quiet"},
                                    {{"HOME", "/nonexistent"}}, 180);
            BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
            auto o = boost::json::parse(r.out).as_object();
            BOOST_TEST(o.at("method").as_string() == (size < 8 * mib ? "single-put" : "presigned-s3"));
            std::string key(o.at("key").as_string());
            BOOST_TEST(key.starts_with("uploads/carol/carol_"));
            auto stored = s.stored_object(bucket, key);
            BOOST_REQUIRE(stored.has_value());
            BOOST_TEST((*stored == content));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
