// Uppy's backends on hoist serve, the pure parts: Companion's /s3 targets and
// bodies (protocol/presign/companion.hpp), the POST-policy form of /s3/params,
// the signRequest route's validation and mapping (sign_request.hpp), and the
// key rules they share (browser_routes.hpp).
#include "hoist/protocol/presign/browser_routes.hpp"
#include "hoist/protocol/presign/companion.hpp"
#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/sign_request.hpp"

#include "hoist/sigv4/encoding.hpp"
#include "hoist/sigv4/post_policy.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <boost/url/parse.hpp>

#include <map>
#include <string>
#include <vector>

namespace p = hoist::protocol;
namespace sv4 = hoist::sigv4;
namespace json = boost::json;
using enum p::browser_route;

namespace {

p::service_config config(const std::string& extra = "") {
    return p::parse_service_config(
        R"({"storage":{"endpoint":"http://127.0.0.1:9000","region":"us-east-1","bucket":"bucket","path_style":true},
        "token_secret":"0123456789abcdef0123456789abcdef",
        "tokens":[{"sha256":")" + sv4::sha256_hex("a") + R"(","user":"alice"}], "single_put_max":1000,
        "presign_expiry":900)" + extra + "}");
}

sv4::signer test_signer() {
    sv4::credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = sv4::secret_string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    return sv4::signer(c);
}

const sv4::amz_date date = sv4::amz_date::parse("20261203T120000Z");

template <class F>
p::api_error refused(F&& f, int status) {
    try {
        f();
    } catch (const p::api_error& e) {
        BOOST_TEST(e.status == status, e.message);
        return e;
    }
    BOOST_ERROR("no api_error");
    return p::api_error(0, "", "");
}

std::map<std::string, std::string> query_of(const std::string& url) {
    auto u = boost::urls::parse_absolute_uri(url);
    BOOST_REQUIRE(u.has_value());
    std::map<std::string, std::string> q;
    for (auto param : u->params()) q[param.key] = param.value;
    return q;
}

} // namespace

BOOST_AUTO_TEST_SUITE(presign_uppy)

BOOST_AUTO_TEST_CASE(companion_targets) {
    auto t = p::parse_companion_target(s3_sign_part, "/s3/multipart/up%2Fid%7Ex/7?key=uploads%2Falice%2Fa+b.bin&x=1");
    BOOST_TEST(t.upload_id == "up/id~x");
    BOOST_TEST(t.part_number == 7u);
    BOOST_TEST(t.key == "uploads/alice/a b.bin");   // URLSearchParams: '+' is a space
    t = p::parse_companion_target(s3_list_parts, "/s3/multipart/ID?key=k");
    BOOST_TEST(t.upload_id == "ID");
    BOOST_TEST(t.key == "k");
    BOOST_TEST(t.part_number == 0u);
    t = p::parse_companion_target(s3_complete, "/s3/multipart/ID/complete?key=k%2B1");
    BOOST_TEST(t.key == "k+1");
    t = p::parse_companion_target(s3_params, "/s3/params?filename=My+File.txt&type=text%2Fplain&metadata%5Bname%5D=x");
    BOOST_TEST(t.filename == "My File.txt");
    BOOST_TEST(t.type == "text/plain");
    BOOST_TEST(t.key.empty());
    BOOST_TEST(p::parse_companion_target(s3_params, "/s3/params?filename=a").type == "");
    BOOST_TEST(p::parse_companion_target(s3_create, "/s3/multipart").key.empty());

    for (const auto& [route, target] : std::vector<std::pair<p::browser_route, std::string>>{
             {s3_list_parts, "/s3/multipart/ID"},                   // no key
             {s3_list_parts, "/s3/multipart/ID?key="},              // empty key
             {s3_abort, "/s3/multipart/ID?key=a&key=b"},            // twice
             {s3_abort, "/s3/multipart/ID?key=a%zz"},               // bad encoding
             {s3_sign_part, "/s3/multipart/ID/0?key=a"},            // part 0
             {s3_sign_part, "/s3/multipart/ID/10001?key=a"},
             {s3_sign_part, "/s3/multipart/ID/1e3?key=a"},
             {s3_sign_part, "/s3/multipart/ID/-1?key=a"},
             {s3_params, "/s3/params?type=text%2Fplain"},           // no filename
             {s3_params, "/s3/params?filename=a&filename=b"},
             {s3_params, "/s3/params?filename=a&type=x&type=y"},
             // Upload ids with odd bytes, as the JSON API's uploadId refuses them.
             {s3_list_parts, "/s3/multipart/I%00D?key=k"},
             {s3_abort, "/s3/multipart/I%0D%0AD?key=k"},
             {s3_sign_part, "/s3/multipart/I%20D/1?key=k"},
             {s3_complete, "/s3/multipart/I%C3%A9D/complete?key=k"},
             {s3_list_parts, "/s3/multipart/" + std::string(1025, 'u') + "?key=k"},
         }) {
        auto e = refused([&] { p::parse_companion_target(route, target); }, 400);
        BOOST_TEST(e.code == "invalid_request", target);
    }
}

