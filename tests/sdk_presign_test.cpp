// `hoist presign` against the official AWS SDK for JavaScript v3
// (@aws-sdk/s3-request-presigner's getSignedUrl, pinned by
// tools/node/package-lock.json, run by tests/sdk_presign.mjs): for the same
// object, method, date, expiry, credentials and endpoint, both must produce the
// same URL: scheme, host and path byte for byte, the same query parameters
// (decoded), and so the same X-Amz-Signature.
//
// Out of the box the SDK also signs x-id=<Operation> and
// X-Amz-Content-Sha256=UNSIGNED-PAYLOAD, two optional parameters hoist does not
// send; since they are inside its signature they cannot be dropped from its URL
// after the fact. tests/sdk_presign.mjs (see its header) asks the SDK to sign
// without them instead, so the signature compared is still computed by the
// SDK's own signer over the SDK's own request. The test
// sdk_adds_only_x_id_and_the_payload_hash checks that this alignment removes
// those two and nothing else, and the first case that the aligned SDK still
// reproduces the signature published in AWS's S3 documentation.
//
// Needs node and tools/node/node_modules (tools/install-deps): without them
// every test fails and says so.
#include "process.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace t = hoist::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string access_key = "AKIAIOSFODNN7EXAMPLE";
const std::string secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

enum class style { automatic, path, virtual_host };

struct sdk_case {
    std::string name;
    std::string bucket;
    std::string key;
    std::string method = "GET";
    int expires = 3600;
    std::optional<std::string> endpoint;   // none: AWS
    std::string region = "us-east-1";
    style addressing = style::automatic;   // hoist: no flag, --path-style, --virtual-host
    std::string date = "20240315T123456Z"; // hoist's --date form
    std::optional<std::string> upload_id;
    std::optional<int> part_number;
    std::optional<std::string> session_token;
    std::optional<std::string> expected_signature;   // a published value both must produce

    std::string operation() const { return upload_id ? "UploadPart" : method == "PUT" ? "PutObject" : "GetObject"; }
};

sdk_case make_case(std::string name, std::string bucket, std::string key) {
    sdk_case c;
    c.name = std::move(name);
    c.bucket = std::move(bucket);
    c.key = std::move(key);
    return c;
}

