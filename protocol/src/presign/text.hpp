// Character classes and small string helpers shared by the presign sources
// (private to protocol/src/presign).
#pragma once

#include "hoist/sigv4/encoding.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::protocol::presign_text {

inline bool is_alnum(char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

inline std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Below 0x20, or 0x7F.
inline bool has_control_char(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f;
    });
}

// Visible ASCII only (0x21..0x7E): upload ids and tokens.
inline bool is_visible_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c > 0x20 && c < 0x7f;
    });
}

// Printable ASCII (0x20..0x7E): header values such as a content type.
inline bool is_printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c >= 0x20 && c < 0x7f;
    });
}

// Spaces and tabs off both ends.
inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

inline std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string s;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) s.append(sep);
        s.append(items[i]);
    }
    return s;
}

// base64url (RFC 4648 section 5) of a MAC, unpadded: 43 characters. The form
// of the upload tokens' and the session cookies' signatures.
inline constexpr std::size_t mac_base64url_chars = 43;
inline std::string base64url(const sigv4::sha256_digest& d) {
    std::string s = sigv4::base64_encode(d.data(), d.size());
    while (!s.empty() && s.back() == '=') s.pop_back();
    for (char& c : s) {
        if (c == '+') c = '-';
        else if (c == '/') c = '_';
    }
    return s;
}
inline bool is_base64url_char(char c) { return is_alnum(c) || c == '-' || c == '_'; }
inline bool is_mac_base64url(std::string_view s) {
    return s.size() == mac_base64url_chars && std::all_of(s.begin(), s.end(), is_base64url_char);
}

// A signed value's expiry as written in it: canonical decimal (digits only,
// no leading zero) that fits an int64; anything else is not one.
inline std::optional<std::int64_t> parse_canonical_expiry(std::string_view s) {
    if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), is_digit) || (s.size() > 1 && s.front() == '0'))
        return std::nullopt;
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

} // namespace hoist::protocol::presign_text
