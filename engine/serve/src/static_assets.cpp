#include "static_assets.hpp"

namespace hoist::engine::detail {

namespace {

constexpr std::string_view assets_prefix = "/assets/";

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

} // namespace

std::string_view content_type_for(std::string_view path) {
    const auto slash = path.rfind('/');
    const auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (ends_with(name, ".html")) return "text/html; charset=utf-8";
    // Browsers refuse to run a module script served under a non-JavaScript type.
    if (ends_with(name, ".mjs") || ends_with(name, ".js")) return "text/javascript; charset=utf-8";
    if (ends_with(name, ".css")) return "text/css; charset=utf-8";
    if (ends_with(name, ".png")) return "image/png";
    if (ends_with(name, ".svg")) return "image/svg+xml";
    if (ends_with(name, ".json")) return "application/json";
    if (name == "LICENSE" || ends_with(name, ".txt")) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    if (trim(if_none_match) == "*") return true;
    // Weak comparison: W/"x" and "x" are the same entity tag for If-None-Match.
    auto opaque = [](std::string_view t) {
        t = trim(t);
        if (t.starts_with("W/")) t.remove_prefix(2);
        return t;
    };
    const auto wanted = opaque(etag);
    while (!if_none_match.empty()) {
        // Entity tags cannot contain '"' inside, and ',' only inside the quotes:
        // split at commas outside quotes.
        std::size_t i = 0;
        bool quoted = false;
        for (; i < if_none_match.size(); ++i) {
            if (if_none_match[i] == '"') quoted = !quoted;
            else if (if_none_match[i] == ',' && !quoted) break;
        }
        if (auto candidate = opaque(if_none_match.substr(0, i)); !candidate.empty() && candidate == wanted) return true;
        if_none_match.remove_prefix(i < if_none_match.size() ? i + 1 : i);
    }
    return false;
}

std::string render_index(std::string_view html, const page_settings& settings) {
    std::string out(html);
    if (settings.api_path == default_api_path) return out;
    // The config validates the path to characters that need no escaping in
    // an attribute; escaping anyway keeps this safe on its own.
    std::string escaped;
    for (char c : settings.api_path) {
        switch (c) {
        case '&': escaped += "&amp;"; break;
        case '"': escaped += "&quot;"; break;
        case '<': escaped += "&lt;"; break;
        case '>': escaped += "&gt;"; break;
        default: escaped += c;
        }
    }
    const std::string from = "<meta name=\"hoist-api-path\" content=\"" + std::string(default_api_path) + "\">";
    const std::string to = "<meta name=\"hoist-api-path\" content=\"" + escaped + "\">";
    if (auto at = out.find(from); at != std::string::npos) out.replace(at, from.size(), to);
    return out;
}

bool is_static_path(std::string_view target) {
    const auto path = path_of(target);
    return path == "/" || path.starts_with(assets_prefix);
}

static_answer answer_static(std::span<const embedded_file> files, std::string_view target,
                            std::string_view if_none_match, bool head, const page_settings& settings) {
    const auto path = path_of(target);
    std::string_view name;
    if (path == "/") name = "index.html";
    else if (path.starts_with(assets_prefix)) name = path.substr(assets_prefix.size());
    static_answer a;
    if (name.empty()) return a;
    const embedded_file* file = nullptr;
    for (const auto& f : files)
        if (f.path == name) file = &f;
    if (!file) return a;
    a.content_type = content_type_for(file->path);
    a.cache_control = path != "/" && name.starts_with("vendor/") ? "public, max-age=31536000, immutable" : "no-cache";
    a.etag = std::string(file->etag);
    std::string body;
    if (name == "index.html" && settings.api_path != default_api_path) {
        body = render_index(file->bytes, settings);
        // Another api_path is another page: its ETag names the path too
        // (FNV-1a of it), so a cached default page is not taken for it.
        std::uint32_t h = 2166136261u;
        for (unsigned char c : settings.api_path) h = (h ^ c) * 16777619u;
        static constexpr char hex[] = "0123456789abcdef";
        std::string suffix = "-";
        for (int shift = 28; shift >= 0; shift -= 4) suffix += hex[(h >> shift) & 0xf];
        a.etag.insert(a.etag.size() - 1, suffix);
    } else {
        body = std::string(file->bytes);
    }
    if (!if_none_match.empty() && etag_matches(if_none_match, a.etag)) {
        a.status = 304;
        return a;
    }
    a.status = 200;
    a.content_length = body.size();
    if (!head) a.body = std::move(body);
    return a;
}

std::string page_security_policy(std::string_view storage_origin) {
    std::string connect = "'self'";
    if (!storage_origin.empty()) (connect += ' ') += storage_origin;
    return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
           "font-src 'self'; connect-src " + connect +
           "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}

} // namespace hoist::engine::detail
