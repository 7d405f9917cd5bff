// The presign service's wire format, typed once for both sides: `hoist serve`
// parses the requests and renders the answers with these functions, and the
// `--via` client renders the requests and parses the answers with the same
// ones, so each message's field names are written in one place (wire.cpp).
//
// One endpoint, POST /v1/presigned-upload (config "api_path"), with a JSON body
// whose "action" chooses the operation (field names are the product's contract):
//
//   start       {"action":"start","fileName","fileSize","totalParts"?,"contentType"?}
//            -> {"uploadId","s3Key","uniqueFileName","presignedUrls":[{"partNumber","url"}],
//                "uploadToken","partSize","expiresAt"}
//   start       {"action":"start","fileName","totalParts","contentType"?}     (no fileSize: the product's form)
//            -> {"uploadId","s3Key","uniqueFileName","presignedUrls":["url of part 1",...],
//                "uploadToken","expiresAt"}
//   complete    {"action":"complete","uploadId","s3Key","uploadToken"?,"parts":[{"PartNumber","ETag"}]}
//            -> {"success":true,"uniqueFileName","location","etag","size"}
//   abort       {"action":"abort","uploadId","s3Key","uploadToken"?}
//            -> {"success":true,"message":"Upload aborted"}
//   presign     {"action":"presign","uploadId","s3Key","uploadToken"?,"partNumbers":[21,22]}
//            -> {"presignedUrls":[...],"expiresAt"}
//   list-parts  {"action":"list-parts","uploadId","s3Key","uploadToken"?}
//            -> {"parts":[{"PartNumber","ETag","Size"}]}
//   single      {"action":"single","fileName","fileSize","contentType"?}
//            -> {"url","s3Key","uniqueFileName","uploadToken","expiresAt"}
//   any error   -> {"error":{"code","message"}} with the api_error's HTTP status
//
// The proxied part (PUT /v1/uploads/{uploadId}/parts/{n}, see proxy_route.hpp)
// answers {"PartNumber","ETag"}; GET /healthz answers {"status":"ok"}.
//
// With fileSize (hoist's own form, `hoist cp --via`), the service decides the
// part layout: plan_parts(fileSize, config.part_size). A client's totalParts is
// then a consistency check, refused (400 part_count_mismatch, the message gives
// the plan) when it differs. Start presigns at most config.url_batch parts;
// "presign" issues the rest.
//
// Without fileSize (the product's own frontend: it cuts the file itself and
// has no "presign more" step), totalParts (1..10000) is the layout and start
// presigns every part at once, as plain URL strings (index i is part i+1).
// The answer's size is bounded by S3's own 10,000-part limit times one URL,
// whose length the service bounds (key_prefix <= 512 ASCII bytes, user <= 64,
// the name <= 255 bytes of UTF-8, percent-encoded at most 3x): about 2 KB at
// the very worst, so an answer stays under ~20 MB, rendered once per start by
// an authenticated caller. No size means max_file_size cannot be checked
// here; S3 itself enforces the part sizes (5 MiB..5 GiB, the last part
// smaller) at CompleteMultipartUpload, and the service still enforces the
// name, the extension allow-list, the key prefix, the URLs' lifetime, and
// (400 file_too_large) a totalParts whose smallest completable object,
// (totalParts - 1) x 5 MiB, is above max_file_size.
//
// uploadToken is optional after start: without it a call is authorised by the
// key prefix alone (see authorize_upload in auth.hpp); with it, the token must
// verify as before.
//
// expiresAt is an ISO 8601 UTC time with milliseconds, as JavaScript's
// Date.prototype.toISOString writes it: "2024-05-01T12:00:00.000Z".
//
// Unknown fields are ignored on both sides (either side may send more than
// the contract). The service's request errors are api_errors (HTTP 4xx) whose
// messages name the field ("parts[3].ETag must not be empty"); the client's
// answer errors are wire_errors naming the answer and the field ("start
// answer: presignedUrls[2].url: expected a string").
#pragma once

