// The browser routes' paths. See presign/browser_routes.hpp.
#include "hoist/protocol/presign/browser_routes.hpp"

#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/names.hpp"
#include "hoist/protocol/presign/session.hpp"

#include "text.hpp"

#include <algorithm>

namespace hoist::protocol {

namespace {

// Up to 5 '/'-separated segments of a path that starts with '/'; more: count 6.
struct segments {
    std::string_view at[5];
    std::size_t count = 0;
};

segments split(std::string_view path) {
    segments s;
    path.remove_prefix(1);
    while (true) {
        if (s.count == 5) {
            s.count = 6;
            return s;
        }
        const auto slash = path.find('/');
        s.at[s.count++] = path.substr(0, slash);
        if (slash == std::string_view::npos) return s;
        path.remove_prefix(slash + 1);
    }
}

browser_route_match pick(std::string_view method, std::string_view name, std::string_view allow,
                         std::initializer_list<std::pair<std::string_view, browser_route>> by_method) {
    for (const auto& [m, r] : by_method)
        if (m == method) return {r, name, allow};
    return {browser_route::none, name, allow};
}

} // namespace

browser_route_match match_browser_route(std::string_view method, std::string_view path) {
    using enum browser_route;
    if (path == session_path)
        return pick(method, session_path, "POST, DELETE, OPTIONS",
                    {{"POST", session_create}, {"DELETE", session_delete}});
    if (path == sign_request_path) return pick(method, sign_request_path, "POST, OPTIONS", {{"POST", sign_request}});
    if (!path.starts_with("/s3/")) return {};
    const segments s = split(path);   // "s3", ...
    if (s.count == 2 && s.at[1] == "params") return pick(method, "/s3/params", "GET, OPTIONS", {{"GET", s3_params}});
    if (s.count < 2 || s.at[1] != "multipart") return {};
    if (s.count == 2) return pick(method, "/s3/multipart", "POST, OPTIONS", {{"POST", s3_create}});
    if (s.at[2].empty()) return {};
    if (s.count == 3)
        return pick(method, "/s3/multipart/{uploadId}", "GET, DELETE, OPTIONS",
                    {{"GET", s3_list_parts}, {"DELETE", s3_abort}});
    if (s.count == 4 && s.at[3] == "complete")
        return pick(method, "/s3/multipart/{uploadId}/complete", "POST, OPTIONS", {{"POST", s3_complete}});
    if (s.count == 4 && !s.at[3].empty())
        return pick(method, "/s3/multipart/{uploadId}/{partNumber}", "GET, OPTIONS", {{"GET", s3_sign_part}});
    return {};
}

} // namespace hoist::protocol

namespace hoist::protocol {

namespace {

constexpr std::size_t max_key_bytes = 1024;
constexpr std::size_t max_content_type_bytes = 255;

[[noreturn]] void foreign(std::string message) {
    throw api_error(403, std::string(api_code::forbidden_key), std::move(message));
}

bool is_token_char(char c) {
    return presign_text::is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

} // namespace

void require_own_key(const service_config& config, std::string_view user, std::string_view key) {
    const std::string prefix = user_key_prefix(config.key_prefix, user);
    if (!key.starts_with(prefix) || key.size() == prefix.size())
        foreign("the key is not under your own prefix " + prefix);
    if (key.size() > max_key_bytes) foreign("the key is longer than 1024 bytes");
    if (presign_text::has_control_char(key)) foreign("the key contains control characters");
    std::string_view rest = key.substr(prefix.size());
    while (true) {
        const auto slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        if (segment.empty() || segment == "." || segment == "..")
            foreign("the key has an empty, \".\" or \"..\" path segment");
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
}

bool is_upload_id(std::string_view id) {
    return !id.empty() && id.size() <= 1024 && presign_text::is_visible_ascii(id);
}

std::string key_for_proposed_name(const service_config& config, std::string_view user, std::int64_t unix_ms,
                                  std::string_view proposed) {
    const auto cut = proposed.find_last_of("/\\");
    if (cut != std::string_view::npos) proposed.remove_prefix(cut + 1);
    const std::string name = sanitize_file_name(proposed);
    check_extension(name, config);
    return make_object_key(config.key_prefix, user, unix_ms, name);
}

std::string checked_content_type(std::string_view type, std::string_view field) {
    if (type.empty()) return "application/octet-stream";
    const std::string_view main = presign_text::trim(type.substr(0, type.find(';')));
    const auto slash = main.find('/');
    auto token = [](std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); };
    if (type.size() > max_content_type_bytes || !presign_text::is_printable_ascii(type) ||
        slash == std::string_view::npos || !token(main.substr(0, slash)) || !token(main.substr(slash + 1)))
        throw api_error(400, std::string(api_code::invalid_request),
                        std::string(field) + " must be a media type like application/octet-stream");
    return std::string(type);
}

} // namespace hoist::protocol
