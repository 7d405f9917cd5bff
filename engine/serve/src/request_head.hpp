// The service's decisions on a request head, without sockets: which route a
// method and target name, and which heads are refused before routing (with
// the status, a reason for /metrics and the log, and a message). The service
// applies them to what Beast's parser read from a connection; decide_head()
// applies them to bytes in memory, for unit tests and the fuzz target
// (tests/fuzz), so both exercise the code the service runs.
#pragma once

#include "hoist/protocol/presign/wire.hpp"   // presigned_upload_path

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <optional>
#include <string_view>

namespace hoist::engine::detail {

enum class route_kind {
    healthz,             // GET /healthz
    metrics,             // GET /metrics
    presigned_upload,    // POST api_path (config "api_path", default /v1/presigned-upload)
    proxy_part,          // PUT /v1/uploads/{uploadId}/parts/{n}
    static_file,         // GET or HEAD / and /assets/... (the upload page, static_assets.hpp)
    browser,             // /v1/session, /v1/sign-request, /s3/* (protocol/presign/browser_routes.hpp)
    preflight,           // OPTIONS on any target (CORS)
    method_not_allowed,  // a known path, another method: 405 with `allow`
    not_found,
};

struct route_match {
    route_kind kind = route_kind::not_found;
    std::string_view name;    // the route template for logs and metrics, never the raw target
    std::string_view allow;   // for method_not_allowed: the Allow header's value
};

// Routes on the method and the target's path (the query is ignored here).
// `api_path` is the JSON API's path (service_config::api_path, validated not
// to collide with the other routes); the match's name points into it, so it
// must outlive the match.
route_match match_route(boost::beast::http::verb method, std::string_view target,
                        std::string_view api_path = protocol::presigned_upload_path);

// A request refused before routing. `reason` is a stable label (metrics
// hoist_http_rejected_total{reason}, the log's "error"); `code` the JSON
// error's code; `message` says what was wrong without quoting the input.
struct head_refusal {
    unsigned status = 400;
    std::string_view reason;
    std::string_view code;
    std::string_view message;
};

// What to answer when reading a head failed with `ec`: a refusal for a head
// Beast's parser rejected (431 for header_limit, 400 otherwise), or nullopt
// when there is no one to answer (end of stream, a reset, a timeout, a
// cancel: the connection just ends).
std::optional<head_refusal> refusal_for_read_error(const boost::system::error_code& ec);

// What Beast's parser accepts and the service refuses: a head over the limit
// (431, see below); more than one Content-Length, even equal ones, or a
// list value (400: a proxy in front may have picked another one); a
// Transfer-Encoding other than exactly "chunked" (400); a version other than
// 1.0 and 1.1 (505; Beast 1.81 refuses those itself, as a bad request line).
// `head_size` (the bytes the parser consumed) over `header_limit` is 431:
// Beast's header_limit bounds the whole head only when it arrives in several
// reads, the request line and the fields each when it arrives in one (the
// fuzz target found the difference), so the service checks the total itself.
std::optional<head_refusal> check_head(const boost::beast::http::request_parser<boost::beast::http::empty_body>& head,
                                       std::size_t head_size, std::size_t header_limit);

// The whole decision on a request head in memory, as the service takes it:
// the bytes are fed to a parser with `header_limit` in two pieces split at
// `split` (as two reads from a socket would deliver them; clamped to the
// size), then refused or routed. `incomplete` when the head does not end
// within `bytes` (the service would read more or time out).
struct head_decision {
    enum class outcome { incomplete, refused, routed } what = outcome::incomplete;
    head_refusal refusal;   // when refused
    route_match route;      // when routed
    std::size_t head_size = 0;  // bytes the parser consumed (when routed)
};
head_decision decide_head(std::string_view bytes, std::size_t header_limit, std::size_t split = 0,
                          std::string_view api_path = protocol::presigned_upload_path);

} // namespace hoist::engine::detail
