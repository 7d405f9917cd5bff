// The presign service's config file. See presign/config.hpp.
#include "hoist/protocol/presign/config.hpp"

#include "hoist/protocol/presign/browser_routes.hpp"   // match_browser_route

#include "json_values.hpp"
#include "text.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <limits>

namespace hoist::protocol {

namespace json = boost::json;
using namespace presign_text;
using presign_json::as_uint;
using presign_json::kind_name;

namespace {

constexpr std::size_t max_key_prefix_bytes = 512;
constexpr std::size_t max_user_bytes = 64;
constexpr std::int64_t max_upload_token_ttl = 365ll * 24 * 3600;
constexpr std::uint64_t min_body_limit = 1024;
constexpr std::uint64_t max_body_limit = 64 * mib;

bool is_user_name(std::string_view s) {
    return !s.empty() && s.size() <= max_user_bytes &&
           std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_' || c == '-'; });
}

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
    const json::value* get(std::string_view name) const { return presign_json::present(o_, name); }

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
                return is_alnum(c) || c == '.' || c == '-';
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
                return is_alnum(c) || c == '.' || c == '_' || c == '-';
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
            return is_alnum(c) || c == '.' || c == '_' || c == '-';
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

constexpr std::size_t max_api_path_bytes = 256;

} // namespace

std::optional<std::string> api_path_error(std::string_view path) {
    if (!path.starts_with('/')) return "must start with '/', e.g. /api/upload";
    if (path.size() < 2 || path.size() > max_api_path_bytes) return "must be '/' and 1 to 255 more bytes, e.g. /api/upload";
    if (path.find_first_of("?#") != std::string_view::npos)
        return "must be a path only, without a query ('?') or a fragment ('#')";
    std::string_view rest = path.substr(1);
    while (true) {
        const auto slash = rest.find('/');
        const std::string_view seg = rest.substr(0, slash);
        if (seg.empty()) return "must not contain '//' or end with '/'";
        if (seg == "." || seg == "..") return "must not contain '.' or '..' segments";
        if (!std::all_of(seg.begin(), seg.end(), [](char c) {
                return is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '~';
            }))
            return "must be segments of A-Z a-z 0-9 . _ - ~ separated by '/' (no percent-encoding)";
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    // The browser routes' own table, so a route added there is refused here too.
    if (auto b = match_browser_route("POST", path); !b.name.empty())
        return "'" + std::string(path) + "' is taken by another route of the service (" + std::string(b.name) + ")";
    for (const auto& r : reserved_paths) {
        const bool taken = r.prefix ? path.starts_with(r.path) || path == r.path.substr(0, r.path.size() - 1)
                                    : path == r.path;
        if (taken)
            return "'" + std::string(path) + "' is taken by another route of the service (" + std::string(r.path) +
                   (r.prefix ? "..." : "") + ")";
    }
    return std::nullopt;
}

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
                         "max_body_bytes", "upload_token_ttl",
                         "session_ttl", "api_path"});
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
    // A session is a bearer grant held by a browser: a minute at least (shorter
    // would expire mid-page), 30 days at most (a cookie lost with a laptop).
    if (auto n = root.uint("session_ttl", 60, 30 * 24 * 3600))
        config.session_ttl = std::chrono::seconds(static_cast<std::int64_t>(*n));

    if (auto path = root.str("api_path")) {
        if (auto why = api_path_error(*path)) config_fail("api_path", *why);
        config.api_path = std::move(*path);
    }

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

} // namespace hoist::protocol
