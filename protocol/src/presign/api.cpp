// The pure part of `hoist serve`. See presign_api.hpp for the contract.
#include "hoist/protocol/presign/api.hpp"

#include "hoist/protocol/s3/requests.hpp"
#include "hoist/sigv4/encoding.hpp"

#include <boost/json.hpp>
#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <type_traits>

namespace hoist::protocol {

namespace json = boost::json;

namespace {

constexpr std::size_t max_file_name_bytes = 255;
constexpr std::size_t max_key_bytes = 1024;           // S3's limit on object keys
constexpr std::size_t max_key_prefix_bytes = 512;
constexpr std::size_t max_upload_id_bytes = 1024;
constexpr std::size_t max_upload_token_bytes = 512;
constexpr std::size_t max_etag_bytes = 1024;
constexpr std::size_t max_content_type_bytes = 255;
constexpr std::size_t max_bearer_bytes = 4096;
constexpr std::size_t max_user_bytes = 64;
constexpr std::size_t token_signature_chars = 43;     // base64url of 32 bytes, unpadded
constexpr std::int64_t max_upload_token_ttl = 365ll * 24 * 3600;
constexpr std::uint64_t min_body_limit = 1024;
constexpr std::uint64_t max_body_limit = 64 * mib;

bool is_alnum(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

bool has_control_char(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f;
    });
}

// Visible ASCII only (0x21..0x7E): upload ids and tokens.
bool is_visible_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c > 0x20 && c < 0x7f;
    });
}

bool is_user_name(std::string_view s) {
    return !s.empty() && s.size() <= max_user_bytes &&
           std::all_of(s.begin(), s.end(), [](char c) {
               return is_alnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
           });
}

// RFC 7230 tchar.
bool is_tchar(char c) {
    return is_alnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
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

std::string base64url(const sigv4::sha256_digest& d) {
    std::string s = sigv4::base64_encode(d.data(), d.size());
    while (!s.empty() && s.back() == '=') s.pop_back();
    for (char& c : s) {
        if (c == '+') c = '-';
        else if (c == '/') c = '_';
    }
    return s;
}

bool is_base64url_char(char c) { return is_alnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

std::string token_mac_input(std::string_view user, std::string_view key, std::string_view upload_id,
                            std::string_view expiry) {
    std::string s = "v1\n";
    s.append(user).append("\n").append(key).append("\n").append(upload_id).append("\n").append(expiry);
    return s;
}

bool has_newline(std::string_view s) { return s.find('\n') != std::string_view::npos; }

std::string user_key_prefix(std::string_view prefix, std::string_view user) {
    std::string s;
    if (!prefix.empty()) s.append(prefix).append("/");
    s.append(user).append("/");
    return s;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string s;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) s.append(sep);
        s.append(items[i]);
    }
    return s;
}

std::string_view kind_name(const json::value& v) {
    switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
    }
    return "a value";
}

// A non-negative JSON integer, or nullopt (negative, fractional, not a number).
std::optional<std::uint64_t> as_uint(const json::value& v) {
    if (v.is_uint64()) return v.get_uint64();
    if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
    return std::nullopt;
}

// ---- config parsing --------------------------------------------------------

[[noreturn]] void config_fail(std::string_view field, std::string_view why) {
    throw config_error("service config: " + std::string(field) + ": " + std::string(why));
}

// One JSON object of the config, with the dotted path of its fields.
class config_object {
public:
    config_object(const json::object& o, std::string path) : o_(o), path_(std::move(path)) {}

    std::string field(std::string_view name) const {
        return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
    }

    void reject_unknown(std::initializer_list<std::string_view> known) const {
        for (const auto& kv : o_) {
            if (std::find(known.begin(), known.end(), kv.key()) != known.end()) continue;
            std::string list;
            for (auto k : known) list.append(list.empty() ? "" : ", ").append(k);
            config_fail(field(kv.key()), "unknown field (known fields here: " + list + ")");
        }
    }

    // Absent or null: nullptr.
    const json::value* get(std::string_view name) const {
        const json::value* v = o_.if_contains(name);
        return v && !v->is_null() ? v : nullptr;
    }

    std::optional<std::string> str(std::string_view name) const {
        const json::value* v = get(name);
        if (!v) return std::nullopt;
        if (!v->is_string()) config_fail(field(name), "must be a string, not " + std::string(kind_name(*v)));
        return std::string(v->get_string());
    }

    std::string required_str(std::string_view name) const {
        auto s = str(name);
        if (!s) config_fail(field(name), "is required");
        if (s->empty()) config_fail(field(name), "must not be empty");
        return *s;
    }

    std::optional<std::uint64_t> uint(std::string_view name, std::uint64_t lo, std::uint64_t hi) const {
        const json::value* v = get(name);
        if (!v) return std::nullopt;
        auto n = as_uint(*v);
        if (!n || *n < lo || *n > hi)
            config_fail(field(name), "must be a whole number from " + std::to_string(lo) + " to " +
                                         std::to_string(hi) + (v->is_number() ? "" : ", not " + std::string(kind_name(*v))));
        return n;
    }

