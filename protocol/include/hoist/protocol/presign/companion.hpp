// Uppy's Companion S3 routes as hoist serve offers them (the `/s3` half of
// @uppy/companion's s3 controller, which @uppy/aws-s3 6 calls in
// companionEndpoint mode): requests parsed and answers rendered, pure.
//
//   POST   /s3/multipart                        {filename, type, metadata?} -> {key, uploadId, bucket}
//   GET    /s3/multipart/{uploadId}/{n}?key=K   -> {url, expires}
//   GET    /s3/multipart/{uploadId}?key=K       -> [{PartNumber, ETag, Size}]
//   POST   /s3/multipart/{uploadId}/complete?key=K  {parts:[{PartNumber, ETag}]} -> {location, key, bucket}
//   DELETE /s3/multipart/{uploadId}?key=K       -> {}
//   GET    /s3/params?filename=F&type=T         -> {method:"POST", url, fields, expires}
//
// Errors are the service's own {"error":{"code","message"}} (Uppy reads only
// the status). Uppy builds queries with URLSearchParams, so '+' in a query
// is a space; ids in the path are percent-decoded.
#pragma once

#include "hoist/protocol/presign/browser_routes.hpp"
#include "hoist/protocol/s3/xml.hpp"   // completed_part, part_info
#include "hoist/sigv4/post_policy.hpp"
#include "hoist/sigv4/signer.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::protocol {

struct service_config;

// What the target of an /s3 route names. Which fields are set depends on the route.
struct companion_target {
    std::string upload_id;          // list_parts, abort, sign_part, complete: non-empty
    std::uint32_t part_number = 0;  // sign_part: 1..10000
    std::string key;                // every route but create and params: non-empty
    std::string filename;           // params: non-empty
    std::string type;               // params: as given ("" when absent)
};

// Throws api_error 400 invalid_request: a malformed percent-encoding, a
// missing or empty key/filename, a parameter given twice, a part number that
// is not a decimal 1..10000. Other query parameters (metadata[...]) are ignored.
companion_target parse_companion_target(browser_route route, std::string_view target);

struct companion_create {
    std::string filename;   // as proposed, non-empty
    std::string type;       // checked_content_type
};
// {"filename": string, "type": string?, "metadata": object?}. Throws api_error
// 400 invalid_json / invalid_request.
companion_create parse_companion_create(std::string_view body);

// {"parts":[{"PartNumber": 1..10000, "ETag": non-empty string}, ...]}: 1..10000
// parts, returned in ascending part number (Uppy lists them in the order they
// finished); a number given twice is refused. Throws api_error 400
// invalid_json / invalid_parts.
std::vector<completed_part> parse_companion_complete(std::string_view body);

std::string companion_create_json(std::string_view key, std::string_view upload_id, std::string_view bucket);
std::string companion_sign_part_json(std::string_view url, std::int64_t expires_seconds);
std::string companion_parts_json(const std::vector<part_info>& parts);   // a bare array, [] when none
std::string companion_complete_json(std::string_view location, std::string_view key, std::string_view bucket);

// The form for a browser's POST Object of `key` (S3 POST policy, SigV4): the
// policy pins the bucket, the exact key, Content-Type = content_type and a
// content-length-range of 0..min(max_file_size, single_put_max), and expires
// with presign_expiry from `date`. `url` is the bucket's URL with a trailing
// slash (Uppy takes url + key as the object's location).
struct companion_params {
    std::string url;
    std::vector<sigv4::form_field> fields;
    std::int64_t expires_seconds = 0;
};
companion_params companion_post_form(const service_config& config, const sigv4::signer& signer, std::string_view key,
                                     std::string_view content_type, const sigv4::amz_date& date);
std::string companion_params_json(const companion_params& params);

} // namespace hoist::protocol
