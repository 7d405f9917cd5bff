// `hoist cp` input errors, end to end through the real binary: each is one
// clear line on stderr with exit code 2 (usage) or 1 (the upload failed).
#include "process.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace t = hoist::test;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> env_creds() {
    return {{"AWS_ACCESS_KEY_ID", "AKIDCLI"}, {"AWS_SECRET_ACCESS_KEY", "cli-test-secret"}, {"HOME", "/nonexistent"}};
}

struct temp_dir {
    fs::path path = fs::temp_directory_path() / ("hoist-cli-cp-" + std::to_string(::getpid()));
    temp_dir() { fs::create_directories(path); }
    ~temp_dir() { fs::remove_all(path); }
};

t::process_result cp(std::vector<std::string> args, std::map<std::string, std::string> env = env_creds(),
                     int uid = -1) {
    args.insert(args.begin(), {HOIST_BINARY, "cp"});
    return t::run_process(args, env, 60, {}, uid);
}

void check_error(const t::process_result& r, int code, const std::string& needle) {
    BOOST_TEST(r.exit_code == code, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(r.err.find(needle) != std::string::npos, "stderr: " << r.err);
    BOOST_TEST(r.err.find("cli-test-secret") == std::string::npos);
    // One line: the cause, not a stack of messages.
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, "stderr: " << r.err);
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_cp)

BOOST_AUTO_TEST_CASE(bad_input_is_a_usage_error) {
    temp_dir dir;
    auto file = dir.path / "data.bin";
    std::ofstream(file) << "hello";
    const std::string ep = "--endpoint-url=https://127.0.0.1:1";
    check_error(cp({(dir.path / "missing.bin").string(), "s3://bucket/k", ep}), 2, "no such file");
    check_error(cp({dir.path.string(), "s3://bucket/k", ep}), 2, "is a directory");
    check_error(cp({file.string(), "https://bucket/k", ep}), 2, "s3://BUCKET/KEY");
    check_error(cp({file.string(), "s3://bucket", ep}), 2, "key is missing");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--bogus"}), 2, "--bogus");
    check_error(cp({file.string(), "s3://bucket/k", ep}, {{"HOME", "/nonexistent"}}), 2, "credentials");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--part-size", "512KB"}), 2, "5 MiB");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--part-size", "lots"}), 2, "not a size");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--concurrency", "0"}), 2, "--concurrency");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--checksum", "sha1"}), 2, "--checksum");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--ca-bundle", (dir.path / "none.pem").string()}), 2,
                "CA bundle");
    check_error(cp({file.string(), "s3://bucket/k", "--endpoint-url", "ftp://x"}), 2, "https or http");
}

BOOST_AUTO_TEST_CASE(unreadable_file_is_a_usage_error) {
    temp_dir dir;
    auto file = dir.path / "secret.bin";
    std::ofstream(file) << "hello";
    fs::permissions(file, fs::perms::none);
    fs::permissions(dir.path, fs::perms::all);
    // Root reads everything: drop to nobody (65534) for this check when root.
    int uid = ::geteuid() == 0 ? 65534 : -1;
    if (uid >= 0 && t::run_process({HOIST_BINARY, "--version"}, {}, 30, {}, uid).exit_code != 0) {
        // The build tree is not reachable for nobody (e.g. under /root): this
        // check cannot run here; it is not counted as a pass.
        BOOST_WARN_MESSAGE(false, "skipped: user 65534 cannot execute " HOIST_BINARY);
        return;
    }
    check_error(cp({file.string(), "s3://bucket/k", "--endpoint-url=https://127.0.0.1:1"}, env_creds(), uid), 2,
                "Permission denied");
}

BOOST_AUTO_TEST_CASE(unreachable_endpoint_fails_the_upload) {
    temp_dir dir;
    auto file = dir.path / "data.bin";
    std::ofstream(file) << "hello";
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    auto r = cp({file.string(), "s3://bucket/k", "--endpoint-url=https://127.0.0.1:1", "--retries", "2",
                 "--backoff-base", "0.01", "--quiet"});
    check_error(r, 1, "cannot connect to 127.0.0.1:1");
    BOOST_TEST(r.err.find("failed after 2 attempts") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(via_needs_a_token_and_no_destination) {
    temp_dir dir;
    auto file = dir.path / "data.bin";
    std::ofstream(file) << "hello";
    check_error(cp({file.string(), "--via", "http://127.0.0.1:1"}, {{"HOME", "/nonexistent"}}), 2, "--token");
    check_error(cp({file.string(), "s3://b-1/k", "--via", "http://127.0.0.1:1", "--token", "t"}), 2, "drop");
    check_error(cp({file.string()}), 2, "destination");
}

BOOST_AUTO_TEST_CASE(serve_refuses_a_bad_config_at_start) {
    temp_dir dir;
    auto serve = [&](const std::string& config_text) {
        auto path = dir.path / "service.json";
        std::ofstream(path) << config_text;
        return t::run_process({HOIST_BINARY, "serve", "--config", path.string()}, {{"HOME", "/nonexistent"}}, 30);
    };
    const std::string storage = R"("storage":{"endpoint":"https://127.0.0.1:9","region":"us-east-1","bucket":"bucket",
        "access_key_id":"AKID","secret_access_key":"cli-test-secret"})";
    const std::string tokens = R"("tokens":[{"sha256":")" + std::string(64, 'a') + R"(","user":"alice"}])";
    auto missing = t::run_process({HOIST_BINARY, "serve", "--config", (dir.path / "none.json").string()}, {}, 30);
    check_error(missing, 2, "does not exist");
    check_error(serve("{not json"), 2, "service config");
    check_error(serve("{" + storage + ",\"token_secret\":\"short\"," + tokens + "}"), 2, "token_secret");
    check_error(serve("{" + storage + ",\"token_secret\":\"" + std::string(40, 's') + "\"," + tokens +
                      ",\"listne\":\"127.0.0.1:1\"}"),
                2, "listne");
    check_error(serve("{" + storage + ",\"token_secret\":\"" + std::string(40, 's') + "\",\"tokens\":[]}"), 2,
                "tokens");
}

BOOST_AUTO_TEST_SUITE_END()