    std::optional<bool> boolean(std::string_view name) const {
        const json::value* v = get(name);
        if (!v) return std::nullopt;
        if (!v->is_bool()) config_fail(field(name), "must be true or false, not " + std::string(kind_name(*v)));
        return v->get_bool();
    }

    const json::object* object(std::string_view name) const {
        const json::value* v = get(name);
        if (!v) return nullptr;
        if (!v->is_object()) config_fail(field(name), "must be an object, not " + std::string(kind_name(*v)));
        return &v->get_object();
    }

    const json::array* array(std::string_view name) const {
        const json::value* v = get(name);
        if (!v) return nullptr;
        if (!v->is_array()) config_fail(field(name), "must be an array, not " + std::string(kind_name(*v)));
        return &v->get_array();
    }

    std::vector<std::string> string_list(std::string_view name) const {
        std::vector<std::string> out;
        const json::array* a = array(name);
        if (!a) return out;
        for (std::size_t i = 0; i < a->size(); ++i) {
            const json::value& v = (*a)[i];
            if (!v.is_string())
                config_fail(field(name) + "[" + std::to_string(i) + "]",
                            "must be a string, not " + std::string(kind_name(v)));
            out.emplace_back(v.get_string());
        }
        return out;
    }

private:
    const json::object& o_;
    std::string path_;
};

listen_address parse_listen(std::string_view text) {
    constexpr std::string_view field = "listen";
    constexpr std::string_view expected = "; expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080";
    if (text.empty()) config_fail(field, std::string("is empty") + std::string(expected));
    listen_address out;
    std::string_view port;
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) config_fail(field, std::string("has no closing ']'") + std::string(expected));
        std::string_view host = text.substr(1, close - 1);
        if (host.empty() || host.find(':') == std::string_view::npos ||
            !std::all_of(host.begin(), host.end(), [](char c) { return is_hex(c) || c == ':' || c == '.'; }))
            config_fail(field, "the bracketed host is not an IPv6 address");
        std::string_view rest = text.substr(close + 1);
        if (rest.empty() || rest.front() != ':') config_fail(field, std::string("has no :PORT") + std::string(expected));
        out.host = std::string(host);
        port = rest.substr(1);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) config_fail(field, std::string("has no :PORT") + std::string(expected));
        std::string_view host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos)
            config_fail(field, "IPv6 addresses must be in brackets, e.g. [::1]:8080");
        if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
                return is_alnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
            }))
            config_fail(field, std::string("the host must be a host name or an IP address") + std::string(expected));
        out.host = std::string(host);
        port = text.substr(colon + 1);
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit) || ec != std::errc() ||
        end != port.data() + port.size() || value > 65535)
        config_fail(field, "the port must be a number from 0 to 65535");
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

storage_config parse_storage(const config_object& s) {
    s.reject_unknown({"endpoint", "region", "bucket", "path_style", "ca_bundle", "access_key_id", "secret_access_key"});
    storage_config out;
    out.region = s.required_str("region");
    if (out.region.size() > 64 || !std::all_of(out.region.begin(), out.region.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-';
        }))
        config_fail(s.field("region"), "must be lowercase letters, digits and '-' (e.g. us-east-1)");

    if (auto url = s.str("endpoint")) {
        try {
            out.ep = parse_endpoint(*url);
        } catch (const address_error& e) {
            config_fail(s.field("endpoint"), e.what());
        }
    } else {
        out.ep = aws_endpoint(out.region);
    }

    out.bucket = s.required_str("bucket");
    try {
        validate_bucket_name(out.bucket);
    } catch (const address_error& e) {
        config_fail(s.field("bucket"), e.what());
    }

    if (auto path = s.boolean("path_style")) out.style = *path ? addressing::path : addressing::virtual_host;
    try {
        (void)locate(out.ep, out.bucket, "", out.style);
    } catch (const address_error& e) {
        config_fail(s.field("path_style"), e.what());
    }

    if (auto ca = s.str("ca_bundle")) {
        if (ca->empty()) config_fail(s.field("ca_bundle"), "must not be empty (leave it out for the system store)");
        out.ca_bundle = std::move(*ca);
    }

    auto id = s.str("access_key_id");
    auto secret = s.str("secret_access_key");
    if (id.has_value() != secret.has_value())
        config_fail(s.field(id ? "secret_access_key" : "access_key_id"),
                    "access_key_id and secret_access_key go together: give both, or neither to use the "
                    "AWS environment or profile");
    if (id) {
        if (id->empty() || has_control_char(*id)) config_fail(s.field("access_key_id"), "must be a non-empty key id");
        if (secret->empty()) config_fail(s.field("secret_access_key"), "must not be empty");
        out.access_key_id = std::move(*id);
        out.secret_access_key = sigv4::secret_string(std::move(*secret));
    }
    return out;
}