#include "hoist/protocol/s3/part_plan.hpp"
#include "hoist/protocol/s3/xml.hpp"   // completed_part, part_info

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hoist::protocol {

struct service_config;

// The JSON API's default path (config "api_path" moves it).
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
inline constexpr std::string_view payload_too_large = "payload_too_large";       // 413: body above max_body_bytes, a part above 5 GiB
inline constexpr std::string_view length_required = "length_required";           // 411: a proxied part without Content-Length
inline constexpr std::string_view unauthorized = "unauthorized";                 // 401: missing or unknown bearer token
inline constexpr std::string_view invalid_upload_token = "invalid_upload_token"; // 403: malformed, forged or not this upload's
inline constexpr std::string_view upload_token_expired = "upload_token_expired"; // 403
inline constexpr std::string_view not_found = "not_found";                       // 404: no such route
inline constexpr std::string_view no_such_upload = "no_such_upload";             // 404: completed or aborted
inline constexpr std::string_view incomplete_body = "incomplete_body";           // 400: a proxied part ended before its Content-Length
inline constexpr std::string_view storage_error = "storage_error";               // 502: the storage refused or failed
// Refused by the HTTP layer before routing (hoist serve's request handling):
inline constexpr std::string_view bad_request = "bad_request";                   // 400: an unparseable request head or framing
inline constexpr std::string_view origin_not_allowed = "origin_not_allowed";     // 403: a CORS preflight from an origin not in cors_origins
inline constexpr std::string_view method_not_allowed = "method_not_allowed";     // 405: a known path, another method (see Allow)
inline constexpr std::string_view request_timeout = "request_timeout";           // 408: the body went silent
inline constexpr std::string_view header_too_large = "header_too_large";         // 431
inline constexpr std::string_view http_version_not_supported = "http_version_not_supported"; // 505
} // namespace api_code

// {"error":{"code":CODE,"message":MESSAGE}}
std::string error_json(const api_error& error);
// The api_error (with `http_status`) of a failed call's body, or nullopt when
// the body is not {"error":{"code":STRING,"message":STRING}}.
std::optional<api_error> parse_error_response(std::string_view body, int http_status);

// A service answer the client cannot use: not JSON, or a field missing or of
// the wrong type. The message names the answer and the field.
class wire_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// ---- requests, as the client sends them -----------------------------------

// What every call after start names: the upload and its token (empty: not
// sent; the call is then authorised by the key prefix alone).
struct upload_ref {
    std::string upload_id;
    std::string s3_key;
    std::string upload_token;
};

// Start and single carry the raw (unsanitised) file name; an empty
// content_type is left out (the service then uses application/octet-stream).
struct start_request {
    std::string file_name;
    std::uint64_t file_size = 0;
    std::string content_type;
    std::optional<std::uint32_t> total_parts;
};

// Start without fileSize: the client's own layout of total_parts parts.
struct start_parts_request {
    std::string file_name;
    std::uint32_t total_parts = 0;        // 1..10000
    std::string content_type;
};

struct single_request {
    std::string file_name;
    std::uint64_t file_size = 0;
    std::string content_type;
};

struct presign_request {
    upload_ref upload;
    std::vector<std::uint32_t> part_numbers;  // 1..url_batch entries, each 1..10000, distinct, client order
};

struct complete_request {
    upload_ref upload;
    std::vector<completed_part> parts;    // 1..10000 entries, part numbers strictly ascending, ETags non-empty
};

struct abort_request {
    upload_ref upload;
};

struct list_parts_request {
    upload_ref upload;
};

// {"action":...} bodies for POST /v1/presigned-upload.
std::string request_json(const start_request& r);
std::string request_json(const start_parts_request& r);
std::string request_json(const single_request& r);
std::string request_json(const presign_request& r);
std::string request_json(const complete_request& r);
std::string request_json(const abort_request& r);
std::string request_json(const list_parts_request& r);

// ---- requests, as the service accepts them --------------------------------

struct start_req {
    std::string file_name;                // sanitized, extension checked
    std::uint64_t file_size = 0;          // <= max_file_size
    std::string content_type = "application/octet-stream";
    part_plan plan;                       // plan_parts(file_size, config.part_size), == totalParts if given
};

