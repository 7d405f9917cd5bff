// The browser routes' paths. See presign/browser_routes.hpp.
#include "hoist/protocol/presign/browser_routes.hpp"

#include "hoist/protocol/presign/session.hpp"

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