std::vector<bearer_token> parse_tokens(const config_object& root) {
    const json::array* a = root.array("tokens");
    if (!a) config_fail("tokens", "is required: a list of {\"sha256\": HEX, \"user\": NAME}");
    if (a->empty()) config_fail("tokens", "must list at least one token");
    std::vector<bearer_token> out;
    for (std::size_t i = 0; i < a->size(); ++i) {
        const std::string path = "tokens[" + std::to_string(i) + "]";
        const json::value& v = (*a)[i];
        if (!v.is_object()) config_fail(path, "must be an object, not " + std::string(kind_name(v)));
        config_object t(v.get_object(), path);
        t.reject_unknown({"sha256", "user"});
        bearer_token tok;
        // Never echo the value: an operator may have pasted the token itself.
        std::string hex = t.required_str("sha256");
        if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), is_hex))
            config_fail(t.field("sha256"),
                        "must be the SHA-256 of the token as 64 hex digits (printf %s TOKEN | sha256sum)");
        for (std::size_t k = 0; k < 32; ++k) {
            unsigned byte = 0;
            std::from_chars(hex.data() + 2 * k, hex.data() + 2 * k + 2, byte, 16);
            tok.sha256[k] = static_cast<std::uint8_t>(byte);
        }
        tok.user = t.required_str("user");
        if (!is_user_name(tok.user)) config_fail(t.field("user"), "must be 1 to 64 characters of A-Z a-z 0-9 _ -");
        for (std::size_t j = 0; j < out.size(); ++j)
            if (out[j].sha256 == tok.sha256)
                config_fail(t.field("sha256"), "the same token hash is already given in tokens[" + std::to_string(j) + "]");
        out.push_back(std::move(tok));
    }
    return out;
}

