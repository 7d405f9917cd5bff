// S3 XML responses, parsed with pugixml. Pure: bytes in, values out.
//
// Every parser returns a `parsed<T>`: the value, the S3 `<Error>` the server sent
// instead (S3 may answer 200 OK with an <Error> body, notably on
// CompleteMultipartUpload), or an `xml_problem` for a body that is not what S3
// sends: truncated, not XML, a DOCTYPE (entity tricks are refused outright),
// larger than `max_xml_bytes`, or missing a required element. Never throws on bad
// input, never crashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hoist::protocol {

// The largest response body any parser accepts. A ListParts page of 1,000 parts
// is about 300 KB; anything beyond this is hostile or broken.
inline constexpr std::size_t max_xml_bytes = 4 * 1024 * 1024;

struct s3_error {
    std::string code;       // e.g. "NoSuchUpload"
    std::string message;
    std::string request_id;
    std::string resource;   // optional in S3's answers
};

struct xml_problem {
    std::string what;       // one line, for the user: "truncated XML: ...", "missing <UploadId>"
};

template <class T>
using parsed = std::variant<T, s3_error, xml_problem>;

struct initiate_result {      // <InitiateMultipartUploadResult>
    std::string bucket;
    std::string key;
    std::string upload_id;    // required
};

struct complete_result {      // <CompleteMultipartUploadResult>
    std::string location;
    std::string bucket;
    std::string key;
    std::string etag;         // required, as sent (quotes kept)
    std::string checksum_crc32c;
};

struct part_info {
    std::uint32_t part_number = 0;
    std::string etag;          // as sent (quotes kept)
    std::uint64_t size = 0;
    std::string last_modified;
    std::string checksum_crc32c;
};

struct list_parts_page {      // <ListPartsResult>
    std::string bucket;
    std::string key;
    std::string upload_id;
    std::vector<part_info> parts;
    bool is_truncated = false;
    std::uint32_t next_part_number_marker = 0;  // meaningful when is_truncated
    std::uint32_t max_parts = 0;
};

struct upload_info {
    std::string key;
    std::string upload_id;
    std::string initiated;
};

struct list_uploads_page {    // <ListMultipartUploadsResult>
    std::string bucket;
    std::vector<upload_info> uploads;
    bool is_truncated = false;
    std::string next_key_marker;
    std::string next_upload_id_marker;
};

struct object_info {          // <Contents> of a ListObjectsV2 page
    std::string key;          // decoded when the page was url-encoded
    std::uint64_t size = 0;
    std::string etag;         // as sent (quotes kept)
    std::string last_modified;// ISO 8601, as sent
};

struct list_objects_page {    // <ListBucketResult> (ListObjectsV2)
    std::string bucket;
    std::vector<object_info> objects;
    bool is_truncated = false;
    std::string next_continuation_token;  // required when is_truncated; opaque, never decoded
};

struct delete_failure {       // <Error> inside <DeleteResult>
    std::string key;          // as sent
    std::string code;         // e.g. "AccessDenied"
    std::string message;
};

struct delete_result {        // <DeleteResult> of a quiet DeleteObjects: only the failures
    std::vector<delete_failure> errors;
    std::uint32_t deleted = 0; // <Deleted> entries (a server that ignores Quiet lists them)
};

// Parses an <Error> document. Returns nullopt when the body is not an <Error>
// root (including empty or malformed bodies).
std::optional<s3_error> parse_error(std::string_view body);

parsed<initiate_result> parse_initiate(std::string_view body);
parsed<complete_result> parse_complete(std::string_view body);
parsed<list_parts_page> parse_list_parts(std::string_view body);
parsed<list_uploads_page> parse_list_uploads(std::string_view body);
parsed<list_objects_page> parse_list_objects(std::string_view body);
parsed<delete_result> parse_delete_result(std::string_view body);

// Request body for CompleteMultipartUpload. Parts must be given in ascending
// part-number order (the caller's invariant; checked, std::invalid_argument if
// not). ETag and checksum text is XML-escaped. A part without a checksum omits
// <ChecksumCRC32C>.
struct completed_part {
    std::uint32_t part_number = 0;
    std::string etag;
    std::string checksum_crc32c;  // base64, or empty
};
std::string complete_body(const std::vector<completed_part>& parts);

// Request body for DeleteObjects in quiet mode: 1..1000 keys (S3's limit;
// std::invalid_argument otherwise), XML-escaped.
std::string delete_objects_body(const std::vector<std::string>& keys);

// Escapes &, <, >, ", ' for XML text and attribute content.
std::string xml_escape(std::string_view text);

} // namespace hoist::protocol
