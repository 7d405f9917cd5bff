// The upload page's files, embedded in the binary at build time
// (engine/serve/cmake/embed_web.cmake writes web_files()), and the pure
// decision on a GET or HEAD for them: which file, which status, which
// caching headers. No I/O: the service copies the answer onto the wire.
//
//   GET /               index.html, Cache-Control: no-cache (it names the
//                       assets, so a new hoist's page is seen at once)
//   GET /assets/PATH    the file PATH under engine/serve/web. Files under
//                       vendor/ carry their version in the path
//                       (vendor/uppy-6.0.1/...): cached for a year,
//                       immutable. hoist's own modules keep their names from
//                       release to release: no-cache, revalidated by ETag.
//
// index.html names the JSON API's path in <meta name="hoist-api-path"
// content="/v1/presigned-upload">; a service with another api_path serves
// it with that path instead (and an ETag that says so).
//
// Every answer has a strong ETag; If-None-Match naming it (or "*") is 304.
// Anything else under /assets/ is 404: paths are matched exactly against the
// embedded table, never joined onto a directory, so "..", "%2e" and the
// like cannot reach another file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hoist::engine::detail {

struct embedded_file {
    std::string_view path;    // relative to engine/serve/web: "index.html", "vendor/uppy-6.0.1/uppy.min.mjs"
    std::string_view bytes;
    std::string_view etag;    // quoted: "\"0123abcd...\""
};

// The files embedded at build time (the generated web_assets.cpp).
std::span<const embedded_file> web_files();

struct static_answer {
    unsigned status = 404;               // 200, 304 or 404
    std::string_view content_type;       // 200 and 304
    std::string_view cache_control;      // 200 and 304
    std::string etag;                    // 200 and 304
    std::string body;                    // 200 to a GET only
    std::uint64_t content_length = 0;    // 200: the file's size (also to a HEAD)
};

// The content type for a file name, by its extension ("text/javascript;
// charset=utf-8" for .mjs); application/octet-stream when unknown.
std::string_view content_type_for(std::string_view path);

// Whether `if_none_match` (an If-None-Match header's value: "*" or a list of
// entity tags, weak or strong) matches `etag`, by RFC 9110's weak comparison.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

// What the service fills into index.html.
inline constexpr std::string_view default_api_path = "/v1/presigned-upload";
struct page_settings {
    std::string_view api_path = default_api_path;   // config "api_path" (validated: A-Z a-z 0-9 . _ - ~ /)
};

// index.html with `settings` filled in (unchanged for the defaults).
std::string render_index(std::string_view html, const page_settings& settings);

// The answer to GET (head = false) or HEAD (head = true) of `target` (the
// request target; the query is ignored) among `files`.
static_answer answer_static(std::span<const embedded_file> files, std::string_view target,
                            std::string_view if_none_match, bool head, const page_settings& settings = {});

// The upload page's Content-Security-Policy. Scripts, style sheets and fonts
// come from the service only, so an injected <script> or a third-party script
// cannot run beside the bearer token the page holds; images also from data:
// (Uppy's CSS icons) and blob: (its thumbnails); requests go to the service and
// to `storage_origin` (the presigned URLs' scheme://host[:port]); no plugins,
// no <base>, forms post only to the service, and no site may frame the page.
// Inline style attributes are allowed ('unsafe-inline' for style-src only):
// Uppy's Dashboard sets them as it renders, and a style cannot run code.
std::string page_security_policy(std::string_view storage_origin);

// Whether `target`'s path is one answer_static serves: "/" or under "/assets/".
bool is_static_path(std::string_view target);

} // namespace hoist::engine::detail
