// SigV4 POST policies (hoist/sigv4/post_policy.hpp).
//
// The reference vector is the Amazon S3 API Reference's "Example: Browser-Based
// Upload using HTTP POST (Using AWS Signature Version 4)"
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html),
// copied with its provenance to tests/data/sigv4-test-suite/
// s3-post-policy-example.json (README.md there, section 3). The page says:
//
//   "This example provides a sample POST policy and a form that you can use to
//    upload a file. The topic uses the example policy and fictitious
//    credentials to show you the workflow and resulting signature and policy
//    hash. You can use this data as test suite to verify your signature
//    calculation code."
//
// with AWSAccessKeyId AKIAIOSFODNN7EXAMPLE, AWSSecretAccessKey
// wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, and the policy
//
//   { "expiration": "2015-12-30T12:00:00.000Z",
//     "conditions": [
//       {"bucket": "sigv4examplebucket"},
//       ["starts-with", "$key", "user/user1/"],
//       {"acl": "public-read"},
//       {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},
//       ["starts-with", "$Content-Type", "image/"],
//       {"x-amz-meta-uuid": "14365123651274"},
//       {"x-amz-server-side-encryption": "AES256"},
//       ["starts-with", "$x-amz-meta-tag", ""],
//
//       {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},
//       {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
//       {"x-amz-date": "20151229T000000Z" }
//     ]
//   }
//
// Its base64 encoding (CRLF line ends) is the string to sign, and its
// signature is 8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e.
//
// The AWS SDK for JavaScript's generator is compared in
// tests/sdk_presign_post_test.cpp; here the layout rules are checked by hand.
#include "hoist/sigv4/post_policy.hpp"
#include "shared_data.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

namespace json = boost::json;
namespace sv4 = hoist::sigv4;
using hoist::test::read_file;

