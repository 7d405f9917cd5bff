// The routes hoist serve offers browsers beside its JSON API: the session
// cookie (session.hpp), Uppy's Companion routes under /s3 (companion.hpp) and
// Uppy's signRequest route (sign_request.hpp). Pure: which route a method and
// path name, for the service's router (engine/serve/src/request_head.cpp).
#pragma once

#include "hoist/protocol/presign/wire.hpp"   // api_error

#include <cstdint>
#include <string>
#include <string_view>

namespace hoist::protocol {

enum class browser_route {
    none,             // not one of these paths
    session_create,   // POST   /v1/session
    session_delete,   // DELETE /v1/session
    sign_request,     // POST   /v1/sign-request
    s3_create,        // POST   /s3/multipart
    s3_list_parts,    // GET    /s3/multipart/{uploadId}
    s3_abort,         // DELETE /s3/multipart/{uploadId}
    s3_sign_part,     // GET    /s3/multipart/{uploadId}/{partNumber}
    s3_complete,      // POST   /s3/multipart/{uploadId}/complete
    s3_params,        // GET    /s3/params
};

struct browser_route_match {
    browser_route route = browser_route::none;   // none also for a known path and another method
    std::string_view name;    // the route template for logs and metrics ("" when the path is unknown)
    std::string_view allow;   // the methods the path takes, for a 405's Allow
};

inline constexpr std::string_view sign_request_path = "/v1/sign-request";

// `method` as on the request line ("GET"); `path` the raw target without its
// query. A known path with another method gives route none with name and
// allow set (405); an unknown path gives an empty name. OPTIONS is left to the
// caller (a CORS preflight anywhere).
browser_route_match match_browser_route(std::string_view method, std::string_view path);

struct service_config;

namespace api_code {
inline constexpr std::string_view forbidden_key = "forbidden";   // 403: a key outside the caller's PREFIX/USER/
inline constexpr std::string_view not_offered = "not_offered";   // 400: a signRequest for an S3 call hoist does not sign
} // namespace api_code

// Checks that `key` is one of `user`'s: it lies under PREFIX/USER/ with a
// non-empty rest, at most 1024 bytes (S3's limit), no control characters, and
// no empty, "." or ".." segment (a browser or proxy normalising the URL's path
// would send another key than the one signed). Throws api_error 403
// forbidden_key; nothing about the storage is looked at.
void require_own_key(const service_config& config, std::string_view user, std::string_view key);

// Whether `id` may be an upload id: 1..1024 visible ASCII bytes, the rule
// the JSON API's uploadId field applies (wire.cpp). S3's ids are base64-like;
// a NUL, CR/LF, space or non-ASCII byte in one is a forged or broken request,
// refused before it is signed into a URL or sent to the storage.
bool is_upload_id(std::string_view id);

// The key hoist chooses for a file a browser proposes: the proposal's last
// path segment ('/' or '\\'), sanitised and extension-checked as the JSON
// API's start (names.hpp), under PREFIX/USER/ with the user and time as there.
// Throws api_error 400 invalid_file_name / extension_not_allowed.
std::string key_for_proposed_name(const service_config& config, std::string_view user, std::int64_t unix_ms,
                                  std::string_view proposed);

// A Content-Type a browser gives for a file: "" becomes
// application/octet-stream; otherwise printable ASCII "type/subtype" with an
// optional ";..." tail, at most 255 bytes. Throws api_error 400 invalid_request
// naming `field`.
std::string checked_content_type(std::string_view type, std::string_view field);

} // namespace hoist::protocol