const std::vector<sdk_case>& cases() {
    static const std::vector<sdk_case> all = [] {
        std::vector<sdk_case> v;
        {
            auto c = make_case("aws documentation example, virtual-hosted on s3.amazonaws.com", "examplebucket",
                               "test.txt");
            c.expires = 86400;
            c.endpoint = "https://s3.amazonaws.com";
            c.addressing = style::virtual_host;
            c.date = "20130524T000000Z";
            c.expected_signature = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
            v.push_back(c);
        }
        {
            auto c = make_case("virtual-hosted AWS bucket, key with spaces and '+'", "my-bucket", "dir/a b+c.txt");
            c.region = "eu-west-1";
            v.push_back(c);
        }
        {
            auto c = make_case("'%', '~', '=', '&' and other reserved characters", "my-bucket",
                               "q/100%~=&+ it's (1)!*$,;:@[]#?.txt");
            c.method = "PUT";
            c.region = "us-west-2";
            v.push_back(c);
        }
        {
            auto c = make_case("unicode key", "unicode-bucket", "ünï/cødé ✓/日本語 ファイル.txt");
            c.region = "ap-northeast-1";
            v.push_back(c);
        }
        {
            auto c = make_case("'//', a leading '/', '.' and '..' segments kept literally", "slash-bucket",
                               "/lead//double///triple/./dot/../dotdot/");
            c.region = "eu-central-1";
            v.push_back(c);
        }
        {
            auto c = make_case("dotted bucket on AWS goes path-style", "my.dotted.bucket", "some key.txt");
            c.region = "us-west-2";
            v.push_back(c);
        }
        {
            auto c = make_case("dotted bucket, PUT, us-east-1", "logs.example.com", "2024/03/15/a=b&c.log");
            c.method = "PUT";
            v.push_back(c);
        }
        {
            auto c = make_case("custom endpoint http://127.0.0.1:9000, path-style", "local-bucket", "x y/z+~.bin");
            c.endpoint = "http://127.0.0.1:9000";
            c.addressing = style::path;
            v.push_back(c);
        }
        {
            auto c = make_case("custom endpoint, virtual-hosted", "vhost-bucket", "k%2F/v");
            c.endpoint = "https://s3.example.test";
            c.region = "auto";
            c.addressing = style::virtual_host;
            v.push_back(c);
        }
        {
            auto c = make_case("PUT expiring after 604800 s (the maximum)", "local-bucket", "week long.txt");
            c.method = "PUT";
            c.expires = 604800;
            c.endpoint = "http://127.0.0.1:9000";
            c.addressing = style::path;
            v.push_back(c);
        }
        {
            auto c = make_case("UploadPart, upload id with '/', '+', '='", "my-bucket", "big/file 1.bin");
            c.method = "PUT";
            c.region = "eu-west-1";
            c.upload_id = "VXBsb2FkIElE/Zm9y+IDZ~aWNo_ZWwncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA==";
            c.part_number = 10000;
            v.push_back(c);
        }
        {
            auto c = make_case("session token, GET", "my-bucket", "secret/report.pdf");
            c.region = "eu-central-1";
            c.session_token = "FwoGZXIvYXdzEBYaDH/+tokenWith=Padding==&and spaces";
            v.push_back(c);
        }
        {
            auto c = make_case("UploadPart on a custom endpoint with a session token", "local-bucket",
                               "multi part/ü+.bin");
            c.method = "PUT";
            c.expires = 900;
            c.endpoint = "http://127.0.0.1:9000";
            c.addressing = style::path;
            c.upload_id = "2~a/b+c=d";
            c.part_number = 1;
            c.session_token = "SESSION/TOKEN+==";
            v.push_back(c);
        }
        return v;
    }();
    return all;
}

// "20130524T000000Z" -> "2013-05-24T00:00:00Z"
std::string iso_date(const std::string& d) {
    return d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2) + "T" + d.substr(9, 2) + ":" +
           d.substr(11, 2) + ":" + d.substr(13, 2) + "Z";
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

json::array sdk_input() {
    json::array in;
    for (const auto& c : cases()) {
        json::object o;
        o["bucket"] = c.bucket;
        o["key"] = c.key;
        o["method"] = c.method;
        o["expires"] = c.expires;
        o["endpoint"] = c.endpoint ? json::value(*c.endpoint) : json::value(nullptr);
        o["region"] = c.region;
        o["forcePathStyle"] = c.addressing == style::path;
        o["date"] = iso_date(c.date);
        if (c.upload_id) o["uploadId"] = *c.upload_id;
        if (c.part_number) o["partNumber"] = *c.part_number;
        if (c.session_token) o["sessionToken"] = *c.session_token;
        o["accessKeyId"] = access_key;
        o["secretAccessKey"] = secret_key;
        in.push_back(std::move(o));
    }
    return in;
}