void validate_key_prefix(std::string_view prefix) {
    constexpr std::string_view field = "key_prefix";
    if (prefix.empty()) return;
    if (prefix.size() > max_key_prefix_bytes) config_fail(field, "must be at most 512 bytes");
    if (prefix.front() == '/' || prefix.back() == '/') config_fail(field, "must not start or end with '/'");
    std::size_t start = 0;
    while (start <= prefix.size()) {
        auto slash = prefix.find('/', start);
        std::string_view seg = prefix.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (seg.empty()) config_fail(field, "must not contain '//'");
        if (seg == "." || seg == "..") config_fail(field, "must not contain '.' or '..' segments");
        if (!std::all_of(seg.begin(), seg.end(), [](char c) {
                return is_alnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
            }))
            config_fail(field, "must be segments of A-Z a-z 0-9 . _ - separated by '/'");
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
}

std::string normalize_extension(std::string_view ext, const std::string& field) {
    if (!ext.empty() && ext.front() == '.') ext.remove_prefix(1);
    if (ext.empty()) config_fail(field, "must not be empty");
    if (ext.front() == '.' || ext.back() == '.' || ext.find("..") != std::string_view::npos ||
        !std::all_of(ext.begin(), ext.end(), [](char c) {
            return is_alnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
        }))
        config_fail(field, "must be an extension like \"safetensors\" or \".tar.gz\" (A-Z a-z 0-9 . _ -)");
    return lowercase(ext);
}

void validate_origin(const std::string& origin, const std::string& field) {
    if (origin == "*") config_fail(field, "must be an exact origin such as https://app.example.com; '*' is not allowed");
    std::string canonical;
    try {
        canonical = parse_endpoint(origin).origin();
    } catch (const address_error&) {
        config_fail(field, "'" + origin + "' is not an origin (scheme://host[:port])");
    }
    if (canonical != origin)
        config_fail(field, "'" + origin + "' must be written exactly as browsers send it: '" + canonical +
                               "' (lowercase, default port omitted, no path or trailing '/')");
}

// ---- request parsing -------------------------------------------------------

[[noreturn]] void request_fail(std::string_view code, std::string message, int status = 400) {
    throw api_error(status, std::string(code), std::move(message));
}

class request_object {
public:
    explicit request_object(const json::object& o) : o_(o) {}

    const json::value* get(std::string_view name) const {
        const json::value* v = o_.if_contains(name);
        return v && !v->is_null() ? v : nullptr;
    }

    const json::value& required(std::string_view name) const {
        const json::value* v = get(name);
        if (!v) request_fail(api_code::invalid_request, std::string(name) + " is required");
        return *v;
    }

    std::string string(std::string_view name, std::size_t max_bytes) const {
        const json::value& v = required(name);
        if (!v.is_string())
            request_fail(api_code::invalid_request,
                         std::string(name) + " must be a string, not " + std::string(kind_name(v)));
        std::string s(v.get_string());
        if (s.empty()) request_fail(api_code::invalid_request, std::string(name) + " must not be empty");
        if (s.size() > max_bytes)
            request_fail(api_code::invalid_request,
                         std::string(name) + " must be at most " + std::to_string(max_bytes) + " bytes");
        return s;
    }

    std::uint64_t uint(std::string_view name, std::uint64_t lo, std::uint64_t hi) const {
        return number(required(name), name, lo, hi, api_code::invalid_request);
    }

    std::optional<std::uint64_t> optional_uint(std::string_view name, std::uint64_t lo, std::uint64_t hi) const {
        const json::value* v = get(name);
        if (!v) return std::nullopt;
        return number(*v, name, lo, hi, api_code::invalid_request);
    }

    static std::uint64_t number(const json::value& v, std::string_view name, std::uint64_t lo, std::uint64_t hi,
                                std::string_view code) {
        auto n = as_uint(v);
        if (!n || *n < lo || *n > hi)
            request_fail(code, std::string(name) + " must be a whole number from " + std::to_string(lo) + " to " +
                                   std::to_string(hi) + (v.is_number() ? "" : ", not " + std::string(kind_name(v))));
        return *n;
    }

private:
    const json::object& o_;
};

std::string parse_content_type(const request_object& r) {
    const json::value* v = r.get("contentType");
    if (!v) return "application/octet-stream";
    std::string ct = r.string("contentType", max_content_type_bytes);
    if (!std::all_of(ct.begin(), ct.end(), [](char ch) {
            auto c = static_cast<unsigned char>(ch);
            return c >= 0x20 && c < 0x7f;
        }))
        request_fail(api_code::invalid_request, "contentType must be printable ASCII");
    std::string_view main = trim(std::string_view(ct).substr(0, ct.find(';')));
    auto slash = main.find('/');
    if (slash == std::string_view::npos || !is_token(main.substr(0, slash)) || !is_token(main.substr(slash + 1)))
        request_fail(api_code::invalid_request, "contentType must be a media type like application/octet-stream");
    return ct;
}

std::string parse_file_name(const request_object& r, const service_config& config) {
    const json::value& v = r.required("fileName");
    if (!v.is_string())
        request_fail(api_code::invalid_request, "fileName must be a string, not " + std::string(kind_name(v)));
    std::string name = sanitize_file_name(v.get_string());
    check_extension(name, config);
    return name;
}

std::uint64_t parse_file_size(const request_object& r, const service_config& config) {
    std::uint64_t size = r.uint("fileSize", 0, std::numeric_limits<std::uint64_t>::max());
    if (size > config.max_file_size)
        request_fail(api_code::file_too_large, "fileSize " + std::to_string(size) + " is above this service's limit of " +
                                                   std::to_string(config.max_file_size) + " bytes");
    return size;
}

upload_ref parse_upload_ref(const request_object& r) {
    upload_ref ref;
    ref.upload_id = r.string("uploadId", max_upload_id_bytes);
    if (!is_visible_ascii(ref.upload_id)) request_fail(api_code::invalid_request, "uploadId must be visible ASCII");
    ref.s3_key = r.string("s3Key", max_key_bytes);
    if (has_control_char(ref.s3_key)) request_fail(api_code::invalid_request, "s3Key contains a control character");
    ref.upload_token = r.string("uploadToken", max_upload_token_bytes);
    if (!is_visible_ascii(ref.upload_token)) request_fail(api_code::invalid_request, "uploadToken must be visible ASCII");
    return ref;
}

start_req parse_start(const request_object& r, const service_config& config) {
    start_req req;
    req.file_name = parse_file_name(r, config);
    req.file_size = parse_file_size(r, config);
    auto total = r.optional_uint("totalParts", 1, max_parts);
    req.content_type = parse_content_type(r);
    req.plan = plan_parts(req.file_size, config.part_size);  // file_size <= max_object_size: cannot throw
    if (total && *total != req.plan.part_count)
        request_fail(api_code::part_count_mismatch,
                     "totalParts is " + std::to_string(*total) + " but this service splits " +
                         std::to_string(req.file_size) + " bytes into " + std::to_string(req.plan.part_count) +
                         " parts of " + std::to_string(req.plan.part_size) + " bytes (the last " +
                         std::to_string(req.plan.last_part_size) + " bytes): send totalParts " +
                         std::to_string(req.plan.part_count) + " and cut the file with partSize " +
                         std::to_string(req.plan.part_size));
    return req;
}

complete_req parse_complete(const request_object& r) {
    complete_req req;
    req.upload = parse_upload_ref(r);
    const json::value& v = r.required("parts");
    if (!v.is_array()) request_fail(api_code::invalid_parts, "parts must be an array, not " + std::string(kind_name(v)));
    const json::array& a = v.get_array();
    if (a.empty()) request_fail(api_code::invalid_parts, "parts must list at least one part");
    if (a.size() > max_parts)
        request_fail(api_code::invalid_parts, "parts lists " + std::to_string(a.size()) +
                                                  " entries; an upload has at most 10000 parts");
    req.parts.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string at = "parts[" + std::to_string(i) + "]";
        if (!a[i].is_object())
            request_fail(api_code::invalid_parts, at + " must be an object, not " + std::string(kind_name(a[i])));
        const json::object& p = a[i].get_object();
        const json::value* num = p.if_contains("PartNumber");
        if (!num || num->is_null()) request_fail(api_code::invalid_parts, at + ".PartNumber is required");
        auto n = static_cast<std::uint32_t>(request_object::number(*num, at + ".PartNumber", 1, max_parts,
                                                                   api_code::invalid_parts));
        if (!req.parts.empty() && n <= req.parts.back().part_number)
            request_fail(api_code::invalid_parts, at + ".PartNumber " + std::to_string(n) + " is not above the previous " +
                                                      std::to_string(req.parts.back().part_number) +
                                                      ": parts must be in strictly ascending order");
        const json::value* etag = p.if_contains("ETag");
        if (!etag || etag->is_null()) request_fail(api_code::invalid_parts, at + ".ETag is required");
        if (!etag->is_string())
            request_fail(api_code::invalid_parts, at + ".ETag must be a string, not " + std::string(kind_name(*etag)));
        std::string tag(etag->get_string());
        if (tag.empty()) request_fail(api_code::invalid_parts, at + ".ETag must not be empty");
        if (tag.size() > max_etag_bytes) request_fail(api_code::invalid_parts, at + ".ETag is too long");
        if (has_control_char(tag)) request_fail(api_code::invalid_parts, at + ".ETag contains a control character");
        req.parts.push_back({n, std::move(tag), {}});
    }
    return req;
}

