// The presign service's configuration (`hoist serve --config FILE`): what it
// listens on, the storage it presigns for, who may call it and its limits.
// Pure: the server reads the file and hands the text to parse_service_config.
#pragma once

#include "hoist/protocol/aws_config.hpp"   // config_error
#include "hoist/protocol/presign/wire.hpp"   // presigned_upload_path
#include "hoist/protocol/s3/endpoint.hpp"
#include "hoist/protocol/s3/part_plan.hpp"
#include "hoist/sigv4/signer.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::protocol {

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
    std::chrono::seconds session_ttl{43200};                      // browser session cookie: 60 s..30 days
    std::string api_path{presigned_upload_path};                  // api_path_error
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
//  "cors_origins"?, "max_body_bytes"?, "upload_token_ttl"?,
//  "session_ttl"?, "api_path"?}
// Sizes are in bytes and durations in seconds, as JSON integers.
service_config parse_service_config(std::string json_text);

// What is wrong with a JSON API path (config "api_path", `hoist serve
// --api-path`; configurable so an existing frontend keeps its URL), or
// nullopt when it is valid: '/' followed by 1..255 bytes of segments of
// A-Z a-z 0-9 . _ - ~ separated by single '/' (no query, no fragment, no
// percent-encoding, no trailing '/', no "." or ".." segment: it is matched
// byte for byte against the request's path, so only unambiguous spellings
// are allowed), and no collision with another route (reserved_paths).
std::optional<std::string> api_path_error(std::string_view path);

// The service's other routes: exact paths, and prefixes ending in '/' under
// which all paths are taken. The api_path may be none of them and lie under
// none of the prefixes (nor name a prefix without its '/').
struct reserved_path {
    std::string_view path;
    bool prefix = false;
};
inline constexpr reserved_path reserved_paths[] = {
    {"/"},                      // the upload page
    {"/healthz"},
    {"/metrics"},
    {"/v1/session"},            // the browser session cookie
    {"/v1/sign-request"},       // Uppy's signRequest mode
    {"/v1/uploads/", true},     // the part proxy
    {"/s3/", true},             // Uppy Companion's routes
    {"/assets/", true},         // the page's assets
};

// The storage credentials from the config, if it names them.
std::optional<sigv4::credentials> configured_credentials(const storage_config& storage);

// Whether `origin` (the request's Origin header) is one of cors_origins, exactly.
bool origin_allowed(const service_config& config, std::string_view origin);

} // namespace hoist::protocol
