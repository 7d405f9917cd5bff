// Tests for the S3 XML parsers and the CompleteMultipartUpload body builder.
// Bodies are the examples from the S3 API reference, plus hostile and broken ones.

#include "hoist/protocol/s3/xml.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace hoist::protocol;

namespace {

// "value", "s3_error <code>" or "xml_problem: <what>": a one-line picture of a
// parse result, so a failed BOOST_TEST shows what came back instead.
template <class T>
std::string describe(const parsed<T>& result) {
    if (std::holds_alternative<T>(result)) return "value";
    if (const auto* e = std::get_if<s3_error>(&result)) return "s3_error " + e->code;
    return "xml_problem: " + std::get<xml_problem>(result).what;
}

template <class T>
bool is_problem(const parsed<T>& result) {
    return std::holds_alternative<xml_problem>(result);
}

template <class T>
std::string problem_text(const parsed<T>& result) {
    const auto* p = std::get_if<xml_problem>(&result);
    return p ? p->what : "(no problem: " + describe(result) + ")";
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// From the S3 API reference, InitiateMultipartUpload / CreateMultipartUpload.
constexpr std::string_view initiate_example = R"(<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket>
  <Key>example-object</Key>
  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
</InitiateMultipartUploadResult>)";

constexpr std::string_view complete_example = R"(<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Location>http://Example-Bucket.s3.us-east-1.amazonaws.com/Example-Object</Location>
  <Bucket>Example-Bucket</Bucket>
  <Key>Example-Object</Key>
  <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
  <ChecksumCRC32C>q0nGzA==-9</ChecksumCRC32C>
</CompleteMultipartUploadResult>)";

// S3's documented "200 OK with an error" answer to CompleteMultipartUpload.
constexpr std::string_view complete_200_error = R"(<?xml version="1.0" encoding="UTF-8"?>

<Error>
  <Code>InternalError</Code>
  <Message>We encountered an internal error. Please try again.</Message>
  <RequestId>656c76696e6727732072657175657374</RequestId>
  <HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>
</Error>)";

constexpr std::string_view list_parts_example = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket>
  <Key>example-object</Key>
  <UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
  <Initiator>
      <ID>arn:aws:iam::111122223333:user/some-user-11116a31-17b5-4fb7-9df5-b288870f11xx</ID>
      <DisplayName>umat-user-11116a31-17b5-4fb7-9df5-b288870f11xx</DisplayName>
  </Initiator>
  <Owner>
    <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
    <DisplayName>someName</DisplayName>
  </Owner>
  <StorageClass>STANDARD</StorageClass>
  <PartNumberMarker>1</PartNumberMarker>
  <NextPartNumberMarker>3</NextPartNumberMarker>
  <MaxParts>2</MaxParts>
  <IsTruncated>true</IsTruncated>
  <Part>
    <PartNumber>2</PartNumber>
    <LastModified>2010-11-10T20:48:34.000Z</LastModified>
    <ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag>
    <Size>10485760</Size>
  </Part>
  <Part>
    <PartNumber>3</PartNumber>
    <LastModified>2010-11-10T20:48:33.000Z</LastModified>
    <ETag>"aaaa18db4cc2f85cedef654fccc4a4x8"</ETag>
    <Size>10485760</Size>
    <ChecksumCRC32C>yZRlqg==</ChecksumCRC32C>
  </Part>
</ListPartsResult>)";

constexpr std::string_view list_uploads_example = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>bucket</Bucket>
  <KeyMarker></KeyMarker>
  <UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>my-movie.m2ts</NextKeyMarker>
  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
  <MaxUploads>3</MaxUploads>
  <IsTruncated>true</IsTruncated>
  <Upload>
    <Key>my-divisor</Key>
    <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiator>
      <ID>arn:aws:iam::111122223333:user/user1-11111a31-17b5-4fb7-9df5-b111111f13de</ID>
      <DisplayName>user1-11111a31-17b5-4fb7-9df5-b111111f13de</DisplayName>
    </Initiator>
    <Owner>
      <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
      <DisplayName>OwnerDisplayName</DisplayName>
    </Owner>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
  <Upload>
    <Key>my-movie.m2ts</Key>
    <UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
  <Upload>
    <Key>my-movie.m2ts</Key>
    <UploadId>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</UploadId>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:49:33.000Z</Initiated>
  </Upload>
</ListMultipartUploadsResult>)";

constexpr std::string_view no_such_upload_example = R"(<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchUpload</Code>
  <Message>The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.</Message>
  <UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
  <Resource>/bucket/my-movie.m2ts</Resource>
  <RequestId>4442587FB7D0A2F9</RequestId>