presign_req parse_presign(const request_object& r, const service_config& config) {
    presign_req req;
    req.upload = parse_upload_ref(r);
    const json::value& v = r.required("partNumbers");
    if (!v.is_array())
        request_fail(api_code::invalid_request, "partNumbers must be an array, not " + std::string(kind_name(v)));
    const json::array& a = v.get_array();
    if (a.empty()) request_fail(api_code::invalid_request, "partNumbers must list at least one part number");
    if (a.size() > config.url_batch)
        request_fail(api_code::invalid_request, "partNumbers lists " + std::to_string(a.size()) + " parts; at most " +
                                                    std::to_string(config.url_batch) + " per request");
    std::vector<bool> seen(max_parts + 1, false);
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto n = static_cast<std::uint32_t>(request_object::number(a[i], "partNumbers[" + std::to_string(i) + "]", 1,
                                                                   max_parts, api_code::invalid_request));
        if (seen[n]) request_fail(api_code::invalid_request, "partNumbers lists part " + std::to_string(n) + " twice");
        seen[n] = true;
        req.part_numbers.push_back(n);
    }
    return req;
}

single_req parse_single(const request_object& r, const service_config& config) {
    single_req req;
    req.file_name = parse_file_name(r, config);
    req.file_size = parse_file_size(r, config);
    if (req.file_size > config.single_put_max)
        request_fail(api_code::file_too_large, "fileSize " + std::to_string(req.file_size) +
                                                   " is above the single-PUT limit of " +
                                                   std::to_string(config.single_put_max) +
                                                   " bytes: use action \"start\" for a multipart upload");
    req.content_type = parse_content_type(r);
    return req;
}

// ---- responses ----------------------------------------------------------------

json::array urls_json(const std::vector<presigned_part>& parts) {
    json::array a;
    a.reserve(parts.size());
    for (const auto& p : parts) a.push_back(json::object{{"partNumber", p.part_number}, {"url", p.url}});
    return a;
}

} // namespace

// ---- errors ---------------------------------------------------------------

std::string error_json(const api_error& error) {
    return json::serialize(json::object{{"error", json::object{{"code", error.code}, {"message", error.message}}}});
}

api_error unauthorized_error() {
    return api_error(401, std::string(api_code::unauthorized),
                     "a valid \"Authorization: Bearer TOKEN\" header is required");
}

void check_body_size(std::uint64_t body_bytes, const service_config& config) {
    if (body_bytes > config.max_body_bytes)
        request_fail(api_code::payload_too_large,
                     "the request body is " + std::to_string(body_bytes) + " bytes; the limit is " +
                         std::to_string(config.max_body_bytes),
                     413);
}

// ---- configuration --------------------------------------------------------