BOOST_AUTO_TEST_CASE(companion_bodies) {
    auto c = p::parse_companion_create(R"({"filename":"dir/Ünï code.bin","type":"video/mp4","metadata":{"a":"b"}})");
    BOOST_TEST(c.filename == "dir/Ünï code.bin");
    BOOST_TEST(c.type == "video/mp4");
    BOOST_TEST(p::parse_companion_create(R"({"filename":"a"})").type == "application/octet-stream");
    BOOST_TEST(p::parse_companion_create(R"({"filename":"a","type":""})").type == "application/octet-stream");
    for (const std::string& body : {std::string("[]"), std::string("nope"), std::string(R"({"type":"a/b"})"),
                                    std::string(R"({"filename":""})"), std::string(R"({"filename":3})"),
                                    std::string(R"({"filename":"a","type":7})"),
                                    std::string(R"({"filename":"a","type":"nonsense"})"),
                                    std::string(R"({"filename":"a","type":"a/b\r\nX-Evil: 1"})")})
        refused([&] { p::parse_companion_create(body); }, 400);

    auto parts = p::parse_companion_complete(R"({"parts":[{"PartNumber":2,"ETag":"\"b\""},{"PartNumber":1,"ETag":"a"}]})");
    BOOST_REQUIRE_EQUAL(parts.size(), 2u);
    BOOST_TEST(parts[0].part_number == 1u);   // sorted
    BOOST_TEST(parts[0].etag == "a");
    BOOST_TEST(parts[1].etag == "\"b\"");
    for (const std::string& body :
         {std::string(R"({})"), std::string(R"({"parts":[]})"), std::string(R"({"parts":{}})"),
          std::string(R"({"parts":[{"PartNumber":1}]})"), std::string(R"({"parts":[{"PartNumber":0,"ETag":"a"}]})"),
          std::string(R"({"parts":[{"PartNumber":"1","ETag":"a"}]})"),
          std::string(R"({"parts":[{"PartNumber":1.5,"ETag":"a"}]})"),
          std::string(R"({"parts":[{"PartNumber":1,"ETag":""}]})"),
          std::string(R"({"parts":[{"PartNumber":1,"ETag":"a"},{"PartNumber":1,"ETag":"b"}]})")})
        refused([&] { p::parse_companion_complete(body); }, 400);
}

BOOST_AUTO_TEST_CASE(companion_answers) {
    BOOST_TEST(p::companion_create_json("k", "u", "b") == R"({"key":"k","uploadId":"u","bucket":"b"})");
    BOOST_TEST(p::companion_sign_part_json("https://x/y?z=1", 900) == R"({"url":"https://x/y?z=1","expires":900})");
    BOOST_TEST(p::companion_parts_json({}) == "[]");
    p::part_info a;
    a.part_number = 1;
    a.etag = "\"e1\"";
    a.size = 5;
    BOOST_TEST(p::companion_parts_json({a}) == R"([{"PartNumber":1,"ETag":"\"e1\"","Size":5}])");
    BOOST_TEST(p::companion_complete_json("L", "k", "b") == R"({"location":"L","key":"k","bucket":"b"})");
}