// The SDK's URLs for every case, in order: aligned (see the file's header) or
// raw (getSignedUrl as it comes). Throws, with the reason, when node or the SDK
// is missing or the script fails.
std::vector<std::string> run_sdk(bool raw) {
    const std::string root = HOIST_SOURCE_DIR;
    auto node = find_on_path("node");
    if (!node) throw std::runtime_error("node is not installed (not on PATH); run tools/install-deps");
    for (const char* pkg : {"@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"})
        if (!fs::exists(root + "/tools/node/node_modules/" + pkg + "/package.json"))
            throw std::runtime_error(std::string(pkg) + " is not installed in " + root +
                                     "/tools/node/node_modules; run tools/install-deps");
    std::vector<std::string> argv = {*node, root + "/tests/sdk_presign.mjs"};
    if (raw) argv.push_back("--raw");
    // Only PATH and HOME: no AWS_* variable (AWS_ENDPOINT_URL, AWS_REGION, a
    // profile) of the developer's can change what the SDK builds.
    auto r = t::run_process(argv, {{"PATH", search_path()}, {"HOME", "/nonexistent"}}, 120,
                            json::serialize(sdk_input()));
    if (r.exit_code != 0)
        throw std::runtime_error("tests/sdk_presign.mjs exited " + std::to_string(r.exit_code) + ": " + r.err);
    json::value out;
    try {
        out = json::parse(r.out);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("tests/sdk_presign.mjs printed no JSON (") + e.what() + "): " + r.out);
    }
    if (!out.is_array() || out.as_array().size() != cases().size())
        throw std::runtime_error("tests/sdk_presign.mjs printed " + r.out + " for " + std::to_string(cases().size()) +
                                 " cases");
    std::vector<std::string> urls;
    for (const auto& u : out.as_array()) urls.emplace_back(u.as_string());
    return urls;
}

// Run once per executable; a failure is kept and reported by every test.
const std::vector<std::string>& sdk_urls(bool raw) {
    struct result {
        std::vector<std::string> urls;
        std::string error;
    };
    auto load = [](bool r) {
        result res;
        try {
            res.urls = run_sdk(r);
        } catch (const std::exception& e) {
            res.error = e.what();
        }
        return res;
    };
    static const result aligned = load(false);
    static const result unaligned = load(true);
    const result& res = raw ? unaligned : aligned;
    if (!res.error.empty()) BOOST_FAIL("the AWS SDK reference could not run: " << res.error);
    return res.urls;
}

t::process_result hoist_presign(const sdk_case& c) {
    std::vector<std::string> argv = {HOIST_BINARY, "presign", "s3://" + c.bucket + "/" + c.key, "--method", c.method,
                                     "--expires", std::to_string(c.expires), "--region", c.region,
                                     "--date", c.date};
    if (c.endpoint) argv.insert(argv.end(), {"--endpoint-url", *c.endpoint});
    if (c.addressing == style::path) argv.push_back("--path-style");
    if (c.addressing == style::virtual_host) argv.push_back("--virtual-host");
    if (c.upload_id) argv.insert(argv.end(), {"--upload-id", *c.upload_id});
    if (c.part_number) argv.insert(argv.end(), {"--part-number", std::to_string(*c.part_number)});
    std::map<std::string, std::string> env = {
        {"AWS_ACCESS_KEY_ID", access_key}, {"AWS_SECRET_ACCESS_KEY", secret_key}, {"HOME", "/nonexistent"}};
    if (c.session_token) env["AWS_SESSION_TOKEN"] = *c.session_token;
    return t::run_process(argv, env);
}

int hex_value(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

// Strict percent-decoding ('+' stays '+': both sides encode '+' as %2B).
std::string percent_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
        int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) throw std::runtime_error("bad percent-encoding in " + s);
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

struct parsed_url {
    std::string base;   // scheme://authority/path, as printed
    std::map<std::string, std::string> query;   // decoded name -> decoded value
};

parsed_url parse_url(std::string url) {
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
    parsed_url p;
    auto q = url.find('?');
    if (q == std::string::npos) throw std::runtime_error("no query in " + url);
    if (url.find('#') != std::string::npos) throw std::runtime_error("a fragment in " + url);
    p.base = url.substr(0, q);
    std::stringstream pairs(url.substr(q + 1));
    for (std::string pair; std::getline(pairs, pair, '&');) {
        auto eq = pair.find('=');
        std::string name = percent_decode(pair.substr(0, eq));
        std::string value = eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1));
        if (!p.query.emplace(name, value).second) throw std::runtime_error("query parameter " + name + " twice in " + url);
    }
    return p;
}