// Start without fileSize: no size to check or plan; every part is presigned.
struct start_parts_req {
    std::string file_name;                // sanitized, extension checked
    std::uint32_t total_parts = 0;        // 1..10000
    std::string content_type = "application/octet-stream";
};

struct single_req {
    std::string file_name;                // sanitized, extension checked
    std::uint64_t file_size = 0;          // <= single_put_max and <= max_file_size
    std::string content_type = "application/octet-stream";
};

// The other requests are accepted as sent, once validated.
using complete_req = complete_request;
using abort_req = abort_request;
using presign_req = presign_request;
using list_parts_req = list_parts_request;

using api_request =
    std::variant<start_req, start_parts_req, complete_req, abort_req, presign_req, list_parts_req, single_req>;

// Parses and validates one request body. Throws api_error: 413
// payload_too_large above max_body_bytes; 400 invalid_json, invalid_request,
// unknown_action, invalid_file_name, extension_not_allowed, file_too_large,
// part_count_mismatch, invalid_parts. Messages name the field ("parts[3].ETag").
// A start with fileSize is a start_req, one without it a start_parts_req, one
// with neither fileSize nor totalParts a 400 invalid_request naming both.
api_request parse_api_request(std::string_view body, const service_config& config);

// The action's name as the client spells it ("list-parts").
std::string_view action_name(const api_request& request);

// Throws api_error 413 payload_too_large when body_bytes > max_body_bytes: for
// the server to call on Content-Length before reading the body.
void check_body_size(std::uint64_t body_bytes, const service_config& config);

// ---- responses ------------------------------------------------------------

// "2024-05-01T12:00:00.000Z"
std::string format_expires_at(std::int64_t unix_seconds);
// An expiresAt ("2024-05-01T12:00:00.000Z"; the fraction may have 0 to 9
// digits and is dropped) back to unix seconds; nullopt if malformed.
std::optional<std::int64_t> parse_expires_at(std::string_view iso);

struct presigned_part {
    std::uint32_t part_number = 0;
    std::string url;
};

struct start_response {
    std::string upload_id;
    std::string s3_key;
    std::string unique_file_name;
    std::vector<presigned_part> presigned_urls;
    std::string upload_token;
    std::uint64_t part_size = 0;
    std::int64_t expires_at = 0;          // unix seconds of the URLs' expiry
};

// The answer to a start without fileSize: every part's URL as a string.
struct start_parts_response {
    std::string upload_id;
    std::string s3_key;
    std::string unique_file_name;
    std::vector<std::string> presigned_urls;   // [i] is part i+1's
    std::string upload_token;
    std::int64_t expires_at = 0;
};

struct complete_response {
    std::string unique_file_name;
    std::string location;
    std::string etag;
    std::uint64_t size = 0;
};

struct abort_response {
    std::string message = "Upload aborted";
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

// The answer to a proxied part (also in its ETag header).
struct proxied_part_response {
    std::uint32_t part_number = 0;
    std::string etag;
};

struct health_response {
    std::string status = "ok";
};

std::string response_json(const start_response& r);
std::string response_json(const start_parts_response& r);
std::string response_json(const complete_response& r);   // {"success":true,...}
std::string response_json(const abort_response& r);      // {"success":true,"message":...}
std::string response_json(const presign_response& r);
std::string response_json(const list_parts_response& r);
std::string response_json(const single_response& r);
std::string response_json(const proxied_part_response& r);
std::string response_json(const health_response& r);
std::string abort_response_json();                        // {"success":true,"message":"Upload aborted"}

// A 2xx answer's body, parsed strictly (every field of the contract present
// and well-typed; unknown fields ignored). Throws wire_error naming the field.
start_response parse_start_response(std::string_view body);
start_parts_response parse_start_parts_response(std::string_view body);
complete_response parse_complete_response(std::string_view body);
abort_response parse_abort_response(std::string_view body);
presign_response parse_presign_response(std::string_view body);
list_parts_response parse_list_parts_response(std::string_view body);
single_response parse_single_response(std::string_view body);
proxied_part_response parse_proxied_part_response(std::string_view body);

} // namespace hoist::protocol