service_config parse_service_config(std::string json_text) {
    json::parse_options options;
    options.allow_comments = true;
    json::stream_parser parser({}, options);
    json::error_code ec;
    const std::size_t used = parser.write(json_text.data(), json_text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
        const std::size_t at = std::min(used, json_text.size());
        const std::size_t line = 1 + static_cast<std::size_t>(std::count(json_text.begin(), json_text.begin() + at, '\n'));
        throw config_error("service config: not valid JSON (line " + std::to_string(line) + "): " + ec.message());
    }
    json::value doc = parser.release();
    if (!doc.is_object()) throw config_error("service config: must be a JSON object");

    config_object root(doc.get_object(), "");
    root.reject_unknown({"listen", "tls", "storage", "token_secret", "tokens", "key_prefix", "allowed_extensions",
                         "max_file_size", "presign_expiry", "part_size", "url_batch", "single_put_max", "cors_origins",
                         "max_body_bytes", "upload_token_ttl"});
    service_config config;

    if (auto listen = root.str("listen")) config.listen = parse_listen(*listen);

    if (const json::object* tls = root.object("tls")) {
        config_object t(*tls, "tls");
        t.reject_unknown({"cert", "key"});
        config.tls = tls_files{t.required_str("cert"), t.required_str("key")};
    }

    const json::object* storage = root.object("storage");
    if (!storage) config_fail("storage", "is required: {\"region\", \"bucket\", \"endpoint\"?, ...}");
    config.storage = parse_storage(config_object(*storage, "storage"));

    {
        auto secret = root.str("token_secret");
        if (!secret) config_fail("token_secret", "is required: at least 32 random bytes (openssl rand -hex 32)");
        if (secret->size() < 32)
            config_fail("token_secret", "must be at least 32 bytes (it has " + std::to_string(secret->size()) +
                                            "); generate one with openssl rand -hex 32");
        config.token_secret = sigv4::secret_string(std::move(*secret));
    }

    config.tokens = parse_tokens(root);

    if (auto prefix = root.str("key_prefix")) {
        validate_key_prefix(*prefix);
        config.key_prefix = std::move(*prefix);
    }

    {
        auto list = root.string_list("allowed_extensions");
        for (std::size_t i = 0; i < list.size(); ++i)
            config.allowed_extensions.push_back(
                normalize_extension(list[i], "allowed_extensions[" + std::to_string(i) + "]"));
    }

    if (auto n = root.uint("max_file_size", 1, max_object_size)) config.max_file_size = *n;
    if (auto n = root.uint("presign_expiry", 1, static_cast<std::uint64_t>(sigv4::max_presign_expiry.count())))
        config.presign_expiry = std::chrono::seconds(static_cast<std::int64_t>(*n));
    if (auto n = root.uint("part_size", 0, std::numeric_limits<std::uint64_t>::max())) {
        try {
            validate_part_size(*n);
        } catch (const plan_error& e) {
            config_fail("part_size", e.what());
        }
        config.part_size = *n;
    }
    if (auto n = root.uint("url_batch", 1, max_parts)) config.url_batch = static_cast<std::uint32_t>(*n);
    if (auto n = root.uint("single_put_max", 0, max_part_size)) config.single_put_max = *n;

    {
        auto list = root.string_list("cors_origins");
        for (std::size_t i = 0; i < list.size(); ++i)
            validate_origin(list[i], "cors_origins[" + std::to_string(i) + "]");
        config.cors_origins = std::move(list);
    }

    if (auto n = root.uint("max_body_bytes", min_body_limit, max_body_limit)) config.max_body_bytes = *n;
    if (auto n = root.uint("upload_token_ttl", 1, static_cast<std::uint64_t>(max_upload_token_ttl)))
        config.upload_token_ttl = std::chrono::seconds(static_cast<std::int64_t>(*n));

    return config;
}

std::optional<sigv4::credentials> configured_credentials(const storage_config& storage) {
    if (!storage.access_key_id || !storage.secret_access_key) return std::nullopt;
    sigv4::credentials c;
    c.access_key_id = *storage.access_key_id;
    c.secret_access_key = *storage.secret_access_key;
    return c;
}

bool origin_allowed(const service_config& config, std::string_view origin) {
    return std::find(config.cors_origins.begin(), config.cors_origins.end(), origin) != config.cors_origins.end();
}

// ---- file names and keys --------------------------------------------------

std::string sanitize_file_name(std::string_view name) {
    auto fail = [](std::string why) { request_fail(api_code::invalid_file_name, "fileName " + why); };
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
            out.push_back(is_alnum(c) || c == '.' || c == '_' || c == '-' ? static_cast<char>(c) : '_');
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
    request_fail(api_code::extension_not_allowed,
                 "this file type is not accepted; allowed extensions: " + join(dotted, ", "));
}

