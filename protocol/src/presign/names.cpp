// File names and keys of the presign service. See presign/names.hpp.
#include "hoist/protocol/presign/names.hpp"

#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/wire.hpp"   // api_error

#include "text.hpp"

namespace hoist::protocol {

using namespace presign_text;

namespace {

constexpr std::size_t max_file_name_bytes = 255;

[[noreturn]] void name_fail(std::string_view code, std::string message) {
    throw api_error(400, std::string(code), std::move(message));
}

// Decodes one UTF-8 sequence at s[i]; returns its length (0 when invalid:
// overlong, surrogate, above U+10FFFF, truncated) and the code point.
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (b0 < 0x80) { cp = b0; return 1; }
    if (b0 >= 0xc2 && b0 <= 0xdf) { len = 2; cp = b0 & 0x1f; }
    else if (b0 >= 0xe0 && b0 <= 0xef) {
        len = 3; cp = b0 & 0x0f;
        if (b0 == 0xe0) lo = 0xa0;        // no overlongs
        if (b0 == 0xed) hi = 0x9f;        // no surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        len = 4; cp = b0 & 0x07;
        if (b0 == 0xf0) lo = 0x90;        // no overlongs
        if (b0 == 0xf4) hi = 0x8f;        // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const unsigned char b = byte(i + k);
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return 0;
        cp = (cp << 6) | (b & 0x3f);
    }
    return len;
}

// Invisible characters that can make a name display as something else.
bool is_disguising_format_char(char32_t cp) {
    return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

} // namespace

std::string sanitize_file_name(std::string_view name) {
    auto fail = [](std::string why) { name_fail(api_code::invalid_file_name, "fileName " + why); };
    if (name.empty()) fail("is empty");
    if (name.size() > max_file_name_bytes) fail("is longer than 255 bytes");
    if (name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos)
        fail("must not contain '/' or '\\'");
    if (name.find("..") != std::string_view::npos) fail("must not contain '..'");
    if (name.find_first_not_of('.') == std::string_view::npos) fail("must not be only dots");

    std::string out;
    out.reserve(name.size());
    for (std::size_t i = 0; i < name.size();) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) fail("contains a control character");
            out.push_back(is_alnum(static_cast<char>(c)) || c == '.' || c == '_' || c == '-' ? static_cast<char>(c) : '_');
            ++i;
            continue;
        }
        char32_t cp = 0;
        const std::size_t len = decode_utf8(name, i, cp);
        if (len == 0) fail("is not valid UTF-8");
        if (cp <= 0x9f) fail("contains a control character");
        if (is_disguising_format_char(cp))
            out.push_back('_');
        else
            out.append(name.substr(i, len));
        i += len;
    }
    return out;
}

bool extension_allowed(std::string_view file_name, const std::vector<std::string>& allowed) {
    if (allowed.empty()) return true;
    const std::string lower = lowercase(file_name);
    for (const auto& ext : allowed) {
        if (lower.size() <= ext.size() + 1) continue;
        const std::string_view tail = std::string_view(lower).substr(lower.size() - ext.size() - 1);
        if (tail.front() == '.' && tail.substr(1) == lowercase(ext)) return true;
    }
    return false;
}

void check_extension(std::string_view file_name, const service_config& config) {
    if (extension_allowed(file_name, config.allowed_extensions)) return;
    std::vector<std::string> dotted;
    for (const auto& e : config.allowed_extensions) dotted.push_back("." + e);
    name_fail(api_code::extension_not_allowed,
              "this file type is not accepted; allowed extensions: " + join(dotted, ", "));
}

std::string unique_file_name(std::string_view user, std::int64_t unix_ms, std::string_view sanitized) {
    std::string s(user);
    s.append("_").append(std::to_string(unix_ms)).append("_").append(sanitized);
    return s;
}

std::string user_key_prefix(std::string_view prefix, std::string_view user) {
    std::string s;
    if (!prefix.empty()) s.append(prefix).append("/");
    s.append(user).append("/");
    return s;
}

std::string make_object_key(std::string_view prefix, std::string_view user, std::int64_t unix_ms,
                            std::string_view sanitized) {
    return user_key_prefix(prefix, user) + unique_file_name(user, unix_ms, sanitized);
}

std::string_view key_file_name(std::string_view key) {
    auto slash = key.rfind('/');
    return slash == std::string_view::npos ? key : key.substr(slash + 1);
}

} // namespace hoist::protocol