</Error>)";

// Billion laughs: pugixml would not expand it, but the DOCTYPE must be refused.
constexpr std::string_view billion_laughs = R"(<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<InitiateMultipartUploadResult><UploadId>&lol4;</UploadId></InitiateMultipartUploadResult>)";

constexpr std::string_view external_entity = R"(<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<InitiateMultipartUploadResult><UploadId>&xxe;</UploadId></InitiateMultipartUploadResult>)";

constexpr std::string_view doctype_only_no_subset = R"(<?xml version="1.0"?>
<!DOCTYPE InitiateMultipartUploadResult SYSTEM "http://example.com/s3.dtd">
<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>)";

} // namespace

BOOST_AUTO_TEST_SUITE(protocol_xml)

// --- the documented examples -----------------------------------------------

BOOST_AUTO_TEST_CASE(initiate_example_parses) {
    const auto result = parse_initiate(initiate_example);
    BOOST_TEST_REQUIRE(describe(result) == "value");
    const auto& r = std::get<initiate_result>(result);
    BOOST_TEST(r.bucket == "example-bucket");
    BOOST_TEST(r.key == "example-object");
    BOOST_TEST(r.upload_id == "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
}

BOOST_AUTO_TEST_CASE(complete_example_parses_with_quotes_kept) {
    const auto result = parse_complete(complete_example);
    BOOST_TEST_REQUIRE(describe(result) == "value");
    const auto& r = std::get<complete_result>(result);
    BOOST_TEST(r.location == "http://Example-Bucket.s3.us-east-1.amazonaws.com/Example-Object");
    BOOST_TEST(r.bucket == "Example-Bucket");
    BOOST_TEST(r.key == "Example-Object");
    BOOST_TEST(r.etag == "\"3858f62230ac3c915f300c664312c11f-9\"");
    BOOST_TEST(r.checksum_crc32c == "q0nGzA==-9");
}

BOOST_AUTO_TEST_CASE(complete_200_with_error_body_is_s3_error) {
    const auto result = parse_complete(complete_200_error);
    BOOST_TEST_REQUIRE(describe(result) == "s3_error InternalError");
    const auto& e = std::get<s3_error>(result);
    BOOST_TEST(e.message == "We encountered an internal error. Please try again.");
    BOOST_TEST(e.request_id == "656c76696e6727732072657175657374");
    BOOST_TEST(e.resource == "");
}

BOOST_AUTO_TEST_CASE(list_parts_truncated_example) {
    const auto result = parse_list_parts(list_parts_example);
    BOOST_TEST_REQUIRE(describe(result) == "value");
    const auto& page = std::get<list_parts_page>(result);
    BOOST_TEST(page.bucket == "example-bucket");
    BOOST_TEST(page.key == "example-object");
    BOOST_TEST(page.upload_id == "XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA");
    BOOST_TEST(page.is_truncated);
    BOOST_TEST(page.next_part_number_marker == 3u);
    BOOST_TEST(page.max_parts == 2u);
    BOOST_TEST_REQUIRE(page.parts.size() == 2u);
    BOOST_TEST(page.parts[0].part_number == 2u);
    BOOST_TEST(page.parts[0].etag == "\"7778aef83f66abc1fa1e8477f296d394\"");
    BOOST_TEST(page.parts[0].size == 10485760u);
    BOOST_TEST(page.parts[0].last_modified == "2010-11-10T20:48:34.000Z");
    BOOST_TEST(page.parts[0].checksum_crc32c == "");
    BOOST_TEST(page.parts[1].part_number == 3u);
    BOOST_TEST(page.parts[1].etag == "\"aaaa18db4cc2f85cedef654fccc4a4x8\"");
    BOOST_TEST(page.parts[1].checksum_crc32c == "yZRlqg==");
}

BOOST_AUTO_TEST_CASE(list_parts_last_page_without_marker) {
    const auto result = parse_list_parts(
        R"(<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
        "<Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId><IsTruncated>false</IsTruncated>"
        "<Part><PartNumber>10000</PartNumber><ETag>\"e\"</ETag><Size>18446744073709551615</Size></Part>"
        "</ListPartsResult>");
    BOOST_TEST_REQUIRE(describe(result) == "value");
    const auto& page = std::get<list_parts_page>(result);
    BOOST_TEST(!page.is_truncated);
    BOOST_TEST(page.next_part_number_marker == 0u);
    BOOST_TEST_REQUIRE(page.parts.size() == 1u);
    BOOST_TEST(page.parts[0].part_number == 10000u);
    BOOST_TEST(page.parts[0].size == 18446744073709551615ull);
}

BOOST_AUTO_TEST_CASE(list_parts_empty_upload) {
    const auto result = parse_list_parts(
        "<ListPartsResult><UploadId>u</UploadId><IsTruncated>false</IsTruncated></ListPartsResult>");
    BOOST_TEST_REQUIRE(describe(result) == "value");
    BOOST_TEST(std::get<list_parts_page>(result).parts.empty());
}

BOOST_AUTO_TEST_CASE(list_uploads_truncated_example) {
    const auto result = parse_list_uploads(list_uploads_example);
    BOOST_TEST_REQUIRE(describe(result) == "value");
    const auto& page = std::get<list_uploads_page>(result);
    BOOST_TEST(page.bucket == "bucket");
    BOOST_TEST(page.is_truncated);
    BOOST_TEST(page.next_key_marker == "my-movie.m2ts");
    BOOST_TEST(page.next_upload_id_marker == "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ");
    BOOST_TEST_REQUIRE(page.uploads.size() == 3u);
    BOOST_TEST(page.uploads[0].key == "my-divisor");
    BOOST_TEST(page.uploads[0].upload_id == "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw");
    BOOST_TEST(page.uploads[0].initiated == "2010-11-10T20:48:33.000Z");
    BOOST_TEST(page.uploads[2].key == "my-movie.m2ts");
    BOOST_TEST(page.uploads[2].upload_id == "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ");
    BOOST_TEST(page.uploads[2].initiated == "2010-11-10T20:49:33.000Z");
}

BOOST_AUTO_TEST_CASE(list_uploads_url_encoded_keys_are_decoded) {
    const auto result = parse_list_uploads(
        "<ListMultipartUploadsResult><Bucket>b</Bucket><EncodingType>url</EncodingType>"
        "<NextKeyMarker>dir%2Fa+b%25</NextKeyMarker><IsTruncated>true</IsTruncated>"
        "<Upload><Key>dir%2Fa+b%25</Key><UploadId>u1</UploadId></Upload>"
        "</ListMultipartUploadsResult>");
    BOOST_TEST_REQUIRE(describe(result) == "value");
    const auto& page = std::get<list_uploads_page>(result);
    BOOST_TEST(page.next_key_marker == "dir/a b%");
    BOOST_TEST_REQUIRE(page.uploads.size() == 1u);
    BOOST_TEST(page.uploads[0].key == "dir/a b%");
}

BOOST_AUTO_TEST_CASE(list_uploads_bad_url_encoding_is_problem) {
    const auto result = parse_list_uploads(
        "<ListMultipartUploadsResult><EncodingType>url</EncodingType>"
        "<Upload><Key>bad%2</Key><UploadId>u1</UploadId></Upload></ListMultipartUploadsResult>");
    BOOST_TEST(contains(problem_text(result), "<Key>"));
}

BOOST_AUTO_TEST_CASE(keys_are_not_decoded_without_encoding_type) {
    const auto result = parse_list_uploads(
        "<ListMultipartUploadsResult><Upload><Key>a+b%2F</Key><UploadId>u</UploadId></Upload>"
        "</ListMultipartUploadsResult>");
    BOOST_TEST_REQUIRE(describe(result) == "value");
    BOOST_TEST(std::get<list_uploads_page>(result).uploads.at(0).key == "a+b%2F");
}

BOOST_AUTO_TEST_CASE(list_uploads_truncated_without_marker_is_problem) {
    const auto result = parse_list_uploads(
        "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>");
    BOOST_TEST(problem_text(result) == "missing <NextKeyMarker> in <ListMultipartUploadsResult>");
}

// --- ListObjectsV2 -----------------------------------------------------------

// The S3 API reference's ListObjectsV2 example, with a second object and a
// continuation token (a truncated page).
constexpr std::string_view list_objects_example = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix/>
  <KeyCount>2</KeyCount>
  <MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>ExampleObject.txt</Key>
    <LastModified>2013-09-17T18:07:53.000Z</LastModified>
    <ETag>"599bab3ed2c697f1d26842727561fd94"</ETag>
    <Size>857</Size>
    <StorageClass>REDUCED_REDUNDANCY</StorageClass>
  </Contents>
  <Contents>
    <Key>big/checkpoint.bin</Key>
    <LastModified>2013-09-18T18:07:53.000Z</LastModified>
    <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
    <Size>5497558138880</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
</ListBucketResult>)";