BOOST_AUTO_TEST_CASE(keys_of_the_caller) {
    const auto cfg = config();
    p::require_own_key(cfg, "alice", "uploads/alice/alice_1_a.bin");
    p::require_own_key(cfg, "alice", "uploads/alice/sub/x");
    for (const std::string& key :
         {std::string("uploads/bob/bob_1_a.bin"), std::string("uploads/alice/"), std::string("uploads/alice"),
          std::string("uploads/alicex/a"), std::string("uploads/alice/../bob/x"), std::string("uploads/alice/./x"),
          std::string("uploads/alice//x"), std::string("uploads/alice/x/"), std::string("uploads/alice/a\nb"),
          "uploads/alice/" + std::string(1100, 'a'), std::string("/uploads/alice/x")}) {
        auto e = refused([&] { p::require_own_key(cfg, "alice", key); }, 403);
        BOOST_TEST(e.code == "forbidden", key);
    }
    // The proposal's last segment, sanitised, under the caller's prefix.
    BOOST_TEST(p::key_for_proposed_name(cfg, "alice", 42, "../../bob/evil name.bin") ==
               "uploads/alice/alice_42_evil_name.bin");
    BOOST_TEST(p::key_for_proposed_name(cfg, "alice", 42, "C:\\x\\y.txt") == "uploads/alice/alice_42_y.txt");
    refused([&] { p::key_for_proposed_name(cfg, "alice", 42, "dir/"); }, 400);
    refused([&] { p::key_for_proposed_name(cfg, "alice", 42, "dir/.."); }, 400);
    const auto only_txt = config(R"(,"allowed_extensions":["txt"])");
    BOOST_TEST(refused([&] { p::key_for_proposed_name(only_txt, "alice", 42, "a.exe"); }, 400).code ==
               "extension_not_allowed");
}

BOOST_AUTO_TEST_CASE(params_post_form_pins_bucket_key_type_and_size) {
    const auto cfg = config(R"(,"max_file_size":500)");   // below single_put_max: the smaller wins
    const auto signer = test_signer();
    const std::string key = "uploads/alice/alice_1_a.txt";
    auto form = p::companion_post_form(cfg, signer, key, "text/plain", date);
    BOOST_TEST(form.url == "http://127.0.0.1:9000/bucket/");
    BOOST_TEST(form.expires_seconds == 900);
    std::map<std::string, std::string> fields(form.fields.begin(), form.fields.end());
    BOOST_TEST(fields.at("key") == key);
    BOOST_TEST(fields.at("Content-Type") == "text/plain");
    BOOST_TEST(fields.at("X-Amz-Algorithm") == "AWS4-HMAC-SHA256");
    BOOST_TEST(fields.at("X-Amz-Credential") == "AKIDEXAMPLE/20261203/us-east-1/s3/aws4_request");
    BOOST_TEST(fields.at("X-Amz-Date") == "20261203T120000Z");
    // The policy decodes to the expected conditions ...
    auto decoded = sv4::base64_decode(fields.at("Policy"));
    BOOST_REQUIRE(decoded.has_value());
    auto policy = json::parse(*decoded).as_object();
    BOOST_TEST(policy.at("expiration").as_string() == "2026-12-03T12:15:00Z");
    std::vector<std::string> conditions;
    for (const auto& c : policy.at("conditions").as_array()) conditions.push_back(json::serialize(c));
    auto has = [&](const std::string& c) {
        return std::find(conditions.begin(), conditions.end(), c) != conditions.end();
    };
    BOOST_TEST(has(R"(["content-length-range",0,500])"));
    BOOST_TEST(has(R"({"Content-Type":"text/plain"})"));
    BOOST_TEST(has(R"({"bucket":"bucket"})"));
    BOOST_TEST(has(R"({"key":"uploads/alice/alice_1_a.txt"})"));
    BOOST_TEST(has(R"({"X-Amz-Date":"20261203T120000Z"})"));
    // ... and its signature verifies with sigv4's own function.
    BOOST_TEST(fields.at("X-Amz-Signature") == sv4::sign_post_policy(signer, fields.at("Policy"), "us-east-1", date));
    BOOST_TEST(fields.at("X-Amz-Signature") !=
               sv4::sign_post_policy(signer, fields.at("Policy"), "us-east-1", sv4::amz_date::parse("20261204T120000Z")));
    // single_put_max below max_file_size: it bounds the range.
    auto small = p::companion_post_form(config(), signer, key, "text/plain", date);
    std::map<std::string, std::string> small_fields(small.fields.begin(), small.fields.end());
    BOOST_TEST(sv4::base64_decode(small_fields.at("Policy")).value_or("").find(R"(["content-length-range",0,1000])") !=
               std::string::npos);
    // The JSON Uppy reads.
    auto answer = json::parse(p::companion_params_json(form)).as_object();
    BOOST_TEST(answer.at("method").as_string() == "POST");
    BOOST_TEST(answer.at("url").as_string() == "http://127.0.0.1:9000/bucket/");
    BOOST_TEST(answer.at("fields").at("key").as_string() == key);
    BOOST_TEST(answer.at("expires").as_int64() == 900);
    // Virtual-hosted storage: https://BUCKET.HOST/.
    auto vh = p::companion_post_form(
        p::parse_service_config(R"({"storage":{"region":"eu-west-1","bucket":"my-bucket"},
            "token_secret":"0123456789abcdef0123456789abcdef","tokens":[{"sha256":")" + sv4::sha256_hex("a") +
                                R"(","user":"alice"}]})"),
        signer, key, "text/plain", date);
    BOOST_TEST(vh.url == "https://my-bucket.s3.eu-west-1.amazonaws.com/");
}