std::string describe_difference(const std::map<std::string, std::string>& hoist,
                                const std::map<std::string, std::string>& sdk) {
    std::ostringstream s;
    for (const auto& [k, v] : hoist) {
        auto it = sdk.find(k);
        if (it == sdk.end()) s << "\n  only hoist: " << k << "=" << v;
        else if (it->second != v) s << "\n  " << k << ": hoist " << v << " | sdk " << it->second;
    }
    for (const auto& [k, v] : sdk)
        if (!hoist.contains(k)) s << "\n  only sdk: " << k << "=" << v;
    return s.str();
}

} // namespace

BOOST_AUTO_TEST_SUITE(sdk_presign)

BOOST_AUTO_TEST_CASE(hoist_urls_equal_the_sdk_urls) {
    const auto& sdk = sdk_urls(false);
    for (std::size_t i = 0; i < cases().size(); ++i) {
        const auto& c = cases()[i];
        BOOST_TEST_CONTEXT("case " << i << ": " << c.name << "\n  sdk:   " << sdk[i]) {
            auto r = hoist_presign(c);
            BOOST_TEST_REQUIRE(r.exit_code == 0, "hoist presign exited " << r.exit_code << ": " << r.err);
            BOOST_TEST_CONTEXT("hoist: " << r.out) {
                auto h = parse_url(r.out);
                auto s = parse_url(sdk[i]);
                BOOST_TEST(h.base == s.base, "scheme, host and path differ");
                BOOST_TEST((h.query == s.query),
                           "query parameters differ:" << describe_difference(h.query, s.query));
                BOOST_TEST_REQUIRE(h.query.contains("X-Amz-Signature"));
                BOOST_TEST_REQUIRE(s.query.contains("X-Amz-Signature"));
                BOOST_TEST(h.query.at("X-Amz-Signature") == s.query.at("X-Amz-Signature"));
                if (c.expected_signature) {
                    BOOST_TEST(h.query.at("X-Amz-Signature") == *c.expected_signature);
                    BOOST_TEST(s.query.at("X-Amz-Signature") == *c.expected_signature);
                }
                // Both sign exactly the host header, and, for the cases with a
                // token, the token.
                BOOST_TEST(h.query["X-Amz-SignedHeaders"] == "host");
                BOOST_TEST(h.query.contains("X-Amz-Security-Token") == c.session_token.has_value());
                BOOST_TEST_MESSAGE("equal: " << c.name);
            }
        }
    }
}

// What the alignment in tests/sdk_presign.mjs removes: x-id=<Operation> and
// X-Amz-Content-Sha256=UNSIGNED-PAYLOAD, and nothing else. Scheme, host, path
// and every other parameter are the same with and without it; only the
// signature changes, as it must when two signed parameters go.
BOOST_AUTO_TEST_CASE(sdk_adds_only_x_id_and_the_payload_hash) {
    const auto& aligned = sdk_urls(false);
    const auto& raw = sdk_urls(true);
    for (std::size_t i = 0; i < cases().size(); ++i) {
        const auto& c = cases()[i];
        BOOST_TEST_CONTEXT("case " << i << ": " << c.name << "\n  raw:     " << raw[i] << "\n  aligned: "
                                   << aligned[i]) {
            auto r = parse_url(raw[i]);
            auto a = parse_url(aligned[i]);
            BOOST_TEST(r.base == a.base);
            BOOST_TEST(r.query["x-id"] == c.operation());
            BOOST_TEST(r.query["X-Amz-Content-Sha256"] == "UNSIGNED-PAYLOAD");
            BOOST_TEST(r.query["X-Amz-Signature"] != a.query["X-Amz-Signature"]);
            for (const char* extra : {"x-id", "X-Amz-Content-Sha256", "X-Amz-Signature"}) r.query.erase(extra);
            a.query.erase("X-Amz-Signature");
            BOOST_TEST((r.query == a.query), "other parameters differ:" << describe_difference(r.query, a.query));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
