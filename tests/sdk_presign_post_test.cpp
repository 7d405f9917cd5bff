// `hoist presign --post` against the official AWS SDK for JavaScript v3
// (@aws-sdk/s3-presigned-post's createPresignedPost, pinned by
// tools/node/package-lock.json, run by tests/sdk_presign_post.mjs): for the
// same bucket, key, conditions, fields, expiry, date, credentials and endpoint,
// both must produce the same form: the same URL, the same fields in the same
// order, so the same policy bytes and the same X-Amz-Signature.
//
// Each side also signs the other's policy: hoist's sign_post_policy recomputes
// the SDK's X-Amz-Signature from the SDK's Policy field, and the SDK's own key
// derivation and HMAC recompute hoist's from hoist's Policy field. So a
// difference in the document (a layout change on either side) and a difference
// in the signing are told apart.
//
// The SDK reads the clock; the script pins Date.now to the case's date (see its
// header). hoist gets the same date with --date.
//
// Needs node and tools/node/node_modules (tools/install-deps): without them
// every test fails and says so.
#include "hoist/sigv4/post_policy.hpp"
#include "process.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace t = hoist::test;
namespace fs = std::filesystem;
namespace json = boost::json;
namespace sv4 = hoist::sigv4;

namespace {

const std::string access_key = "AKIAIOSFODNN7EXAMPLE";
const std::string secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

enum class style { automatic, path, virtual_host };

struct post_case {
    std::string name;
    std::string bucket;
    std::string key;
    std::string region = "us-east-1";
    std::optional<std::string> endpoint;   // none: AWS
    style addressing = style::automatic;
    std::string date = "20240315T123456Z";
    int expires = 3600;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> length_range;
    std::vector<std::pair<std::string, std::string>> starts_with;
    std::vector<std::pair<std::string, std::string>> fields;
    std::optional<std::string> session_token;
};

post_case make_case(std::string name, std::string bucket, std::string key) {
    post_case c;
    c.name = std::move(name);
    c.bucket = std::move(bucket);
    c.key = std::move(key);
    return c;
}

const std::vector<post_case>& cases() {
    static const std::vector<post_case> all = [] {
        std::vector<post_case> v;
        {
            auto c = make_case("AWS virtual-hosted, ${filename} key, size range, Content-Type", "my-bucket",
                        "uploads/alice/${filename}");
            c.length_range = {{1, 10485760}};
            c.fields = {{"Content-Type", "image/png"}};
            v.push_back(c);
        }
        {
            auto c = make_case("exact key with spaces, quotes, backslash, UTF-8; metadata and success_action_status",
                        "photos-eu", "u/42/My \"best\" \\ shot ✓ 日本.jpg");
            c.region = "eu-west-1";
            c.date = "20241231T235959Z";   // expiration crosses into the next year
            c.expires = 7200;
            c.starts_with = {{"Content-Type", "image/"}};
            c.fields = {{"success_action_status", "201"},
                        {"x-amz-meta-uuid", "14365123651274"},
                        {"x-amz-meta-note", "tab\there, ü and / slash"}};
            v.push_back(c);
        }
        {
            auto c = make_case("custom endpoint path-style, session token, a week, any x-amz-meta-tag", "local-bucket",
                        "in/${filename}");
            c.endpoint = "http://127.0.0.1:9000";
            c.addressing = style::path;
            c.expires = 604800;
            c.session_token = "FwoGZXIvYXdzEBYaDH/+tokenWith=Padding==";
            c.length_range = {{0, 0}};
            c.starts_with = {{"x-amz-meta-tag", ""}};
            v.push_back(c);
        }
        {
            auto c = make_case("dotted bucket on AWS goes path-style; one condition given twice is kept once",
                        "logs.example.com", "2024/03/15/a=b&c.log");
            c.region = "us-west-2";
            c.expires = 1;
            c.starts_with = {{"Content-Type", "text/"}, {"Content-Type", "text/"}};
            c.fields = {{"Content-Type", "text/plain"}, {"Cache-Control", "max-age=60"}};
            v.push_back(c);
        }
        {
            auto c = make_case("custom endpoint virtual-hosted, region auto", "vhost-bucket", "k");
            c.endpoint = "https://s3.example.test";
            c.addressing = style::virtual_host;
            c.region = "auto";
            c.fields = {{"acl", "private"}};
            v.push_back(c);
        }
        return v;
    }();
    return all;
}

// "20240315T123456Z" -> "2024-03-15T12:34:56Z"
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

using field_list = std::vector<std::pair<std::string, std::string>>;

struct form {
    std::string url;
    field_list fields;   // in the printed order
    std::string get(const std::string& name) const {
        for (const auto& [n, v] : fields)
            if (n == name) return v;
        return {};
    }
};

form form_from(const json::value& v) {
    form f;
    f.url = json::value_to<std::string>(v.at("url"));
    for (const auto& kv : v.at("fields").as_object())
        f.fields.emplace_back(std::string(kv.key()), json::value_to<std::string>(kv.value()));
    return f;
}

std::vector<std::string> hoist_args(const post_case& c) {
    std::vector<std::string> argv = {HOIST_BINARY, "presign", "s3://" + c.bucket + "/" + c.key, "--post",
                                     "--region", c.region, "--date", c.date, "--expires", std::to_string(c.expires)};
    if (c.endpoint) argv.insert(argv.end(), {"--endpoint-url", *c.endpoint});
    if (c.addressing == style::path) argv.push_back("--path-style");
    if (c.addressing == style::virtual_host) argv.push_back("--virtual-host");
    if (c.length_range)
        argv.insert(argv.end(), {"--content-length-range", std::to_string(c.length_range->first) + "," +
                                                               std::to_string(c.length_range->second)});
    for (const auto& [name, prefix] : c.starts_with) argv.insert(argv.end(), {"--starts-with", name + "=" + prefix});
    for (const auto& [name, value] : c.fields) argv.insert(argv.end(), {"--field", name + "=" + value});
    return argv;
}

// hoist's form for every case, in order; throws with hoist's stderr on failure.
const std::vector<form>& hoist_forms() {
    static const std::vector<form> all = [] {
        std::vector<form> out;
        for (const auto& c : cases()) {
            std::map<std::string, std::string> env = {
                {"AWS_ACCESS_KEY_ID", access_key}, {"AWS_SECRET_ACCESS_KEY", secret_key}, {"HOME", "/nonexistent"}};
            if (c.session_token) env["AWS_SESSION_TOKEN"] = *c.session_token;
            auto r = t::run_process(hoist_args(c), env);
            if (r.exit_code != 0)
                throw std::runtime_error("hoist presign --post exited " + std::to_string(r.exit_code) + " for '" +
                                         c.name + "': " + r.err);
            out.push_back(form_from(json::parse(r.out)));
        }
        return out;
    }();
    return all;
}

// The SDK's input: the same case, with the Conditions in the order hoist's
// flags put them (--content-length-range, then each --starts-with), and
// hoist's Policy for the SDK to sign.
json::array sdk_input() {
    json::array in;
    for (std::size_t i = 0; i < cases().size(); ++i) {
        const auto& c = cases()[i];
        json::object o;
        o["bucket"] = c.bucket;
        o["key"] = c.key;
        o["region"] = c.region;
        o["endpoint"] = c.endpoint ? json::value(*c.endpoint) : json::value(nullptr);
        o["forcePathStyle"] = c.addressing == style::path;
        o["date"] = iso_date(c.date);
        o["expires"] = c.expires;
        json::array conditions;
        if (c.length_range)
            conditions.push_back(json::array{"content-length-range", c.length_range->first, c.length_range->second});
        for (const auto& [name, prefix] : c.starts_with) conditions.push_back(json::array{"starts-with", "$" + name, prefix});
        o["conditions"] = std::move(conditions);
        json::object fields;
        for (const auto& [name, value] : c.fields) fields[name] = value;
        o["fields"] = std::move(fields);
        o["accessKeyId"] = access_key;
        o["secretAccessKey"] = secret_key;
        if (c.session_token) o["sessionToken"] = *c.session_token;
        o["otherPolicy"] = hoist_forms()[i].get("Policy");
        in.push_back(std::move(o));
    }
    return in;
}

struct sdk_result {
    form f;
    std::string signature_of_hoist_policy;
};

std::vector<sdk_result> run_sdk() {
    const std::string root = HOIST_SOURCE_DIR;
    auto node = find_on_path("node");
    if (!node) throw std::runtime_error("node is not installed (not on PATH); run tools/install-deps");
    for (const char* pkg : {"@aws-sdk/client-s3", "@aws-sdk/s3-presigned-post"})
        if (!fs::exists(root + "/tools/node/node_modules/" + pkg + "/package.json"))
            throw std::runtime_error(std::string(pkg) + " is not installed in " + root +
                                     "/tools/node/node_modules; run tools/install-deps");
    // Only PATH and HOME: no AWS_* variable of the developer's can change what
    // the SDK builds.
    auto r = t::run_process({*node, root + "/tests/sdk_presign_post.mjs"},
                            {{"PATH", search_path()}, {"HOME", "/nonexistent"}}, 120, json::serialize(sdk_input()));
    if (r.exit_code != 0)
        throw std::runtime_error("tests/sdk_presign_post.mjs exited " + std::to_string(r.exit_code) + ": " + r.err);
    json::value out;
    try {
        out = json::parse(r.out);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("tests/sdk_presign_post.mjs printed no JSON (") + e.what() + "): " + r.out);
    }
    if (!out.is_array() || out.as_array().size() != cases().size())
        throw std::runtime_error("tests/sdk_presign_post.mjs printed " + r.out + " for " +
                                 std::to_string(cases().size()) + " cases");
    std::vector<sdk_result> results;
    for (const auto& v : out.as_array())
        results.push_back({form_from(v), json::value_to<std::string>(v.at("otherSignature"))});
    return results;
}