BOOST_AUTO_TEST_CASE(sign_request_parsing_and_mapping) {
    using enum p::sign_request_kind;
    auto in = p::parse_sign_request(R"({"method":"PUT","key":"k","uploadId":"u","partNumber":3,"expiresIn":60,"contentType":"a/b"})");
    BOOST_TEST(in.method == "PUT");
    BOOST_TEST(in.upload_id == "u");
    BOOST_TEST(in.part_number.value_or(0) == 3u);
    BOOST_TEST(in.expires_in.value_or(0) == 60);
    BOOST_TEST((p::classify_sign_request(in) == upload_part));
    struct row {
        const char* body;
        p::sign_request_kind kind;
    };
    for (const row& r : {row{R"({"method":"PUT","key":"k"})", put_object},
                         row{R"({"method":"POST","key":"k"})", create_multipart_upload},
                         row{R"({"method":"POST","key":"k","uploadId":"u"})", complete_multipart_upload},
                         row{R"({"method":"GET","key":"k","uploadId":"u"})", list_parts},
                         row{R"({"method":"DELETE","key":"k","uploadId":"u"})", abort_multipart_upload}})
        BOOST_TEST((p::classify_sign_request(p::parse_sign_request(r.body)) == r.kind), r.body);
    // Not offered: DeleteObject, GetObject, HEAD, a part number out of place, lower case.
    for (const char* body : {R"({"method":"DELETE","key":"k"})", R"({"method":"GET","key":"k"})",
                             R"({"method":"HEAD","key":"k"})", R"({"method":"PUT","key":"k","partNumber":1})",
                             R"({"method":"POST","key":"k","uploadId":"u","partNumber":1})",
                             R"({"method":"put","key":"k"})", R"({"method":"PUT","key":"k","uploadId":"u"})"}) {
        auto e = refused([&] { p::classify_sign_request(p::parse_sign_request(body)); }, 400);
        BOOST_TEST(e.code == "not_offered", body);
        BOOST_TEST(e.message.find("PutObject") != std::string::npos);
    }
    for (const char* body : {"[]", R"({"key":"k"})", R"({"method":"PUT"})", R"({"method":"PUT","key":""})",
                             R"({"method":"PUT","key":"k","partNumber":0})", R"({"method":"PUT","key":"k","partNumber":"1"})",
                             R"({"method":"PUT","key":"k","expiresIn":0})", R"({"method":"PUT","key":"k","expiresIn":-5})",
                             R"({"method":"PUT","key":"k","uploadId":7})",
                             // Upload ids with odd bytes, as the JSON API's uploadId refuses them.
                             R"({"method":"GET","key":"k","uploadId":"a b"})",
                             R"({"method":"GET","key":"k","uploadId":"a\u0000b"})",
                             R"({"method":"GET","key":"k","uploadId":"\u00e9"})"})
        refused([&] { p::parse_sign_request(body); }, 400);
    refused([&] { p::parse_sign_request(R"({"method":"GET","key":"k","uploadId":")" + std::string(1025, 'u') + "\"}"); },
            400);
    BOOST_TEST(p::parse_sign_request(R"({"method":"GET","key":"k","uploadId":")" + std::string(1024, 'u') + "\"}")
                   .upload_id.size() == 1024u);
}

