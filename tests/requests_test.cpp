// Request builders: targets, headers and signatures for every S3 call, and
// presigned URLs whose path encoding matches the AWS SDKs'.
#include "hoist/protocol/s3/requests.hpp"

#include <boost/test/unit_test.hpp>

namespace p = hoist::protocol;
namespace sv4 = hoist::sigv4;
using namespace std::chrono_literals;

namespace {

sv4::signer doc_signer(std::string token = "") {
    sv4::credentials c;
    c.access_key_id = "AKIAIOSFODNN7EXAMPLE";
    c.secret_access_key = sv4::secret_string("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    c.session_token = sv4::secret_string(std::move(token));
    return sv4::signer(std::move(c));
}

p::object_location local(std::string key) {
    return p::locate(p::parse_endpoint("https://127.0.0.1:9000"), "bucket", key, p::addressing::path);
}

} // namespace

BOOST_AUTO_TEST_SUITE(requests)

BOOST_AUTO_TEST_CASE(targets_encode_keys_once) {
    // Expected strings from Python's urllib.parse.quote(key, safe='/~'), which
    // is what botocore uses for S3 keys.
    auto r = p::head_object(local("a b+c%d~e=f&g/ሴ.txt"));
    BOOST_TEST(r.target() == "/bucket/a%20b%2Bc%25d~e%3Df%26g/%E1%88%B4.txt");
    BOOST_TEST(p::head_object(local("dir/sub dir/x?y#z")).target() == "/bucket/dir/sub%20dir/x%3Fy%23z");
    BOOST_TEST(r.method == "HEAD");
    BOOST_TEST(r.host == "127.0.0.1:9000");
}

BOOST_AUTO_TEST_CASE(multipart_calls_have_the_right_shape) {
    auto loc = local("k");
    auto create = p::create_multipart_upload(loc, p::integrity::kind::crc32c);
    BOOST_TEST(create.method == "POST");
    BOOST_TEST(create.target() == "/bucket/k?uploads");
    BOOST_TEST(*create.header_value("x-amz-checksum-algorithm") == "CRC32C");
    BOOST_TEST(!p::create_multipart_upload(loc, p::integrity::kind::md5).header_value("x-amz-checksum-algorithm"));

    auto part = p::upload_part(loc, "id/+=", 7, 5242880, {p::integrity::kind::crc32c, "AAAAAA=="});
    BOOST_TEST(part.method == "PUT");
    BOOST_TEST(part.target() == "/bucket/k?partNumber=7&uploadId=id%2F%2B%3D");
    BOOST_TEST(part.content_length == 5242880u);
    BOOST_TEST(*part.header_value("X-Amz-Checksum-Crc32c") == "AAAAAA==");
    BOOST_TEST(part.payload_hash == "UNSIGNED-PAYLOAD");
    auto md5 = p::upload_part(loc, "id", 1, 1, {p::integrity::kind::md5, "1B2M2Y8AsgTpgAmY7PhCfg=="});
    BOOST_TEST(*md5.header_value("content-md5") == "1B2M2Y8AsgTpgAmY7PhCfg==");
    BOOST_CHECK_THROW(p::upload_part(loc, "id", 0, 1, {}), std::invalid_argument);
    BOOST_CHECK_THROW(p::upload_part(loc, "id", 10001, 1, {}), std::invalid_argument);
    BOOST_CHECK_THROW(p::upload_part(loc, "", 1, 1, {}), std::invalid_argument);

    auto complete = p::complete_multipart_upload(loc, "id", {{1, "\"e1\"", ""}, {2, "\"e2\"", ""}});
    BOOST_TEST(complete.target() == "/bucket/k?uploadId=id");
    BOOST_TEST(complete.content_length == complete.body.size());
    BOOST_TEST(complete.payload_hash == sv4::sha256_hex(complete.body));
    BOOST_TEST(complete.body.find("<PartNumber>1</PartNumber>") < complete.body.find("<PartNumber>2</PartNumber>"));

    BOOST_TEST(p::abort_multipart_upload(loc, "id").method == "DELETE");
    BOOST_TEST(p::abort_multipart_upload(loc, "id").target() == "/bucket/k?uploadId=id");
    BOOST_TEST(p::list_parts(loc, "id").target() == "/bucket/k?max-parts=1000&uploadId=id");
    BOOST_TEST(p::list_parts(loc, "id", 1000).target() == "/bucket/k?max-parts=1000&part-number-marker=1000&uploadId=id");
    BOOST_CHECK_THROW(p::list_parts(loc, "id", 0, 1001), std::invalid_argument);

    auto bucket = local("");
    BOOST_TEST(p::list_multipart_uploads(bucket, "pre fix/").target() ==
               "/bucket?uploads&encoding-type=url&prefix=pre%20fix%2F");
    BOOST_TEST(p::list_multipart_uploads(bucket, "", "k\x01", "id/1").target() ==
               "/bucket?uploads&encoding-type=url&key-marker=k%01&upload-id-marker=id%2F1");
    BOOST_CHECK_THROW(p::list_multipart_uploads(loc, ""), std::invalid_argument);

    auto list = p::list_objects_v2(bucket, "dir/a b");
    BOOST_TEST(list.method == "GET");
    BOOST_TEST(list.target() == "/bucket?list-type=2&encoding-type=url&max-keys=1000&prefix=dir%2Fa%20b");
    BOOST_TEST(list.payload_hash == sv4::empty_payload_sha256);
    // The token is opaque and goes back exactly, encoded once on the wire.
    BOOST_TEST(p::list_objects_v2(bucket, "", "1ueGcx/X+Y=", 2).target() ==
               "/bucket?list-type=2&continuation-token=1ueGcx%2FX%2BY%3D&encoding-type=url&max-keys=2");
    BOOST_CHECK_THROW(p::list_objects_v2(loc, ""), std::invalid_argument);
    BOOST_CHECK_THROW(p::list_objects_v2(bucket, "", "", 0), std::invalid_argument);
    BOOST_CHECK_THROW(p::list_objects_v2(bucket, "", "", 1001), std::invalid_argument);

    auto put = p::put_object(loc, 12, {p::integrity::kind::crc32c, "x"});
    BOOST_TEST(put.method == "PUT");
    BOOST_TEST(put.target() == "/bucket/k");
}

BOOST_AUTO_TEST_CASE(signing_adds_sigv4_headers) {
    auto r = p::upload_part(local("k"), "id", 1, 10, {p::integrity::kind::crc32c, "AAAAAA=="});
    auto signer = doc_signer("TOKEN");
    p::sign(r, signer, "us-east-1", sv4::amz_date::parse("20130524T000000Z"));
    auto auth = r.header_value("Authorization");
    BOOST_REQUIRE(auth.has_value());
    BOOST_TEST(auth->starts_with("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                                 "SignedHeaders=host;x-amz-checksum-crc32c;x-amz-content-sha256;x-amz-date;"
                                 "x-amz-security-token, Signature="));
    BOOST_TEST(*r.header_value("x-amz-content-sha256") == "UNSIGNED-PAYLOAD");
    BOOST_TEST(*r.header_value("X-Amz-Security-Token") == "TOKEN");
}

BOOST_AUTO_TEST_CASE(presigned_url_matches_the_documented_example) {
    // The S3 API Reference presigned GET example, through the protocol layer.
    p::endpoint ep;
    ep.host = "examplebucket.s3.amazonaws.com";
    p::object_location loc{ep, ep.host, "/test.txt", "examplebucket", "test.txt"};
    auto url = p::presign_url(loc, "GET", {}, doc_signer(), "us-east-1",
                              sv4::amz_date::parse("20130524T000000Z"), 86400s);
    BOOST_TEST(url ==
               "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
               "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
               "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
               "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

BOOST_AUTO_TEST_CASE(presigned_upload_part_url_carries_part_and_upload_id) {
    auto url = p::presign_url(local("my key"), "PUT", {{"partNumber", "3"}, {"uploadId", "u/1"}}, doc_signer(),
                              "us-east-1", sv4::amz_date::parse("20130524T000000Z"), 3600s);
    BOOST_TEST(url.starts_with("https://127.0.0.1:9000/bucket/my%20key?X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
    BOOST_TEST(url.find("&partNumber=3&uploadId=u%2F1&X-Amz-Signature=") != std::string::npos);
}

// A POST form goes to the bucket's URL, laid out as the AWS SDK for
// JavaScript's createPresignedPost lays it out (tests/sdk_presign_post_test.cpp
// compares the two end to end).
BOOST_AUTO_TEST_CASE(presigned_post_goes_to_the_bucket_url) {
    auto date = sv4::amz_date::parse("20240315T123456Z");
    sv4::post_policy policy;
    policy.key = "a/${filename}";
    auto post = [&](const std::string& endpoint, const std::string& bucket, p::addressing style) {
        policy.bucket = bucket;
        return p::presign_post(p::parse_endpoint(endpoint), style, policy, doc_signer(), "eu-west-1", date);
    };
    auto aws = p::presign_post(p::aws_endpoint("eu-west-1"), p::addressing::automatic,
                               [&] { auto q = policy; q.bucket = "my-bucket"; return q; }(), doc_signer(),
                               "eu-west-1", date);
    BOOST_TEST(aws.url == "https://my-bucket.s3.eu-west-1.amazonaws.com/");
    auto dotted = p::presign_post(p::aws_endpoint("eu-west-1"), p::addressing::automatic,
                                  [&] { auto q = policy; q.bucket = "my.dotted.bucket"; return q; }(), doc_signer(),
                                  "eu-west-1", date);
    BOOST_TEST(dotted.url == "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket");
    BOOST_TEST(post("http://127.0.0.1:9000", "local-bucket", p::addressing::automatic).url ==
               "http://127.0.0.1:9000/local-bucket");
    BOOST_TEST(post("https://s3.example.test", "vhost", p::addressing::virtual_host).url ==
               "https://vhost.s3.example.test/");
    // The form is sigv4::presign_post's, for the same bucket.
    auto local = post("http://127.0.0.1:9000", "local-bucket", p::addressing::path);
    BOOST_TEST(local.form.signature == sv4::sign_post_policy(doc_signer(), local.form.policy, "eu-west-1", date));
    BOOST_TEST(local.form.policy_json.find(R"({"bucket":"local-bucket"})") != std::string::npos);
    BOOST_CHECK_THROW(post("https://s3.example.test", "Bad_Bucket", p::addressing::virtual_host), p::address_error);
}

BOOST_AUTO_TEST_CASE(presigned_put_sends_the_url_verbatim_with_md5_only) {
    auto t = p::parse_presigned_url("https://127.0.0.1:9000/bucket/my%20key?partNumber=3&X-Amz-Signature=ab");
    auto md5 = p::presigned_put(t, 42, {p::integrity::kind::md5, "MD5B64=="});
    BOOST_TEST(md5.method == "PUT");
    BOOST_TEST(md5.host == "127.0.0.1:9000");
    BOOST_TEST(md5.target() == "/bucket/my%20key?partNumber=3&X-Amz-Signature=ab");
    BOOST_TEST(md5.content_length == 42u);
    BOOST_TEST(*md5.header_value("Content-MD5") == "MD5B64==");
    auto crc = p::presigned_put(t, 42, {p::integrity::kind::crc32c, "AAAAAA=="});
    BOOST_TEST(crc.headers.empty());
}

BOOST_AUTO_TEST_CASE(integrity_is_confirmed_only_by_an_echo_or_an_md5_etag) {
    using k = p::integrity::kind;
    p::integrity crc{k::crc32c, "4waSgw=="};
    BOOST_TEST(p::integrity_confirmed(crc, std::string_view("4waSgw=="), "\"whatever\""));
    BOOST_TEST(!p::integrity_confirmed(crc, std::nullopt, "\"whatever\""));           // ignored by the store
    BOOST_TEST(!p::integrity_confirmed(crc, std::string_view("AAAAAA=="), "\"x\""));   // a different value
    // MD5 of "hello": 5d41402abc4b2a76b9719d911017c592, base64 XUFAKrxLKna5cZ2REBfFkg==
    p::integrity md5{k::md5, "XUFAKrxLKna5cZ2REBfFkg=="};
    BOOST_TEST(p::integrity_confirmed(md5, std::nullopt, "\"5d41402abc4b2a76b9719d911017c592\""));
    BOOST_TEST(p::integrity_confirmed(md5, std::nullopt, "5D41402ABC4B2A76B9719D911017C592"));
    BOOST_TEST(!p::integrity_confirmed(md5, std::nullopt, "\"5d41402abc4b2a76b9719d911017c593\""));
    BOOST_TEST(!p::integrity_confirmed(md5, std::nullopt, "\"5d41402abc4b2a76b9719d911017c592-1\""));   // multipart form
    BOOST_TEST(!p::integrity_confirmed(md5, std::nullopt, ""));
    BOOST_TEST(!p::integrity_confirmed({k::none, ""}, std::nullopt, "\"5d41402abc4b2a76b9719d911017c592\""));
    BOOST_TEST(!p::integrity_confirmed({k::md5, "not base64!"}, std::nullopt, "\"5d41402abc4b2a76b9719d911017c592\""));
}

BOOST_AUTO_TEST_CASE(delete_objects_is_a_quiet_post_with_content_md5) {
    auto bucket = local("");
    auto r = p::delete_objects(bucket, {"a&b", "c"});
    BOOST_TEST(r.method == "POST");
    BOOST_TEST(r.target() == "/bucket?delete");
    BOOST_TEST(r.body.find("<Quiet>true</Quiet>") != std::string::npos);
    BOOST_TEST(r.body.find("<Key>a&amp;b</Key>") != std::string::npos);
    BOOST_TEST(r.content_length == r.body.size());
    BOOST_TEST(r.payload_hash == sv4::sha256_hex(r.body));
    // The MD5 of an empty body is 1B2M2Y8AsgTpgAmY7PhCfg==: this one's is 24 base64 characters, and not that.
    auto md5 = r.header_value("Content-MD5");
    BOOST_REQUIRE(md5);
    BOOST_TEST(md5->size() == 24u);
    BOOST_TEST(*md5 != "1B2M2Y8AsgTpgAmY7PhCfg==");
    BOOST_TEST(*p::delete_objects(bucket, {"a&b", "c"}).header_value("Content-MD5") == *md5);
    BOOST_TEST(*p::delete_objects(bucket, {"a&b", "d"}).header_value("Content-MD5") != *md5);
    BOOST_CHECK_THROW(p::delete_objects(bucket, {}), std::invalid_argument);
    BOOST_CHECK_THROW(p::delete_objects(bucket, std::vector<std::string>(1001, "k")), std::invalid_argument);
    BOOST_CHECK_THROW(p::delete_objects(local("k"), {"a"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(content_md5_beside_crc32c_is_sent_and_confirms_by_etag) {
    using k = p::integrity::kind;
    // CRC32C of "hello" is 0x9a71bb4c (base64 mnG7TA==); MD5 as above.
    p::integrity both{k::crc32c, "mnG7TA==", "XUFAKrxLKna5cZ2REBfFkg=="};
    auto loc = p::locate(p::parse_endpoint("https://127.0.0.1:9000"), "bkt", "k", p::addressing::path);
    auto req = p::upload_part(loc, "id", 1, 5, both);
    BOOST_TEST(req.header_value("x-amz-checksum-crc32c").value_or("") == "mnG7TA==");
    BOOST_TEST(req.header_value("Content-MD5").value_or("") == "XUFAKrxLKna5cZ2REBfFkg==");
    auto put = p::put_object(loc, 5, {k::crc32c, "mnG7TA==", ""});
    BOOST_TEST(!put.header_value("Content-MD5").has_value());

    const std::string md5_etag = "\"5d41402abc4b2a76b9719d911017c592\"";
    // The echo wins (AWS echoes and its ETag is the MD5 too).
    BOOST_TEST((p::integrity_confirmed_by(both, std::string_view("mnG7TA=="), md5_etag) == k::crc32c));
    // No echo (RGW 16): the ETag equal to the MD5 sent.
    BOOST_TEST((p::integrity_confirmed_by(both, std::nullopt, md5_etag) == k::md5));
    // No echo and another ETag (SSE-KMS, a store with opaque ETags): nothing.
    BOOST_TEST((p::integrity_confirmed_by(both, std::nullopt, "\"0123\"") == k::none));
    // Without Content-MD5 the ETag proves nothing for a crc32c body.
    BOOST_TEST((p::integrity_confirmed_by({k::crc32c, "mnG7TA==", ""}, std::nullopt, md5_etag) == k::none));
    BOOST_TEST((p::integrity_confirmed_by({k::md5, "XUFAKrxLKna5cZ2REBfFkg==", ""}, std::nullopt, md5_etag) == k::md5));
}

BOOST_AUTO_TEST_SUITE_END()
