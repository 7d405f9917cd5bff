// File names and object keys of the presign service: what a client's file
// name becomes in the bucket. Keys are PREFIX/USER/USER_UNIXMS_SANITIZEDNAME;
// uniqueFileName is the last segment.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::protocol {

struct service_config;

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
// PREFIX/USER/, or USER/ for an empty prefix: where all of a user's uploads live.
std::string user_key_prefix(std::string_view prefix, std::string_view user);
// PREFIX/USER/USER_UNIXMS_SANITIZED, or USER/... for an empty prefix.
std::string make_object_key(std::string_view prefix, std::string_view user, std::int64_t unix_ms,
                            std::string_view sanitized);
// The last path segment of a key (uniqueFileName of an existing upload).
std::string_view key_file_name(std::string_view key);

} // namespace hoist::protocol