std::string unique_file_name(std::string_view user, std::int64_t unix_ms, std::string_view sanitized) {
    std::string s(user);
    s.append("_").append(std::to_string(unix_ms)).append("_").append(sanitized);
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

// ---- bearer tokens --------------------------------------------------------

std::optional<std::string> user_for_bearer(const service_config& config, std::string_view authorization_header) {
    std::string_view h = trim(authorization_header);
    if (h.size() > max_bearer_bytes || h.size() < 8) return std::nullopt;
    if (lowercase(h.substr(0, 6)) != "bearer" || h[6] != ' ') return std::nullopt;
    std::string_view token = trim(h.substr(7));
    // RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    std::size_t body = token.find_first_of('=');
    if (body == std::string_view::npos) body = token.size();
    if (body == 0) return std::nullopt;
    for (std::size_t i = 0; i < token.size(); ++i) {
        const char c = token[i];
        const bool ok = i < body ? (is_alnum(static_cast<unsigned char>(c)) ||
                                    std::string_view("-._~+/").find(c) != std::string_view::npos)
                                 : c == '=';
        if (!ok) return std::nullopt;
    }

    const sigv4::sha256_digest digest = sigv4::sha256(token);
    // Compare with every entry, without an early exit, and select the match
    // with masks rather than a branch on the comparison.
    std::size_t match = 0;
    std::size_t found = 0;
    for (std::size_t i = 0; i < config.tokens.size(); ++i) {
        const std::size_t equal =
            static_cast<std::size_t>(CRYPTO_memcmp(digest.data(), config.tokens[i].sha256.data(), digest.size()) == 0);
        const std::size_t take = 0 - (equal & (found ^ 1));   // all ones for the first match
        match = (match & ~take) | (i & take);
        found |= equal;
    }
    if (!found) return std::nullopt;
    return config.tokens[match].user;
}

// ---- upload tokens --------------------------------------------------------

std::string sign_upload_token(const sigv4::secret_string& secret, std::string_view user, std::string_view key,
                              std::string_view upload_id, std::int64_t expiry_unix) {
    if (expiry_unix < 0) throw std::invalid_argument("sign_upload_token: negative expiry");
    if (has_newline(user) || has_newline(key) || has_newline(upload_id))
        throw std::invalid_argument("sign_upload_token: user, key or upload id contains a newline");
    const std::string expiry = std::to_string(expiry_unix);
    const auto mac = sigv4::hmac_sha256(secret.reveal(), token_mac_input(user, key, upload_id, expiry));
    return "v1." + expiry + "." + base64url(mac);
}

std::string_view to_string(token_status s) {
    switch (s) {
    case token_status::ok: return "ok";
    case token_status::malformed: return "malformed";
    case token_status::bad_signature: return "bad signature";
    case token_status::expired: return "expired";
    }
    return "unknown";
}

token_status verify_upload_token(const sigv4::secret_string& secret, std::string_view token, std::string_view user,
                                 std::string_view key, std::string_view upload_id, std::int64_t now_unix) {
    constexpr std::string_view version = "v1.";
    if (!token.starts_with(version)) return token_status::malformed;
    token.remove_prefix(version.size());
    const auto dot = token.find('.');
    if (dot == std::string_view::npos) return token_status::malformed;
    const std::string_view expiry = token.substr(0, dot);
    const std::string_view signature = token.substr(dot + 1);

    // Canonical decimal: digits only, no leading zero, fits an int64.
    if (expiry.empty() || expiry.size() > 19 || !std::all_of(expiry.begin(), expiry.end(), is_digit) ||
        (expiry.size() > 1 && expiry.front() == '0'))
        return token_status::malformed;
    std::int64_t expiry_unix = 0;
    auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), expiry_unix);
    if (ec != std::errc() || end != expiry.data() + expiry.size()) return token_status::malformed;
    if (signature.size() != token_signature_chars ||
        !std::all_of(signature.begin(), signature.end(), is_base64url_char))
        return token_status::malformed;

    if (has_newline(user) || has_newline(key) || has_newline(upload_id)) return token_status::bad_signature;
    const std::string expected =
        base64url(sigv4::hmac_sha256(secret.reveal(), token_mac_input(user, key, upload_id, expiry)));
    if (CRYPTO_memcmp(expected.data(), signature.data(), token_signature_chars) != 0)
        return token_status::bad_signature;
    if (now_unix >= expiry_unix) return token_status::expired;
    return token_status::ok;
}

void require_upload_token(const service_config& config, std::string_view user, const upload_ref& upload,
                          std::int64_t now_unix) {
    if (!upload.s3_key.starts_with(user_key_prefix(config.key_prefix, user)))
        request_fail(api_code::invalid_upload_token, "s3Key is not one of your uploads", 403);
    switch (verify_upload_token(config.token_secret, upload.upload_token, user, upload.s3_key, upload.upload_id,
                                now_unix)) {
    case token_status::ok: return;
    case token_status::expired:
        request_fail(api_code::upload_token_expired, "uploadToken has expired; start the upload again", 403);
    case token_status::malformed:
        request_fail(api_code::invalid_upload_token, "uploadToken is malformed", 403);
    case token_status::bad_signature:
        request_fail(api_code::invalid_upload_token, "uploadToken is not valid for this upload", 403);
    }
    request_fail(api_code::invalid_upload_token, "uploadToken is not valid for this upload", 403);
}

std::string issue_upload_token(const service_config& config, std::string_view user, std::string_view key,
                               std::string_view upload_id, std::int64_t now_unix) {
    return sign_upload_token(config.token_secret, user, key, upload_id, now_unix + config.upload_token_ttl.count());
}

// ---- requests -------------------------------------------------------------