BOOST_AUTO_TEST_CASE(list_objects_truncated_example) {
    const auto result = parse_list_objects(list_objects_example);
    BOOST_TEST_REQUIRE(describe(result) == "value");
    const auto& page = std::get<list_objects_page>(result);
    BOOST_TEST(page.bucket == "bucket");
    BOOST_TEST(page.is_truncated);
    BOOST_TEST(page.next_continuation_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    BOOST_TEST_REQUIRE(page.objects.size() == 2u);
    BOOST_TEST(page.objects[0].key == "ExampleObject.txt");
    BOOST_TEST(page.objects[0].size == 857u);
    BOOST_TEST(page.objects[0].etag == "\"599bab3ed2c697f1d26842727561fd94\"");
    BOOST_TEST(page.objects[0].last_modified == "2013-09-17T18:07:53.000Z");
    BOOST_TEST(page.objects[1].key == "big/checkpoint.bin");
    BOOST_TEST(page.objects[1].size == 5497558138880u);   // 5 TiB: S3's largest object needs 64 bits
}

BOOST_AUTO_TEST_CASE(list_objects_last_and_empty_pages) {
    const auto last = parse_list_objects(
        "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated>"
        "<Contents><Key>k</Key><Size>0</Size></Contents></ListBucketResult>");
    BOOST_TEST_REQUIRE(describe(last) == "value");
    BOOST_TEST(!std::get<list_objects_page>(last).is_truncated);
    BOOST_TEST(std::get<list_objects_page>(last).objects.size() == 1u);
    const auto empty = parse_list_objects("<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount></ListBucketResult>");
    BOOST_TEST_REQUIRE(describe(empty) == "value");
    BOOST_TEST(std::get<list_objects_page>(empty).objects.empty());
    BOOST_TEST(!std::get<list_objects_page>(empty).is_truncated);
}

BOOST_AUTO_TEST_CASE(list_objects_url_encoded_keys_are_decoded_token_is_not) {
    // A key with a control character (not representable in XML 1.0), a space
    // and a literal '+' and '%', as S3 sends them with encoding-type=url.
    const auto result = parse_list_objects(
        "<ListBucketResult><Name>b</Name><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>a+b%2F</NextContinuationToken>"
        "<Contents><Key>dir%2Fline%01feed+x%2B%25</Key><Size>3</Size></Contents></ListBucketResult>");
    BOOST_TEST_REQUIRE(describe(result) == "value");
    const auto& page = std::get<list_objects_page>(result);
    BOOST_TEST_REQUIRE(page.objects.size() == 1u);
    BOOST_TEST(page.objects[0].key == std::string("dir/line\x01" "feed x+%"));
    BOOST_TEST(page.next_continuation_token == "a+b%2F");   // opaque: sent back exactly as received
}

BOOST_AUTO_TEST_CASE(list_objects_keys_not_decoded_without_encoding_type) {
    const auto result =
        parse_list_objects("<ListBucketResult><Contents><Key>a+b%2F</Key><Size>1</Size></Contents></ListBucketResult>");
    BOOST_TEST_REQUIRE(describe(result) == "value");
    BOOST_TEST(std::get<list_objects_page>(result).objects.at(0).key == "a+b%2F");
}

BOOST_DATA_TEST_CASE(list_objects_broken_pages_are_problems,
                     bdata::make({
                         // truncated without a token: the next request would repeat this page forever
                         "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
                         "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
                         "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
                         "<ListBucketResult><Contents><Key></Key><Size>1</Size></Contents></ListBucketResult>",
                         "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
                         "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
                         "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999999</Size></Contents>"
                         "</ListBucketResult>",
                         "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>bad%zz</Key><Size>1</Size>"
                         "</Contents></ListBucketResult>",
                         "<ListBucketResult><Contents><Key>k</Key><Size>1</Size></Contents>",   // cut
                         "<!DOCTYPE x [<!ENTITY e \"k\">]><ListBucketResult><Contents><Key>&e;</Key><Size>1</Size>"
                         "</Contents></ListBucketResult>",
                         "<ListAllMyBucketsResult/>",
                         "not xml at all",
                         "",
                     }),
                     body) {
    const auto result = parse_list_objects(body);
    BOOST_TEST(describe(result).rfind("xml_problem: ", 0) == 0u, body << " -> " << describe(result));
}

BOOST_AUTO_TEST_CASE(list_objects_problems_name_what_is_wrong) {
    BOOST_TEST(problem_text(parse_list_objects("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")) ==
               "missing <NextContinuationToken> in <ListBucketResult>");
    BOOST_TEST(problem_text(parse_list_objects(
                   "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>")) ==
               "missing <Size> in <Contents>");
}

BOOST_AUTO_TEST_CASE(list_objects_error_body_is_s3_error) {
    const auto result = parse_list_objects(
        "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
        "<RequestId>R1</RequestId></Error>");
    BOOST_TEST(describe(result) == "s3_error NoSuchBucket");
}

BOOST_AUTO_TEST_CASE(list_objects_too_large_is_problem) {
    std::string body = "<ListBucketResult>";
    while (body.size() <= max_xml_bytes) body += "<Contents><Key>k</Key><Size>1</Size></Contents>";
    body += "</ListBucketResult>";
    BOOST_TEST(problem_text(parse_list_objects(body)).rfind("response body too large", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(error_example_via_parse_error) {
    const auto error = parse_error(no_such_upload_example);
    BOOST_TEST_REQUIRE(error.has_value());
    BOOST_TEST(error->code == "NoSuchUpload");
    BOOST_TEST(error->resource == "/bucket/my-movie.m2ts");
    BOOST_TEST(error->request_id == "4442587FB7D0A2F9");
    BOOST_TEST(contains(error->message, "The specified upload does not exist."));
}

BOOST_AUTO_TEST_CASE(error_root_is_s3_error_from_every_parser) {
    BOOST_TEST(describe(parse_initiate(no_such_upload_example)) == "s3_error NoSuchUpload");
    BOOST_TEST(describe(parse_complete(no_such_upload_example)) == "s3_error NoSuchUpload");
    BOOST_TEST(describe(parse_list_parts(no_such_upload_example)) == "s3_error NoSuchUpload");
    BOOST_TEST(describe(parse_list_uploads(no_such_upload_example)) == "s3_error NoSuchUpload");
}

BOOST_AUTO_TEST_CASE(error_without_code) {
    // On a 200 an <Error> with no code must not look like success.
    BOOST_TEST(problem_text(parse_complete("<Error><Message>m</Message></Error>")) ==
               "<Error> without <Code>");
    // parse_error still reports it; the HTTP status decides for the caller.
    const auto error = parse_error("<Error><Message>m</Message></Error>");
    BOOST_TEST_REQUIRE(error.has_value());
    BOOST_TEST(error->code == "");
    BOOST_TEST(error->message == "m");
}

BOOST_DATA_TEST_CASE(parse_error_rejects_non_error_bodies,
                     bdata::make({std::string{}, std::string{"not xml"},
                                  std::string{initiate_example}, std::string{"<Error><Code>X"},
                                  std::string{external_entity}}),
                     body) {
    BOOST_TEST(!parse_error(body).has_value());
}

// --- namespaces ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(no_namespace_and_prefixed_namespace_both_parse) {
    const auto plain = parse_initiate(
        "<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>");
    BOOST_TEST_REQUIRE(describe(plain) == "value");
    BOOST_TEST(std::get<initiate_result>(plain).upload_id == "u1");

    const auto prefixed = parse_initiate(
        R"(<s3:InitiateMultipartUploadResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">)"
        "<s3:Key>k</s3:Key><s3:UploadId>u2</s3:UploadId></s3:InitiateMultipartUploadResult>");
    BOOST_TEST_REQUIRE(describe(prefixed) == "value");
    BOOST_TEST(std::get<initiate_result>(prefixed).upload_id == "u2");
    BOOST_TEST(std::get<initiate_result>(prefixed).key == "k");
}

BOOST_AUTO_TEST_CASE(entities_and_cdata_are_decoded) {
    const auto result = parse_complete(
        "<CompleteMultipartUploadResult><Key>a&amp;b&lt;&#x263A;</Key>"
        "<ETag><![CDATA[\"x\"]]></ETag></CompleteMultipartUploadResult>");
    BOOST_TEST_REQUIRE(describe(result) == "value");
    BOOST_TEST(std::get<complete_result>(result).key == "a&b<\u263A");
    BOOST_TEST(std::get<complete_result>(result).etag == "\"x\"");
}

// --- required fields and bad values --------------------------------------

BOOST_AUTO_TEST_CASE(initiate_missing_upload_id) {
    BOOST_TEST(problem_text(parse_initiate(
                   "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                   "</InitiateMultipartUploadResult>")) ==
               "missing <UploadId> in <InitiateMultipartUploadResult>");
    BOOST_TEST(problem_text(parse_initiate("<InitiateMultipartUploadResult><UploadId/>"
                                           "</InitiateMultipartUploadResult>")) ==
               "missing <UploadId> in <InitiateMultipartUploadResult>");
}

BOOST_AUTO_TEST_CASE(complete_missing_etag) {
    BOOST_TEST(problem_text(parse_complete("<CompleteMultipartUploadResult><Key>k</Key>"
                                           "</CompleteMultipartUploadResult>")) ==
               "missing <ETag> in <CompleteMultipartUploadResult>");
}

namespace {
std::string list_parts_with_part(std::string_view part) {
    return "<ListPartsResult><IsTruncated>false</IsTruncated><Part>" + std::string{part} +
           "</Part></ListPartsResult>";
}
} // namespace

namespace {
// Part bodies that must be refused, and a fragment of the expected complaint.
struct bad_part {
    std::string part;
    std::string complaint;
};
std::ostream& operator<<(std::ostream& os, const bad_part& b) { return os << b.part; }
} // namespace

BOOST_DATA_TEST_CASE(
    list_parts_bad_part_is_problem,
    bdata::make(std::vector<bad_part>{
        {"<ETag>e</ETag><Size>1</Size>", "missing <PartNumber> in <Part>"},
        {"<PartNumber>0</PartNumber><ETag>e</ETag><Size>1</Size>", "bad <PartNumber> \"0\""},
        {"<PartNumber>10001</PartNumber><ETag>e</ETag><Size>1</Size>", "bad <PartNumber> \"10001\""},
        {"<PartNumber>-1</PartNumber><ETag>e</ETag><Size>1</Size>", "bad <PartNumber> \"-1\""},
        {"<PartNumber>+1</PartNumber><ETag>e</ETag><Size>1</Size>", "bad <PartNumber> \"+1\""},
        {"<PartNumber>1x</PartNumber><ETag>e</ETag><Size>1</Size>", "bad <PartNumber> \"1x\""},
        {"<PartNumber>4294967297</PartNumber><ETag>e</ETag><Size>1</Size>", "bad <PartNumber>"},
        {"<PartNumber></PartNumber><ETag>e</ETag><Size>1</Size>", "bad <PartNumber> \"\""},
        {"<PartNumber>1</PartNumber><Size>1</Size>", "missing <ETag> in <Part>"},
        {"<PartNumber>1</PartNumber><ETag>e</ETag>", "missing <Size> in <Part>"},
        {"<PartNumber>1</PartNumber><ETag>e</ETag><Size>big</Size>", "bad <Size> \"big\""},
        {"<PartNumber>1</PartNumber><ETag>e</ETag><Size>18446744073709551616</Size>",
         "bad <Size>"},
        {"<PartNumber>1</PartNumber><ETag>e</ETag><Size>1.5</Size>", "bad <Size> \"1.5\""},
    }),
    sample) {
    const auto text = problem_text(parse_list_parts(list_parts_with_part(sample.part)));
    BOOST_TEST(contains(text, sample.complaint), text << " lacks " << sample.complaint);
}

BOOST_AUTO_TEST_CASE(list_parts_numbers_tolerate_surrounding_whitespace) {
    const auto result = parse_list_parts(
        list_parts_with_part("<PartNumber> 7\n</PartNumber><ETag>e</ETag><Size> 5 </Size>"));
    BOOST_TEST_REQUIRE(describe(result) == "value");
    BOOST_TEST(std::get<list_parts_page>(result).parts.at(0).part_number == 7u);
    BOOST_TEST(std::get<list_parts_page>(result).parts.at(0).size == 5u);
}

BOOST_AUTO_TEST_CASE(list_parts_bad_is_truncated) {
    BOOST_TEST(problem_text(parse_list_parts(
                   "<ListPartsResult><IsTruncated>yes</IsTruncated></ListPartsResult>")) ==
               "bad <IsTruncated> \"yes\": expected true or false");
}

BOOST_AUTO_TEST_CASE(list_parts_truncated_needs_next_marker) {
    BOOST_TEST(problem_text(parse_list_parts(
                   "<ListPartsResult><IsTruncated>true</IsTruncated></ListPartsResult>")) ==
               "missing <NextPartNumberMarker> in <ListPartsResult>");
    BOOST_TEST(contains(problem_text(parse_list_parts(
                            "<ListPartsResult><IsTruncated>true</IsTruncated>"
                            "<NextPartNumberMarker>abc</NextPartNumberMarker></ListPartsResult>")),
                        "bad <NextPartNumberMarker> \"abc\""));
}

BOOST_AUTO_TEST_CASE(list_parts_bad_max_parts) {
    BOOST_TEST(contains(problem_text(parse_list_parts(
                            "<ListPartsResult><MaxParts>99999999999</MaxParts></ListPartsResult>")),
                        "bad <MaxParts>"));
}

// --- broken and hostile bodies -------------------------------------------

BOOST_AUTO_TEST_CASE(empty_body) {
    BOOST_TEST(problem_text(parse_initiate("")) == "empty body: expected XML");
    BOOST_TEST(problem_text(parse_list_parts("  \n")) == "not XML: no root element");
}

BOOST_AUTO_TEST_CASE(non_xml_bodies) {
    BOOST_TEST(problem_text(parse_complete("Service Unavailable")) == "not XML: no root element");
    BOOST_TEST(problem_text(parse_complete(R"({"error":"nope"})")) == "not XML: no root element");
    BOOST_TEST(problem_text(parse_complete("<html><body>502 Bad Gateway</body></html>")) ==
               "unexpected root element <html>, expected <CompleteMultipartUploadResult>");
}

BOOST_AUTO_TEST_CASE(wrong_root_element_is_named) {
    BOOST_TEST(problem_text(parse_initiate(complete_example)) ==
               "unexpected root element <CompleteMultipartUploadResult>, expected "
               "<InitiateMultipartUploadResult>");
    BOOST_TEST(problem_text(parse_list_uploads(list_parts_example)) ==
               "unexpected root element <ListPartsResult>, expected <ListMultipartUploadsResult>");
}

BOOST_AUTO_TEST_CASE(two_root_elements_are_refused) {
    BOOST_TEST(problem_text(parse_initiate(
                   "<InitiateMultipartUploadResult><UploadId>u</UploadId>"
                   "</InitiateMultipartUploadResult><Error><Code>X</Code></Error>")) ==
               "malformed XML: more than one root element");
}

// Every proper prefix of a real answer is refused: the shape of a cut connection.
BOOST_AUTO_TEST_CASE(every_truncation_of_list_parts_is_problem) {
    const std::string_view body = list_parts_example;
    const auto end = body.rfind('>');  // cutting only the final '>' must fail too
    for (std::size_t n = 0; n < end + 1; ++n) {
        const auto result = parse_list_parts(body.substr(0, n));
        BOOST_TEST(is_problem(result), "prefix of " << n << " bytes gave " << describe(result));
    }
    BOOST_TEST(describe(parse_list_parts(body)) == "value");
}

BOOST_DATA_TEST_CASE(truncated_body_says_truncated, bdata::make({1, 2, 20, 40, 100, 200}), cut) {
    const auto body = initiate_example.substr(0, initiate_example.size() - cut);
    const auto text = problem_text(parse_initiate(body));
    BOOST_TEST(text.rfind("truncated XML: ", 0) == 0u, text);
}

BOOST_AUTO_TEST_CASE(malformed_body_says_malformed) {
    const auto text = problem_text(parse_initiate(
        "<InitiateMultipartUploadResult><UploadId>u</Bucket></InitiateMultipartUploadResult>"));
    BOOST_TEST(text.rfind("malformed XML: ", 0) == 0u, text);
}

BOOST_DATA_TEST_CASE(doctype_is_refused,
                     bdata::make({std::string{billion_laughs}, std::string{external_entity},
                                  std::string{doctype_only_no_subset}}),
                     body) {
    BOOST_TEST(problem_text(parse_initiate(body)) == "DOCTYPE not allowed");
    BOOST_TEST(problem_text(parse_list_parts(body)) == "DOCTYPE not allowed");
}

BOOST_AUTO_TEST_CASE(doctype_in_error_body_is_refused) {
    const auto body = R"(<!DOCTYPE e [<!ENTITY x "InternalError">]><Error><Code>&x;</Code></Error>)";
    BOOST_TEST(problem_text(parse_complete(body)) == "DOCTYPE not allowed");
    BOOST_TEST(!parse_error(body).has_value());
}

BOOST_AUTO_TEST_CASE(size_limit) {
    // A valid document padded with whitespace to exactly the limit is accepted...
    const std::string head =
        "<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>";
    std::string body = head + std::string(max_xml_bytes - head.size(), ' ');
    BOOST_TEST_REQUIRE(body.size() == max_xml_bytes);
    BOOST_TEST(describe(parse_initiate(body)) == "value");
    // ...and one byte more is refused before parsing.
    body += ' ';
    BOOST_TEST(problem_text(parse_initiate(body)) ==
               "response body too large: 4194305 bytes (limit 4194304)");
    BOOST_TEST(!parse_error(std::string{no_such_upload_example} + body).has_value());
}

BOOST_AUTO_TEST_CASE(embedded_nul_does_not_crash) {
    using namespace std::string_literals;
    const auto body =
        "<InitiateMultipartUploadResult><UploadId>a\0b</UploadId></InitiateMultipartUploadResult>"s;
    // pugixml stops reading text at a NUL, so the tags no longer match.
    const auto text = problem_text(parse_initiate(body));
    BOOST_TEST(text.rfind("malformed XML: ", 0) == 0u, text);
}

// --- complete_body and xml_escape --------------------------------------------

BOOST_AUTO_TEST_CASE(complete_body_exact_text) {
    const auto body = complete_body({{1, "\"abc\"", "AAAAAA=="}, {2, "\"def\"", ""}});
    BOOST_TEST(body ==
               R"(<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
               "<Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag>"
               "<ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part>"
               "<Part><PartNumber>2</PartNumber><ETag>&quot;def&quot;</ETag></Part>"
               "</CompleteMultipartUpload>");
}

BOOST_AUTO_TEST_CASE(complete_body_escapes_hostile_etag) {
    const auto body = complete_body({{10000, "</ETag><x>&'", "a<b"}});
    BOOST_TEST(contains(body, "<ETag>&lt;/ETag&gt;&lt;x&gt;&amp;&apos;</ETag>"));
    BOOST_TEST(contains(body, "<ChecksumCRC32C>a&lt;b</ChecksumCRC32C>"));
    BOOST_TEST(contains(body, "<PartNumber>10000</PartNumber>"));
}

namespace {
struct bad_parts {
    std::vector<completed_part> parts;
    std::string label;
};
std::ostream& operator<<(std::ostream& os, const bad_parts& b) { return os << b.label; }
} // namespace

BOOST_DATA_TEST_CASE(complete_body_rejects_bad_part_lists,
                     bdata::make(std::vector<bad_parts>{
                         {{}, "empty"},
                         {{{0, "e", ""}}, "part 0"},
                         {{{10001, "e", ""}}, "part 10001"},
                         {{{2, "e", ""}, {1, "e", ""}}, "descending"},
                         {{{1, "e", ""}, {1, "e", ""}}, "duplicate"},
                         {{{1, "e", ""}, {3, "e", ""}, {2, "e", ""}}, "out of order later"},
                         {{{1, "", ""}}, "empty etag"},
                     }),
                     sample) {
    BOOST_CHECK_THROW(complete_body(sample.parts), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(complete_body_allows_gaps) {
    // Gaps are legal in S3 (parts 1, 3, 7); only the order is an invariant.
    const auto body = complete_body({{1, "a", ""}, {3, "b", ""}, {7, "c", ""}});
    BOOST_TEST(contains(body, "<PartNumber>7</PartNumber><ETag>c</ETag></Part>"));
}

BOOST_AUTO_TEST_CASE(complete_body_round_trips_through_pugixml_rules) {
    // The escaped body must itself be an XML document our loader accepts: its
    // root is not a result element, so the problem names it rather than the syntax.
    const auto body = complete_body({{1, "\"<&>\"", ""}});
    BOOST_TEST(problem_text(parse_complete(body)) ==
               "unexpected root element <CompleteMultipartUpload>, expected "
               "<CompleteMultipartUploadResult>");
}

BOOST_AUTO_TEST_CASE(xml_escape_each_character) {
    BOOST_TEST(xml_escape("") == "");
    BOOST_TEST(xml_escape("plain-text_123") == "plain-text_123");
    BOOST_TEST(xml_escape("&") == "&amp;");
    BOOST_TEST(xml_escape("<") == "&lt;");
    BOOST_TEST(xml_escape(">") == "&gt;");
    BOOST_TEST(xml_escape("\"") == "&quot;");
    BOOST_TEST(xml_escape("'") == "&apos;");
    BOOST_TEST(xml_escape("a&&b") == "a&amp;&amp;b");
    BOOST_TEST(xml_escape("\xe2\x98\xba") == "\xe2\x98\xba");  // UTF-8 passes through
}

BOOST_AUTO_TEST_CASE(delete_result_lists_failures) {
    auto parsed = parse_delete_result(
        R"(<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
        R"(<Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code><Message>Access Denied</Message>)"
        R"(</Error></DeleteResult>)");
    auto* r = std::get_if<delete_result>(&parsed);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->deleted == 1u);
    BOOST_REQUIRE(r->errors.size() == 1u);
    BOOST_TEST(r->errors[0].key == "b");
    BOOST_TEST(r->errors[0].code == "AccessDenied");
    auto quiet = parse_delete_result(R"(<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>)");
    BOOST_REQUIRE(std::get_if<delete_result>(&quiet));
    BOOST_TEST(std::get<delete_result>(quiet).errors.empty());
    BOOST_TEST(std::holds_alternative<xml_problem>(parse_delete_result("<DeleteResult><Error><Code>X</Code></Error></DeleteResult>")));
    BOOST_TEST(std::holds_alternative<s3_error>(parse_delete_result("<Error><Code>SlowDown</Code></Error>")));
}

BOOST_AUTO_TEST_SUITE_END()
