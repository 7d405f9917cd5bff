// The routes hoist serve offers browsers beside its JSON API: the session
// cookie (session.hpp), Uppy's Companion routes under /s3 (companion.hpp) and
// Uppy's signRequest route (sign_request.hpp). Pure: which route a method and
// path name, for the service's router (engine/serve/src/request_head.cpp).
#pragma once

#include <string_view>

namespace hoist::protocol {

enum class browser_route {
    none,             // not one of these paths
    session_create,   // POST   /v1/session
    session_delete,   // DELETE /v1/session
    sign_request,     // POST   /v1/sign-request
    s3_create,        // POST   /s3/multipart
    s3_list_parts,    // GET    /s3/multipart/{uploadId}
    s3_abort,         // DELETE /s3/multipart/{uploadId}
    s3_sign_part,     // GET    /s3/multipart/{uploadId}/{partNumber}
    s3_complete,      // POST   /s3/multipart/{uploadId}/complete
    s3_params,        // GET    /s3/params
};

struct browser_route_match {
    browser_route route = browser_route::none;   // none also for a known path and another method
    std::string_view name;    // the route template for logs and metrics ("" when the path is unknown)
    std::string_view allow;   // the methods the path takes, for a 405's Allow
};

inline constexpr std::string_view sign_request_path = "/v1/sign-request";

// `method` as on the request line ("GET"); `path` the raw target without its
// query. A known path with another method gives route none with name and
// allow set (405); an unknown path gives an empty name. OPTIONS is left to the
// caller (a CORS preflight anywhere).
browser_route_match match_browser_route(std::string_view method, std::string_view path);

} // namespace hoist::protocol
