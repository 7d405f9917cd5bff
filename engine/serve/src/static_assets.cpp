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

bool is_static_path(std::string_view target) {
    const auto path = path_of(target);
    return path == "/" || path.starts_with(assets_prefix);
}

static_answer answer_static(std::span<const embedded_file> files, std::string_view target,
                            std::string_view if_none_match, bool head) {
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
    a.etag = file->etag;
    if (!if_none_match.empty() && etag_matches(if_none_match, file->etag)) {
        a.status = 304;
        return a;
    }
    a.status = 200;
    a.content_length = file->bytes.size();
    if (!head) a.body = file->bytes;
    return a;
}

} // namespace hoist::engine::detail