// Run once per executable; a failure is kept and reported by every test.
const std::vector<sdk_result>& sdk_forms() {
    struct loaded {
        std::vector<sdk_result> results;
        std::string error;
    };
    static const loaded l = [] {
        loaded x;
        try {
            x.results = run_sdk();
        } catch (const std::exception& e) {
            x.error = e.what();
        }
        return x;
    }();
    if (!l.error.empty()) BOOST_FAIL("the AWS SDK reference could not run: " << l.error);
    return l.results;
}

std::string decoded(const std::string& base64) {
    auto d = sv4::base64_decode(base64);
    return d ? *d : "(not base64: " + base64 + ")";
}

std::string describe(const field_list& fields) {
    std::ostringstream s;
    for (const auto& [n, v] : fields) s << "\n    " << n << " = " << v;
    return s.str();
}

} // namespace

BOOST_AUTO_TEST_SUITE(sdk_presign_post)

BOOST_AUTO_TEST_CASE(hoist_forms_equal_the_sdk_forms) {
    const auto& sdk = sdk_forms();
    const auto& ours = hoist_forms();
    BOOST_REQUIRE_EQUAL(sdk.size(), cases().size());
    BOOST_REQUIRE_EQUAL(ours.size(), cases().size());
    for (std::size_t i = 0; i < cases().size(); ++i) {
        const auto& c = cases()[i];
        const auto& h = ours[i];
        const auto& s = sdk[i].f;
        BOOST_TEST_CONTEXT("case " << i << ": " << c.name << "\n  hoist:" << describe(h.fields) << "\n  sdk:"
                                   << describe(s.fields)) {
            BOOST_TEST(h.url == s.url);
            BOOST_TEST(decoded(h.get("Policy")) == decoded(s.get("Policy")), "the policy documents differ");
            BOOST_TEST((h.fields == s.fields), "the form fields differ (names, values or order)");
            BOOST_TEST_REQUIRE(!s.get("X-Amz-Signature").empty());
            BOOST_TEST(h.get("X-Amz-Signature") == s.get("X-Amz-Signature"));
            BOOST_TEST(h.get("X-Amz-Security-Token").empty() == !c.session_token.has_value());
            BOOST_TEST_MESSAGE("equal: " << c.name << "\n  " << decoded(h.get("Policy")));
        }
    }
}

// Each side's signer on the other's policy: hoist's sign_post_policy on the
// SDK's Policy gives the SDK's X-Amz-Signature, and the SDK's key derivation
// and HMAC on hoist's Policy give hoist's.
BOOST_AUTO_TEST_CASE(each_signer_verifies_the_other_policy) {
    const auto& sdk = sdk_forms();
    const auto& ours = hoist_forms();
    for (std::size_t i = 0; i < cases().size(); ++i) {
        const auto& c = cases()[i];
        BOOST_TEST_CONTEXT("case " << i << ": " << c.name) {
            sv4::credentials creds;
            creds.access_key_id = access_key;
            creds.secret_access_key = sv4::secret_string(secret_key);
            sv4::signer signer(creds);
            auto date = sv4::amz_date::parse(c.date);
            const auto& s = sdk[i].f;
            BOOST_TEST_REQUIRE(!s.get("Policy").empty());
            BOOST_TEST(sv4::sign_post_policy(signer, s.get("Policy"), c.region, date) == s.get("X-Amz-Signature"));
            BOOST_TEST_REQUIRE(sdk[i].signature_of_hoist_policy.size() == 64u);
            BOOST_TEST(sdk[i].signature_of_hoist_policy == ours[i].get("X-Amz-Signature"));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
