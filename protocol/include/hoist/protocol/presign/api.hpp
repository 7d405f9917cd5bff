// The pure part of `hoist serve`: a presign service for browser and backend
// uploads. No I/O here: the server reads the config file, the clock and the
// socket, calls S3, and uses these functions for everything else.
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
// config.url_batch parts; "presign" issues the rest. Keys are
// PREFIX/USER/USER_UNIXMS_SANITIZEDNAME; uniqueFileName is the last segment.
//
// Callers authenticate with "Authorization: Bearer TOKEN"; the config holds
// only SHA-256 hashes of the tokens. Every call after start names its upload
// with an uploadToken, an HMAC over (user, key, upload id, expiry) issued at
// start, so one user cannot touch another's upload and nobody can forge a key.
//
// expiresAt is an ISO 8601 UTC time with milliseconds, as JavaScript's
// Date.prototype.toISOString writes it: "2024-05-01T12:00:00.000Z".
#pragma once

#include "hoist/protocol/aws_config.hpp"   // config_error
#include "hoist/protocol/s3/endpoint.hpp"
#include "hoist/protocol/s3/part_plan.hpp"
#include "hoist/protocol/s3/xml.hpp"          // completed_part, part_info
#include "hoist/sigv4/signer.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hoist::protocol {

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

// ---- configuration --------------------------------------------------------

struct listen_address {
    std::string host;          // IPv6 literals without brackets
    std::uint16_t port = 0;    // 0: any free port (tests)
};

struct tls_files {
    std::string cert;          // PEM certificate chain path
    std::string key;           // PEM private key path
};

struct storage_config {
    endpoint ep;                          // "endpoint", else https://s3.REGION.amazonaws.com
    std::string region;
    std::string bucket;
    addressing style = addressing::automatic;  // "path_style": true -> path, false -> virtual_host, absent -> automatic
    std::optional<std::string> ca_bundle;
    // Both or neither; neither: the server resolves AWS env/profile credentials.
    std::optional<std::string> access_key_id;
    std::optional<sigv4::secret_string> secret_access_key;
};

struct bearer_token {
    sigv4::sha256_digest sha256{};        // SHA-256 of the token (config gives it as 64 hex digits)
    std::string user;                     // [A-Za-z0-9_-]{1,64}
};

struct service_config {
    listen_address listen{"127.0.0.1", 8080};
    std::optional<tls_files> tls;
    storage_config storage;
    sigv4::secret_string token_secret;    // HMAC key of upload tokens, >= 32 bytes
    std::vector<bearer_token> tokens;     // non-empty, distinct hashes
    std::string key_prefix = "uploads";   // no leading/trailing '/', may be empty
    std::vector<std::string> allowed_extensions;  // lowercase, no leading dot; empty: all allowed
    std::uint64_t max_file_size = 5 * 1024 * gib;                 // 5 TiB, <= max_object_size
    std::chrono::seconds presign_expiry{3600};                    // 1..604800
    std::uint64_t part_size = 8 * mib;                            // validate_part_size
    std::uint32_t url_batch = 100;                                // 1..10000
    std::uint64_t single_put_max = 8 * mib;                       // 0..5 GiB, inclusive
    std::vector<std::string> cors_origins;                        // exact origins, "https://app.example.com"
    std::uint64_t max_body_bytes = mib;                           // 1 KiB..64 MiB
    std::chrono::seconds upload_token_ttl{7 * 24 * 3600};         // 1 s..365 days
};

// Parses the service's JSON config (comments allowed). Every field is checked
// here, so a bad config fails at start: throws config_error with a message
// "service config: FIELD: why" naming the field ("storage.bucket",
// "tokens[1].sha256", ...). Unknown fields, at any level, are errors. Secret
// values never appear in messages.
//
// {"listen":"127.0.0.1:8080"|"[::1]:8080", "tls":{"cert","key"}?,
//  "storage":{"endpoint"?,"region","bucket","path_style"?,"ca_bundle"?,
//             "access_key_id"?,"secret_access_key"?},
//  "token_secret", "tokens":[{"sha256","user"}], "key_prefix"?, "allowed_extensions"?,
//  "max_file_size"?, "presign_expiry"?, "part_size"?, "url_batch"?, "single_put_max"?,
//  "cors_origins"?, "max_body_bytes"?, "upload_token_ttl"?}
// Sizes are in bytes and durations in seconds, as JSON integers.
service_config parse_service_config(std::string json_text);

// The storage credentials from the config, if it names them.
std::optional<sigv4::credentials> configured_credentials(const storage_config& storage);

// Whether `origin` (the request's Origin header) is one of cors_origins, exactly.
bool origin_allowed(const service_config& config, std::string_view origin);

