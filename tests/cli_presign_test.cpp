// `hoist presign` end to end: the real binary, a controlled environment, and
// every error path with its exit code.
#include "process.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
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

// --post prints one JSON line {url, fields}. The signature is the one
// @aws-sdk/s3-presigned-post 3.1164.0 gave for the same inputs (Date.now pinned
// to 2024-03-15T12:34:56Z); tests/sdk_presign_post_test.cpp runs that
// comparison live over more cases.
BOOST_AUTO_TEST_CASE(post_prints_the_form_as_json) {
    auto r = presign({"s3://my-bucket/user/${filename}", "--post", "--region", "us-east-1", "--date",
                      "20240315T123456Z", "--expires", "60", "--content-length-range", "0,10", "--field",
                      "Content-Type=image/png"});
    BOOST_TEST(r.exit_code == 0, "stderr: " << r.err);
    BOOST_TEST(r.err.empty());
    BOOST_REQUIRE(r.out.ends_with("}\n"));
    BOOST_TEST(std::count(r.out.begin(), r.out.end(), '\n') == 1);
    auto v = boost::json::parse(r.out);
    BOOST_TEST(v.at("url").as_string() == "https://my-bucket.s3.us-east-1.amazonaws.com/");
    const auto& f = v.at("fields").as_object();
    std::vector<std::string> names;
    for (const auto& kv : f) names.emplace_back(kv.key());
    std::vector<std::string> want = {"Content-Type", "bucket", "X-Amz-Algorithm", "X-Amz-Credential",
                                     "X-Amz-Date", "key", "Policy", "X-Amz-Signature"};
    BOOST_TEST(names == want, boost::test_tools::per_element());
    BOOST_TEST(f.at("key").as_string() == "user/${filename}");
    BOOST_TEST(f.at("X-Amz-Credential").as_string() == "AKIAIOSFODNN7EXAMPLE/20240315/us-east-1/s3/aws4_request");
    BOOST_TEST(f.at("X-Amz-Signature").as_string() ==
               "e6b93042938dc0b72bc703441a11f56f05a0e9fb26e22b0707fb50f1644182c8");
    BOOST_TEST(r.out.find(secret) == std::string::npos);

    // A session token is a form field (and a condition); a custom endpoint is
    // path-style.
    auto env = env_creds();
    env["AWS_SESSION_TOKEN"] = "SESSION/TOKEN";
    auto t = presign({"s3://bucket/k", "--post", "--endpoint-url", "http://127.0.0.1:9000", "--date",
                      "20240101T000000Z"},
                     env);
    BOOST_TEST(t.exit_code == 0, "stderr: " << t.err);
    auto tv = boost::json::parse(t.out);
    BOOST_TEST(tv.at("url").as_string() == "http://127.0.0.1:9000/bucket");
    BOOST_TEST(tv.at("fields").at("X-Amz-Security-Token").as_string() == "SESSION/TOKEN");
}

BOOST_AUTO_TEST_CASE(post_errors_exit_2_with_a_message) {
    const std::string o = "s3://bucket/k";
    check_usage_error(presign({o, "--post", "--method", "PUT"}), "drop --method");
    check_usage_error(presign({o, "--post", "--upload-id", "x", "--part-number", "1"}), "drop --method");
    check_usage_error(presign({o, "--field", "a=b"}), "add --post");
    check_usage_error(presign({o, "--content-length-range", "0,1"}), "add --post");
    check_usage_error(presign({o, "--starts-with", "a=b"}), "add --post");
    check_usage_error(presign({o, "--post", "--content-length-range", "10,1"}), "MIN is larger than MAX");
    check_usage_error(presign({o, "--post", "--content-length-range", "10"}), "MIN,MAX");
    check_usage_error(presign({o, "--post", "--content-length-range", "1,x"}), "digits only");
    check_usage_error(presign({o, "--post", "--content-length-range", "-1,5"}), "digits only");
    check_usage_error(presign({o, "--post", "--field", "novalue"}), "NAME=VALUE");
    check_usage_error(presign({o, "--post", "--field", "=v"}), "NAME=VALUE");
    check_usage_error(presign({o, "--post", "--field", "Policy=x"}), "set by the signer itself");
    check_usage_error(presign({o, "--post", "--field", "bad name=x"}), "HTTP token");
    check_usage_error(presign({o, "--post", "--field", "a=1", "--field", "A=2"}), "given twice");
    check_usage_error(presign({o, "--post", "--starts-with", "$key=x"}), "without the '$'");
    check_usage_error(presign({o, "--post", "--expires", "604801"}), "604800");
    check_usage_error(presign({"s3://bucket", "--post"}), "key is missing");
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