namespace {

const json::object& doc_example() {
    static const json::value v =
        json::parse(read_file(hoist::test::test_data_dir() / "sigv4-test-suite" / "s3-post-policy-example.json"));
    return v.as_object();
}

std::string str(const json::value& v) { return json::value_to<std::string>(v); }

sv4::credentials example_credentials(std::string token = {}) {
    sv4::credentials c;
    c.access_key_id = "AKIAIOSFODNN7EXAMPLE";
    c.secret_access_key = sv4::secret_string("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    c.session_token = sv4::secret_string(std::move(token));
    return c;
}

std::string base64(const std::string& s) {
    return sv4::base64_encode(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::string field(const sv4::post_form& f, const std::string& name) {
    for (const auto& [n, v] : f.fields)
        if (n == name) return v;
    BOOST_FAIL("no form field " << name);
    return {};
}

std::vector<std::string> names(const sv4::post_form& f) {
    std::vector<std::string> out;
    for (const auto& [n, v] : f.fields) out.push_back(n);
    return out;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A condition as S3 reads it: {"name": "v"} and ["eq", "$name", "v"] are the
// same rule, and field names compare without case.
std::string normalized(const json::value& c) {
    if (c.is_object()) {
        const auto& o = c.as_object();
        BOOST_REQUIRE_EQUAL(o.size(), 1u);
        return "eq " + lower(std::string(o.begin()->key())) + " " + str(o.begin()->value());
    }
    const auto& a = c.as_array();
    BOOST_REQUIRE_EQUAL(a.size(), 3u);
    std::string op = str(a[0]);
    if (op == "content-length-range") return op + " " + json::serialize(a[1]) + " " + json::serialize(a[2]);
    std::string name = str(a[1]);
    BOOST_REQUIRE(name.starts_with("$"));
    return op + " " + lower(name.substr(1)) + " " + str(a[2]);
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const sv4::sigv4_error& e) {
        return e.what();
    }
    return "(no sigv4_error)";
}

} // namespace

BOOST_AUTO_TEST_SUITE(sigv4_post_policy)

// The AWS documentation's vector, byte for byte: the policy text encodes to
// the published base64, and signing that base64 gives the published signature.
BOOST_AUTO_TEST_CASE(aws_documentation_example) {
    const auto& ex = doc_example();
    const auto& expected = ex.at("expected").as_object();
    const std::string document = str(expected.at("policy_document"));
    const std::string policy = str(expected.at("policy_base64"));
    BOOST_REQUIRE(!document.empty());
    BOOST_TEST(document.find("\r\n") != std::string::npos, "the example's policy has CRLF line ends");
    BOOST_TEST(base64(document) == policy);
    auto decoded = sv4::base64_decode(policy);
    BOOST_REQUIRE(decoded.has_value());
    BOOST_TEST(*decoded == document);

    sv4::credentials creds;
    creds.access_key_id = str(ex.at("credentials").at("access_key_id"));
    creds.secret_access_key = sv4::secret_string(str(ex.at("credentials").at("secret_access_key")));
    sv4::signer signer(creds);
    auto date = sv4::amz_date::parse(str(ex.at("date")));
    std::string signature = sv4::sign_post_policy(signer, policy, str(ex.at("region")), date, str(ex.at("service")));
    BOOST_TEST(signature == str(expected.at("signature")));
    BOOST_TEST(signature == "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e");
    // The signed string is the base64 text itself: one byte more or less, or
    // another day or region, is another signature.
    BOOST_TEST(sv4::sign_post_policy(signer, policy + "=", "us-east-1", date) != signature);
    BOOST_TEST(sv4::sign_post_policy(signer, policy, "us-east-2", date) != signature);
    BOOST_TEST(sv4::sign_post_policy(signer, policy, "us-east-1", sv4::amz_date::parse("20151230T000000Z")) !=
               signature);
}

// The generator, given the example's rules, writes every condition of the
// example (as S3 compares them), and only those plus the key it was given.
BOOST_AUTO_TEST_CASE(generator_covers_the_documentation_example) {
    const auto& expected = doc_example().at("expected").as_object();
    auto doc_policy = json::parse(str(expected.at("policy_document")));

    sv4::post_policy p;
    p.bucket = "sigv4examplebucket";
    p.key = "user/user1/${filename}";
    p.expires = std::chrono::seconds(36 * 3600);   // 2015-12-29T00:00 + 36 h = the example's expiration
    p.conditions = {sv4::post_condition::starts_with("Content-Type", "image/"),
                    sv4::post_condition::starts_with("x-amz-meta-tag", "")};
    p.fields = {{"acl", "public-read"},
                {"success_action_redirect", "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},
                {"x-amz-meta-uuid", "14365123651274"},
                {"x-amz-server-side-encryption", "AES256"}};
    sv4::signer signer(example_credentials());
    auto form = sv4::presign_post(signer, p, "us-east-1", sv4::amz_date::parse("20151229T000000Z"));
    auto ours = json::parse(form.policy_json);

    BOOST_TEST(str(ours.at("expiration")) == "2015-12-30T12:00:00Z");
    BOOST_TEST(str(doc_policy.at("expiration")) == "2015-12-30T12:00:00.000Z");
    std::multiset<std::string> a, b;
    for (const auto& c : ours.at("conditions").as_array()) a.insert(normalized(c));
    for (const auto& c : doc_policy.at("conditions").as_array()) b.insert(normalized(c));
    BOOST_REQUIRE_EQUAL(b.size(), 11u);
    BOOST_TEST((a == b), "conditions differ:\n  ours " << form.policy_json << "\n  doc  "
                                                       << json::serialize(doc_policy));
    // The form fields carry what the conditions ask for.
    BOOST_TEST(field(form, "X-Amz-Credential") == "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request");
    BOOST_TEST(field(form, "key") == "user/user1/${filename}");
}

// The layout written out by hand from the rules in post_policy.hpp.
BOOST_AUTO_TEST_CASE(document_layout_and_form_fields) {
    sv4::post_policy p;
    p.bucket = "my-bucket";
    p.key = "uploads/alice/photo 1.png";
    p.expires = std::chrono::seconds(3600);
    p.conditions = {sv4::post_condition::content_length_range(1, 10485760),
                    sv4::post_condition::equals("success_action_status", "201")};
    p.fields = {{"Content-Type", "image/png"}, {"success_action_status", "201"}};
    sv4::signer signer(example_credentials());
    auto date = sv4::amz_date::parse("20240315T123456Z");
    auto form = sv4::presign_post(signer, p, "eu-west-1", date);

    const std::string expected =
        R"({"expiration":"2024-03-15T13:34:56Z","conditions":[)"
        R"(["content-length-range",1,10485760],["eq","$success_action_status","201"],)"
        R"({"Content-Type":"image/png"},{"success_action_status":"201"},{"bucket":"my-bucket"},)"
        R"({"X-Amz-Algorithm":"AWS4-HMAC-SHA256"},)"
        R"({"X-Amz-Credential":"AKIAIOSFODNN7EXAMPLE/20240315/eu-west-1/s3/aws4_request"},)"
        R"({"X-Amz-Date":"20240315T123456Z"},{"key":"uploads/alice/photo 1.png"}]})";
    BOOST_TEST(form.policy_json == expected);
    BOOST_TEST(sv4::post_policy_document(signer.creds(), p, "eu-west-1", date) == expected);
    BOOST_TEST(form.policy == base64(expected));
    BOOST_TEST(form.signature == sv4::sign_post_policy(signer, form.policy, "eu-west-1", date));
    BOOST_TEST(form.signature.size() == 64u);

    std::vector<std::string> want = {"Content-Type", "success_action_status", "bucket", "X-Amz-Algorithm",
                                     "X-Amz-Credential", "X-Amz-Date", "key", "Policy", "X-Amz-Signature"};
    BOOST_TEST(names(form) == want, boost::test_tools::per_element());
    BOOST_TEST(field(form, "bucket") == "my-bucket");
    BOOST_TEST(field(form, "X-Amz-Date") == "20240315T123456Z");
    BOOST_TEST(field(form, "key") == "uploads/alice/photo 1.png");
    BOOST_TEST(field(form, "Policy") == form.policy);
    BOOST_TEST(field(form, "X-Amz-Signature") == form.signature);
}

BOOST_AUTO_TEST_CASE(filename_variable_session_token_and_duplicates) {
    sv4::post_policy p;
    p.bucket = "b-1";
    p.key = "u/42/${filename}";
    // The same rule twice, and the field's own rule again as an array: the
    // exact duplicate goes, the differently written one stays (S3 checks both).
    p.conditions = {sv4::post_condition::starts_with("x-amz-meta-tag", ""),
                    sv4::post_condition::starts_with("x-amz-meta-tag", "")};
    sv4::signer signer(example_credentials("FwoG/tok+en=="));
    auto form = sv4::presign_post(signer, p, "us-east-1", sv4::amz_date::parse("20241231T235959Z"));
    const std::string expected =
        R"({"expiration":"2025-01-01T00:59:59Z","conditions":[["starts-with","$x-amz-meta-tag",""],)"
        R"({"bucket":"b-1"},{"X-Amz-Algorithm":"AWS4-HMAC-SHA256"},)"
        R"({"X-Amz-Credential":"AKIAIOSFODNN7EXAMPLE/20241231/us-east-1/s3/aws4_request"},)"
        R"({"X-Amz-Date":"20241231T235959Z"},{"X-Amz-Security-Token":"FwoG/tok+en=="},)"
        R"(["starts-with","$key","u/42/"]]})";
    BOOST_TEST(form.policy_json == expected);
    BOOST_TEST(field(form, "X-Amz-Security-Token") == "FwoG/tok+en==");
    BOOST_TEST(field(form, "key") == "u/42/${filename}");
}

// Strings are JSON-escaped as JSON.stringify escapes them: quotes, backslash and
// control characters; '/' and UTF-8 as they are.
BOOST_AUTO_TEST_CASE(json_escaping) {
    sv4::post_policy p;
    p.bucket = "b-1";
    p.key = "a \"q\" \\ / \t\x01 \xc3\xbc\xe2\x9c\x93.txt";
    sv4::signer signer(example_credentials());
    auto doc = sv4::post_policy_document(signer.creds(), p, "us-east-1", sv4::amz_date::parse("20240101T000000Z"));
    BOOST_TEST(doc.find(R"({"key":"a \"q\" \\ / \t\u0001 )" "\xc3\xbc\xe2\x9c\x93" R"(.txt"})") != std::string::npos,
               doc);
    BOOST_TEST(str(json::parse(doc).at("conditions").as_array().back().at("key")) == p.key);
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_with_a_specific_message) {
    sv4::signer signer(example_credentials());
    auto date = sv4::amz_date::parse("20240101T000000Z");
    sv4::post_policy good;
    good.bucket = "b-1";
    good.key = "k";
    BOOST_REQUIRE_NO_THROW(sv4::presign_post(signer, good, "us-east-1", date));

    auto refuse = [&](sv4::post_policy p, const std::string& region = "us-east-1") {
        return message_of([&] { sv4::presign_post(signer, p, region, date); });
    };
    auto with = [&](auto change) {
        auto p = good;
        change(p);
        return p;
    };
    BOOST_TEST(refuse(with([](auto& p) { p.bucket.clear(); })).find("without a bucket") != std::string::npos);
    BOOST_TEST(refuse(with([](auto& p) { p.key.clear(); })).find("without a key") != std::string::npos);
    BOOST_TEST(refuse(good, "").find("region is empty") != std::string::npos);
    BOOST_TEST(refuse(good, "us east").find("region contains") != std::string::npos);
    BOOST_TEST(refuse(with([](auto& p) { p.expires = std::chrono::seconds(0); })).find("1 to 604800") !=
               std::string::npos);
    BOOST_TEST(refuse(with([](auto& p) { p.expires = std::chrono::seconds(604801); })).find("got 604801") !=
               std::string::npos);
    BOOST_REQUIRE_NO_THROW(sv4::presign_post(signer, with([](auto& p) { p.expires = std::chrono::seconds(604800); }),
                                             "us-east-1", date));
    BOOST_TEST(refuse(with([](auto& p) {
                   p.conditions = {sv4::post_condition::content_length_range(11, 10)};
               })).find("min 11 > max 10") != std::string::npos);
    BOOST_TEST(refuse(with([](auto& p) { p.fields = {{"", "v"}}; })).find("not an HTTP token") != std::string::npos);
    BOOST_TEST(refuse(with([](auto& p) { p.fields = {{"bad name", "v"}}; })).find("'bad name'") != std::string::npos);
    BOOST_TEST(refuse(with([](auto& p) { p.fields = {{"a\"b", "v"}}; })).find("not an HTTP token") !=
               std::string::npos);
    BOOST_TEST(refuse(with([](auto& p) {
                   p.conditions = {sv4::post_condition::starts_with("$key", "x")};
               })).find("without the '$'") != std::string::npos);
    BOOST_TEST(refuse(with([](auto& p) {
                   p.conditions = {sv4::post_condition::starts_with("", "x")};
               })).find("condition field name") != std::string::npos);
    for (const char* reserved : {"bucket", "Key", "POLICY", "file", "x-amz-algorithm", "X-Amz-Credential",
                                 "x-amz-date", "X-Amz-Security-Token", "x-amz-signature"})
        BOOST_TEST(refuse(with([&](auto& p) { p.fields = {{reserved, "v"}}; })).find("set by the signer itself") !=
                       std::string::npos,
                   reserved);
    BOOST_TEST(refuse(with([](auto& p) {
                   p.fields = {{"Content-Type", "a"}, {"content-type", "b"}};
               })).find("'content-type' is given twice") != std::string::npos);

    BOOST_TEST(message_of([&] { sv4::sign_post_policy(signer, "", "us-east-1", date); }).find("empty") !=
               std::string::npos);
    BOOST_TEST(message_of([&] { sv4::sign_post_policy(signer, "e30=", "us-east-1", date, ""); })
                   .find("service is empty") != std::string::npos);
}

// Nothing secret in a message: the secret never appears in an error.
BOOST_AUTO_TEST_CASE(errors_do_not_carry_the_secret) {
    sv4::signer signer(example_credentials("SESSIONTOKEN"));
    sv4::post_policy p;
    p.bucket = "b-1";
    p.key = "k";
    p.fields = {{"x-amz-security-token", "v"}};
    auto msg = message_of([&] { sv4::presign_post(signer, p, "us-east-1", sv4::amz_date::parse("20240101T000000Z")); });
    BOOST_TEST(msg.find("set by the signer itself") != std::string::npos);
    BOOST_TEST(msg.find("wJalr") == std::string::npos);
    BOOST_TEST(msg.find("SESSIONTOKEN") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