// ---- file names and keys --------------------------------------------------

// The file name as it goes into the key. Throws api_error 400 invalid_file_name
// for: empty, over 255 bytes, '/', '\\', "..", only dots, control characters
// (below 0x20, 0x7F, and U+0080..U+009F), invalid UTF-8. Keeps A-Z a-z 0-9 . _ -
// and valid non-ASCII UTF-8; replaces any other ASCII character (space,
// punctuation) with '_', and also the invisible Unicode formatting characters
// that can disguise a name (bidi overrides and isolates, zero-width characters,
// U+2028/U+2029, BOM).
std::string sanitize_file_name(std::string_view name);

// Whether the name ends in ".EXT" (ASCII case-insensitive) for one of
// `allowed` (lowercase, no leading dot, may be multi-part like "tar.gz"), with
// at least one character before that dot. An empty list allows everything.
bool extension_allowed(std::string_view file_name, const std::vector<std::string>& allowed);
// Throws api_error 400 extension_not_allowed when !extension_allowed.
void check_extension(std::string_view file_name, const service_config& config);

// USER_UNIXMS_SANITIZED
std::string unique_file_name(std::string_view user, std::int64_t unix_ms, std::string_view sanitized);
// PREFIX/USER/USER_UNIXMS_SANITIZED, or USER/... for an empty prefix.
std::string make_object_key(std::string_view prefix, std::string_view user, std::int64_t unix_ms,
                            std::string_view sanitized);
// The last path segment of a key (uniqueFileName of an existing upload).
std::string_view key_file_name(std::string_view key);

// ---- bearer tokens --------------------------------------------------------

// The user of an "Authorization" header value "Bearer TOKEN" (scheme
// case-insensitive, RFC 6750 token characters), or nullopt: missing scheme,
// empty or malformed token, unknown token. The token's SHA-256 is compared
// with every configured hash in constant time, without an early exit.
std::optional<std::string> user_for_bearer(const service_config& config, std::string_view authorization_header);

// ---- upload tokens --------------------------------------------------------

// "v1.<expiry>.<base64url(HMAC-SHA256(secret, "v1\n"+user+"\n"+key+"\n"+upload_id+"\n"+expiry))>",
// base64url without padding. Single-PUT tokens use upload_id "". Throws
// std::invalid_argument for a negative expiry or a '\n' in user, key or upload id.
std::string sign_upload_token(const sigv4::secret_string& secret, std::string_view user, std::string_view key,
                              std::string_view upload_id, std::int64_t expiry_unix);

enum class token_status { ok, malformed, bad_signature, expired };
std::string_view to_string(token_status);

// malformed: not "v1.<canonical decimal>.<43 base64url chars>". bad_signature:
// the MAC differs (compared with CRYPTO_memcmp) or user/key/upload id contain
// '\n'. expired: genuine, but now_unix >= expiry. The signature is checked
// before the expiry.
token_status verify_upload_token(const sigv4::secret_string& secret, std::string_view token, std::string_view user,
                                 std::string_view key, std::string_view upload_id, std::int64_t now_unix);

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

// api_error 401 unauthorized, for a missing or unknown bearer token.
api_error unauthorized_error();

// Checks that `upload` belongs to `user`: the key lies under PREFIX/USER/ and
// the token verifies for (user, key, upload id). Throws api_error 403
// invalid_upload_token or upload_token_expired.
void require_upload_token(const service_config& config, std::string_view user, const upload_ref& upload,
                          std::int64_t now_unix);

// sign_upload_token with expiry now_unix + config.upload_token_ttl.
std::string issue_upload_token(const service_config& config, std::string_view user, std::string_view key,
                               std::string_view upload_id, std::int64_t now_unix);

// ---- presigning (pure: the signer never reads a clock) --------------------

struct presigned_part {
    std::uint32_t part_number = 0;
    std::string url;
};

// Where `key` lives in the configured bucket.
object_location storage_location(const service_config& config, std::string_view key);

// Parts 1..min(part_count, url_batch): the URLs start hands out.
std::vector<std::uint32_t> initial_part_numbers(const part_plan& plan, std::uint32_t url_batch);

// UploadPart PUT URLs, valid for config.presign_expiry from `date`.
std::vector<presigned_part> presign_parts(const service_config& config, const sigv4::signer& signer,
                                          std::string_view key, std::string_view upload_id,
                                          const std::vector<std::uint32_t>& part_numbers,
                                          const sigv4::amz_date& date);
// A PutObject URL, valid for config.presign_expiry from `date`.
std::string presign_single_put(const service_config& config, const sigv4::signer& signer, std::string_view key,
                               const sigv4::amz_date& date);

// ---- responses ------------------------------------------------------------

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