api_request parse_api_request(std::string_view body, const service_config& config) {
    check_body_size(body.size(), config);
    json::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec) request_fail(api_code::invalid_json, "the request body is not valid JSON: " + ec.message());
    if (!doc.is_object()) request_fail(api_code::invalid_json, "the request body must be a JSON object");
    request_object r(doc.get_object());

    const json::value& action_value = r.required("action");
    if (!action_value.is_string())
        request_fail(api_code::invalid_request, "action must be a string, not " + std::string(kind_name(action_value)));
    const std::string_view action = action_value.get_string();
    if (action == "start") return parse_start(r, config);
    if (action == "complete") return parse_complete(r);
    if (action == "abort") return abort_req{parse_upload_ref(r)};
    if (action == "presign") return parse_presign(r, config);
    if (action == "list-parts") return list_parts_req{parse_upload_ref(r)};
    if (action == "single") return parse_single(r, config);
    request_fail(api_code::unknown_action,
                 "unknown action; expected one of start, complete, abort, presign, list-parts, single");
}

std::string_view action_name(const api_request& request) {
    return std::visit(
        [](const auto& r) -> std::string_view {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, start_req>) return "start";
            else if constexpr (std::is_same_v<T, complete_req>) return "complete";
            else if constexpr (std::is_same_v<T, abort_req>) return "abort";
            else if constexpr (std::is_same_v<T, presign_req>) return "presign";
            else if constexpr (std::is_same_v<T, list_parts_req>) return "list-parts";
            else return "single";
        },
        request);
}

// ---- presigning -------------------------------------------------------------

object_location storage_location(const service_config& config, std::string_view key) {
    return locate(config.storage.ep, config.storage.bucket, key, config.storage.style);
}

std::vector<std::uint32_t> initial_part_numbers(const part_plan& plan, std::uint32_t url_batch) {
    std::vector<std::uint32_t> out;
    const std::uint32_t n = std::min(plan.part_count, url_batch);
    out.reserve(n);
    for (std::uint32_t i = 1; i <= n; ++i) out.push_back(i);
    return out;
}

std::vector<presigned_part> presign_parts(const service_config& config, const sigv4::signer& signer,
                                          std::string_view key, std::string_view upload_id,
                                          const std::vector<std::uint32_t>& part_numbers,
                                          const sigv4::amz_date& date) {
    const object_location loc = storage_location(config, key);
    std::vector<presigned_part> out;
    out.reserve(part_numbers.size());
    for (std::uint32_t n : part_numbers) {
        if (n < 1 || n > max_parts) throw std::invalid_argument("presign_parts: part number out of 1..10000");
        out.push_back({n, presign_url(loc, "PUT", {{"partNumber", std::to_string(n)}, {"uploadId", std::string(upload_id)}},
                                      signer, config.storage.region, date, config.presign_expiry)});
    }
    return out;
}

std::string presign_single_put(const service_config& config, const sigv4::signer& signer, std::string_view key,
                               const sigv4::amz_date& date) {
    return presign_url(storage_location(config, key), "PUT", {}, signer, config.storage.region, date,
                       config.presign_expiry);
}

// ---- responses ------------------------------------------------------------

std::string format_expires_at(std::int64_t unix_seconds) {
    using namespace std::chrono;
    const sys_seconds tp{seconds(unix_seconds)};
    const auto day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss hms{tp - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.000Z", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buf;
}

std::string response_json(const start_response& r) {
    return json::serialize(json::object{
        {"uploadId", r.upload_id},
        {"s3Key", r.s3_key},
        {"uniqueFileName", r.unique_file_name},
        {"presignedUrls", urls_json(r.presigned_urls)},
        {"uploadToken", r.upload_token},
        {"partSize", r.part_size},
        {"expiresAt", format_expires_at(r.expires_at)},
    });
}

std::string response_json(const complete_response& r) {
    return json::serialize(json::object{
        {"success", true},
        {"uniqueFileName", r.unique_file_name},
        {"location", r.location},
        {"etag", r.etag},
        {"size", r.size},
    });
}

std::string response_json(const presign_response& r) {
    return json::serialize(json::object{
        {"presignedUrls", urls_json(r.presigned_urls)},
        {"expiresAt", format_expires_at(r.expires_at)},
    });
}

std::string response_json(const list_parts_response& r) {
    json::array parts;
    parts.reserve(r.parts.size());
    for (const auto& p : r.parts)
        parts.push_back(json::object{{"PartNumber", p.part_number}, {"ETag", p.etag}, {"Size", p.size}});
    return json::serialize(json::object{{"parts", std::move(parts)}});
}

std::string response_json(const single_response& r) {
    return json::serialize(json::object{
        {"url", r.url},
        {"s3Key", r.s3_key},
        {"uniqueFileName", r.unique_file_name},
        {"uploadToken", r.upload_token},
        {"expiresAt", format_expires_at(r.expires_at)},
    });
}

std::string abort_response_json() {
    return json::serialize(json::object{{"success", true}, {"message", "Upload aborted"}});
}

} // namespace hoist::protocol
