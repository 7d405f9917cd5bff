// Byte-level helpers of Signature V4: RFC 3986 percent-encoding as AWS defines
// it, hex, SHA-256 and HMAC-SHA256 (OpenSSL). Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hoist::sigv4 {

// Percent-encodes every byte except the unreserved set A-Z a-z 0-9 - . _ ~
// (and '/' when keep_slash), with uppercase hex: the encoding SigV4 and S3 use
// for object keys (keep_slash) and query names and values (not).
std::string uri_encode(std::string_view text, bool keep_slash);

// Decodes %XX escapes; '+' stays '+' (S3 keys may contain it). Returns nullopt
// for a malformed escape ("%G1", a trailing "%").
std::optional<std::string> uri_decode(std::string_view text);

using sha256_digest = std::array<std::uint8_t, 32>;

sha256_digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
sha256_digest hmac_sha256(std::string_view key, std::string_view data);
std::string hex(const std::uint8_t* data, std::size_t size);
inline std::string hex(const sha256_digest& d) { return hex(d.data(), d.size()); }

// Standard base64 with padding (RFC 4648), as S3's checksum and Content-MD5
// headers carry digests.
std::string base64_encode(const std::uint8_t* data, std::size_t size);
// Strict decode; nullopt for bad characters or padding.
std::optional<std::string> base64_decode(std::string_view text);

inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";
// SHA-256 of the empty string.
inline constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

} // namespace hoist::sigv4
