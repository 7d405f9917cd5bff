// The presign service's wire format: errors, requests and responses of
// POST /v1/presigned-upload.
//
// One endpoint, POST /v1/presigned-upload, with a JSON body whose "action"
// chooses the operation (field names are the product's contract):
//
//   start       {"action":"start","fileName","fileSize","totalParts"?,"contentType"?}
//            -> {"uploadId","s3Key","uniqueFileName","presignedUrls":[{"partNumber","url"}],
//                "uploadToken","partSize","expiresAt"}
//   complete    {"action":"complete","uploadId","s3Key","uploadToken","parts":[{"PartNumber","ETag"}]}
//            -> {"success":true,"uniqueFileName","location","etag","size"}
//   abort       {"action":"abort","uploadId","s3Key","uploadToken"}
//            -> {"success":true,"message":"Upload aborted"}
//   presign     {"action":"presign","uploadId","s3Key","uploadToken","partNumbers":[21,22]}
//            -> {"presignedUrls":[...],"expiresAt"}
//   list-parts  {"action":"list-parts","uploadId","s3Key","uploadToken"}
//            -> {"parts":[{"PartNumber","ETag","Size"}]}
//   single      {"action":"single","fileName","fileSize","contentType"?}
//            -> {"url","s3Key","uniqueFileName","uploadToken","expiresAt"}
//   any error   -> {"error":{"code","message"}} with the api_error's HTTP status
//
// The service decides the part layout: plan_parts(fileSize, config.part_size).
// A client's totalParts is a consistency check, refused (400 part_count_mismatch,
// the message gives the plan) when it differs. Start presigns at most
// config.url_batch parts; "presign" issues the rest.
//
// expiresAt is an ISO 8601 UTC time with milliseconds, as JavaScript's
// Date.prototype.toISOString writes it: "2024-05-01T12:00:00.000Z".
#pragma once

#include "hoist/protocol/s3/part_plan.hpp"
#include "hoist/protocol/s3/xml.hpp"          // completed_part, part_info

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hoist::protocol {

struct service_config;

inline constexpr std::string_view presigned_upload_path = "/v1/presigned-upload";

// ---- errors ---------------------------------------------------------------

// An error answered to the client: HTTP status, a stable machine-readable code
// (one of api_code below) and a one-line message for humans. what() is the
// message. Messages never contain secrets or tokens.
class api_error : public std::runtime_error {
public:
    api_error(int status, std::string code, std::string message)
        : std::runtime_error(message), status(status), code(std::move(code)), message(std::move(message)) {}

    int status;
    std::string code;
    std::string message;
};

namespace api_code {
inline constexpr std::string_view invalid_json = "invalid_json";                 // 400: not JSON, not an object
inline constexpr std::string_view invalid_request = "invalid_request";           // 400: missing/wrong-typed/out-of-range field
inline constexpr std::string_view unknown_action = "unknown_action";             // 400
inline constexpr std::string_view invalid_file_name = "invalid_file_name";       // 400
inline constexpr std::string_view extension_not_allowed = "extension_not_allowed"; // 400
inline constexpr std::string_view file_too_large = "file_too_large";             // 400: above max_file_size / single_put_max
inline constexpr std::string_view part_count_mismatch = "part_count_mismatch";   // 400: totalParts differs from the plan
inline constexpr std::string_view invalid_parts = "invalid_parts";               // 400: complete's parts list
inline constexpr std::string_view payload_too_large = "payload_too_large";       // 413: body above max_body_bytes
inline constexpr std::string_view unauthorized = "unauthorized";                 // 401: missing or unknown bearer token
inline constexpr std::string_view invalid_upload_token = "invalid_upload_token"; // 403: malformed, forged or not this upload's
inline constexpr std::string_view upload_token_expired = "upload_token_expired"; // 403
inline constexpr std::string_view incomplete_body = "incomplete_body";           // 400: a proxied part ended before its Content-Length
} // namespace api_code

// {"error":{"code":CODE,"message":MESSAGE}}
std::string error_json(const api_error& error);

// ---- requests -------------------------------------------------------------

// What every call after start names: the upload and its token.
struct upload_ref {
    std::string upload_id;
    std::string s3_key;
    std::string upload_token;
};

struct start_req {
    std::string file_name;                // sanitized, extension checked
    std::uint64_t file_size = 0;          // <= max_file_size
    std::string content_type = "application/octet-stream";
    part_plan plan;                       // plan_parts(file_size, config.part_size), == totalParts if given
};

struct complete_req {
    upload_ref upload;
    std::vector<completed_part> parts;    // 1..10000 entries, part numbers strictly ascending, ETags non-empty
};

struct abort_req {
    upload_ref upload;
};

struct presign_req {
    upload_ref upload;
    std::vector<std::uint32_t> part_numbers;  // 1..url_batch entries, each 1..10000, distinct, client order
};

struct list_parts_req {
    upload_ref upload;
};

struct single_req {
    std::string file_name;                // sanitized, extension checked
    std::uint64_t file_size = 0;          // <= single_put_max and <= max_file_size
    std::string content_type = "application/octet-stream";
};

using api_request = std::variant<start_req, complete_req, abort_req, presign_req, list_parts_req, single_req>;

// Parses and validates one request body. Throws api_error: 413
// payload_too_large above max_body_bytes; 400 invalid_json, invalid_request,
// unknown_action, invalid_file_name, extension_not_allowed, file_too_large,
// part_count_mismatch, invalid_parts. Unknown fields are ignored (clients may
// send more than the contract). Messages name the field ("parts[3].ETag").
api_request parse_api_request(std::string_view body, const service_config& config);

// The action's name as the client spells it ("list-parts").
std::string_view action_name(const api_request& request);

// Throws api_error 413 payload_too_large when body_bytes > max_body_bytes: for
// the server to call on Content-Length before reading the body.
void check_body_size(std::uint64_t body_bytes, const service_config& config);

// ---- responses ------------------------------------------------------------

struct presigned_part {
    std::uint32_t part_number = 0;
    std::string url;
};

// "2024-05-01T12:00:00.000Z"
std::string format_expires_at(std::int64_t unix_seconds);

struct start_response {
    std::string upload_id;
    std::string s3_key;
    std::string unique_file_name;
    std::vector<presigned_part> presigned_urls;
    std::string upload_token;
    std::uint64_t part_size = 0;
    std::int64_t expires_at = 0;          // unix seconds of the URLs' expiry
};

struct complete_response {
    std::string unique_file_name;
    std::string location;
    std::string etag;
    std::uint64_t size = 0;
};

struct presign_response {
    std::vector<presigned_part> presigned_urls;
    std::int64_t expires_at = 0;
};

struct list_parts_response {
    std::vector<part_info> parts;         // PartNumber, ETag, Size are written
};

struct single_response {
    std::string url;
    std::string s3_key;
    std::string unique_file_name;
    std::string upload_token;
    std::int64_t expires_at = 0;
};

std::string response_json(const start_response& r);
std::string response_json(const complete_response& r);   // {"success":true,...}
std::string response_json(const presign_response& r);
std::string response_json(const list_parts_response& r);
std::string response_json(const single_response& r);
std::string abort_response_json();                        // {"success":true,"message":"Upload aborted"}

} // namespace hoist::protocol