BOOST_AUTO_TEST_CASE(sign_request_urls) {
    using enum p::sign_request_kind;
    const auto cfg = config();
    const auto signer = test_signer();
    // The creating calls: hoist's key, whatever was proposed.
    auto put = p::sign_s3_request(cfg, signer, "alice", p::parse_sign_request(R"({"method":"PUT","key":"x/../bob/My File.txt"})"),
                                  7, date);
    BOOST_TEST((put.kind == put_object));
    BOOST_TEST(put.key == "uploads/alice/alice_7_My_File.txt");
    BOOST_TEST(put.url.starts_with("http://127.0.0.1:9000/bucket/uploads/alice/alice_7_My_File.txt?"));
    auto q = query_of(put.url);
    BOOST_TEST(q.at("X-Amz-SignedHeaders") == "host");   // Uppy's Content-Type stays free
    BOOST_TEST(q.at("X-Amz-Expires") == "900");
    BOOST_TEST(!q.count("uploadId"));
    auto json_answer = json::parse(p::sign_request_response_json(put)).as_object();
    BOOST_TEST(json_answer.at("key").as_string() == put.key);
    BOOST_TEST(json_answer.at("url").as_string() == put.url);

    auto create = p::sign_s3_request(cfg, signer, "alice", p::parse_sign_request(R"({"method":"POST","key":"a.bin","expiresIn":60})"), 7, date);
    BOOST_TEST((create.kind == create_multipart_upload));
    q = query_of(create.url);
    BOOST_TEST(q.count("uploads") == 1u);
    BOOST_TEST(q.at("X-Amz-Expires") == "60");

    const std::string own = "uploads/alice/alice_7_a.bin";
    auto part = p::sign_s3_request(
        cfg, signer, "alice",
        p::parse_sign_request(R"({"method":"PUT","key":")" + own + R"(","uploadId":"U+1","partNumber":2})"), 7, date);
    BOOST_TEST(part.key == own);
    q = query_of(part.url);
    BOOST_TEST(q.at("partNumber") == "2");
    BOOST_TEST(q.at("uploadId") == "U+1");
    for (const char* method : {"POST", "GET", "DELETE"}) {
        auto s = p::sign_s3_request(
            cfg, signer, "alice",
            p::parse_sign_request(std::string(R"({"method":")") + method + R"(","key":")" + own + R"(","uploadId":"U"})"),
            7, date);
        BOOST_TEST(s.key == own);
        BOOST_TEST(query_of(s.url).at("uploadId") == "U");
    }
    // Another user's key: 403 for every call that names one.
    for (const char* method : {"POST", "GET", "DELETE"}) {
        auto e = refused(
            [&] {
                p::sign_s3_request(cfg, signer, "alice",
                                   p::parse_sign_request(std::string(R"({"method":")") + method +
                                                         R"(","key":"uploads/bob/bob_1_a.bin","uploadId":"U"})"),
                                   7, date);
            },
            403);
        BOOST_TEST(e.code == "forbidden");
    }
    refused([&] {
        p::sign_s3_request(cfg, signer, "alice",
                           p::parse_sign_request(R"({"method":"PUT","key":"uploads/bob/x","uploadId":"U","partNumber":1})"),
                           7, date);
    }, 403);
    // expiresIn above the service's presign_expiry.
    refused([&] { p::sign_s3_request(cfg, signer, "alice", p::parse_sign_request(R"({"method":"PUT","key":"a","expiresIn":901})"), 7, date); }, 400);
}

BOOST_AUTO_TEST_SUITE_END()
