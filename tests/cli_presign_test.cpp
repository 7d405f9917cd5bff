// `hoist presign` end to end: the real binary, a controlled environment, and
// every error path with its exit code.
#include "process.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

namespace t = hoist::test;
namespace fs = std::filesystem;

namespace {

const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

std::map<std::string, std::string> env_creds() {
    return {{"AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", secret}, {"HOME", "/nonexistent"}};
}

t::process_result presign(std::vector<std::string> args, std::map<std::string, std::string> env = env_creds()) {
    args.insert(args.begin(), {HOIST_BINARY, "presign"});
    return t::run_process(args, env);
}

// A temporary HOME with ~/.aws files, removed at scope exit.
struct aws_home {
    fs::path dir = fs::temp_directory_path() / ("hoist-home-" + std::to_string(::getpid()));
    aws_home(const std::string& credentials, const std::string& config) {
        fs::create_directories(dir / ".aws");
        std::ofstream(dir / ".aws" / "credentials") << credentials;
        std::ofstream(dir / ".aws" / "config") << config;
    }
    ~aws_home() { fs::remove_all(dir); }
};

void check_usage_error(const t::process_result& r, const std::string& needle) {
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.out.empty());
    BOOST_TEST(r.err.find(needle) != std::string::npos, "stderr: " << r.err);
    BOOST_TEST(r.err.find(secret) == std::string::npos);
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_presign)

BOOST_AUTO_TEST_CASE(reproduces_the_s3_documentation_url) {
    auto r = presign({"s3://examplebucket/test.txt", "--endpoint-url", "https://s3.amazonaws.com", "--virtual-host",
                      "--region", "us-east-1", "--date", "20130524T000000Z", "--expires", "86400"});
    BOOST_TEST(r.exit_code == 0, "stderr: " << r.err);
    BOOST_TEST(r.err.empty());
    BOOST_TEST(r.out ==
               "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
               "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
               "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
               "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404\n");
}

BOOST_AUTO_TEST_CASE(default_endpoint_is_aws_virtual_hosted_in_the_region) {
    auto env = env_creds();
    env["AWS_REGION"] = "eu-west-1";
    auto r = presign({"s3://my-bucket/dir/a b+c.txt", "--date", "20240101T000000Z"}, env);
    BOOST_TEST(r.exit_code == 0, "stderr: " << r.err);
    BOOST_TEST(r.out.starts_with("https://my-bucket.s3.eu-west-1.amazonaws.com/dir/a%20b%2Bc.txt?"));
    BOOST_TEST(r.out.find("%2Feu-west-1%2Fs3%2Faws4_request") != std::string::npos);
    // Dotted buckets go path-style (the wildcard certificate cannot cover them).
    auto dotted = presign({"s3://my.bucket/k", "--date", "20240101T000000Z"}, env);
    BOOST_TEST(dotted.out.starts_with("https://s3.eu-west-1.amazonaws.com/my.bucket/k?"));
}

BOOST_AUTO_TEST_CASE(upload_part_urls_and_session_tokens) {
    auto env = env_creds();
    env["AWS_SESSION_TOKEN"] = "SESSION/TOKEN";
    auto r = presign({"s3://bucket/k", "--endpoint-url", "http://127.0.0.1:9000", "--upload-id", "abc", "--part-number",
                      "7", "--date", "20240101T000000Z"},
                     env);
    BOOST_TEST(r.exit_code == 0, "stderr: " << r.err);
    BOOST_TEST(r.out.starts_with("http://127.0.0.1:9000/bucket/k?"));
    BOOST_TEST(r.out.find("&partNumber=7&uploadId=abc&") != std::string::npos);
    BOOST_TEST(r.out.find("X-Amz-Security-Token=SESSION%2FTOKEN") != std::string::npos);
    // A different method signs differently.
    auto get = presign({"s3://bucket/k", "--endpoint-url", "http://127.0.0.1:9000", "--date", "20240101T000000Z"});
    auto put = presign({"s3://bucket/k", "--endpoint-url", "http://127.0.0.1:9000", "--date", "20240101T000000Z",
                        "--method", "PUT"});
    BOOST_TEST(get.exit_code == 0);
    BOOST_TEST(put.exit_code == 0);
    BOOST_TEST(get.out != put.out);
}

BOOST_AUTO_TEST_CASE(credentials_and_region_from_aws_files_and_profiles) {
    aws_home home("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n"
                  "[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = s2\n",
                  "[profile work]\nregion = ap-south-1\n");
    std::map<std::string, std::string> env = {{"HOME", home.dir.string()}};
    auto def = presign({"s3://bucket/k", "--date", "20240101T000000Z"}, env);
    BOOST_TEST(def.exit_code == 0, "stderr: " << def.err);
    BOOST_TEST(def.out.find("AKIDDEFAULT%2F20240101%2Fus-east-1") != std::string::npos);
    auto work = presign({"s3://bucket/k", "--profile", "work", "--date", "20240101T000000Z"}, env);
    BOOST_TEST(work.out.find("AKIDWORK%2F20240101%2Fap-south-1") != std::string::npos);
    env["AWS_PROFILE"] = "work";
    auto via_env = presign({"s3://bucket/k", "--date", "20240101T000000Z", "--region", "us-west-2"}, env);
    BOOST_TEST(via_env.out.find("AKIDWORK%2F20240101%2Fus-west-2") != std::string::npos);
    check_usage_error(presign({"s3://bucket/k", "--profile", "nope"}, env), "nope");
}

BOOST_AUTO_TEST_CASE(every_error_path_exits_2_with_a_message) {
    check_usage_error(presign({"s3://bucket/k"}, {{"HOME", "/nonexistent"}}), "credentials");
    check_usage_error(presign({"s3://bucket/k"}, {{"AWS_ACCESS_KEY_ID", "AKID"}, {"HOME", "/nonexistent"}}),
                      "AWS_SECRET_ACCESS_KEY");
    check_usage_error(presign({"https://bucket/k"}), "s3://BUCKET/KEY");
    check_usage_error(presign({"s3://bucket"}), "key is missing");
    check_usage_error(presign({"s3://b/k"}), "bucket name");
    check_usage_error(presign({"s3://bucket/k", "--expires", "0"}), "604800");
    check_usage_error(presign({"s3://bucket/k", "--expires", "604801"}), "604800");
    check_usage_error(presign({"s3://bucket/k", "--expires", "soon"}), "--expires");
    check_usage_error(presign({"s3://bucket/k", "--date", "2024-01-01"}), "YYYYMMDDTHHMMSSZ");
    check_usage_error(presign({"s3://bucket/k", "--method", "DELETE"}), "--method");
    check_usage_error(presign({"s3://bucket/k", "--upload-id", "x"}), "--part-number");
    check_usage_error(presign({"s3://bucket/k", "--upload-id", "x", "--part-number", "0"}), "1 to 10000");
    check_usage_error(presign({"s3://bucket/k", "--upload-id", "x", "--part-number", "2", "--method", "GET"}), "PUT");
    check_usage_error(presign({"s3://bucket/k", "--endpoint-url", "ftp://h"}), "https or http");
    check_usage_error(presign({"s3://bucket/k", "--path-style", "--virtual-host"}), "excludes");
    check_usage_error(presign({"s3://bucket/k", "--bogus"}), "--bogus");
    check_usage_error(presign({}), "url");
    auto env = env_creds();
    env["AWS_REGION"] = "bad region";
    check_usage_error(presign({"s3://bucket/k"}, env), "region");
}

BOOST_AUTO_TEST_SUITE_END()
