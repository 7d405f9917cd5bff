// hoist serve's browser routes: the session cookie (POST/DELETE /v1/session),
// Uppy's Companion routes under /s3 and Uppy's signRequest route
// (POST /v1/sign-request). The service reads the request (head and bounded
// body) and writes the answer; this file authenticates, calls the storage and
// renders, with the pure rules in protocol/presign/{session,companion,
// sign_request}.
#pragma once

#include "request_runner.hpp"   // call_result, net

#include "hoist/protocol/presign/browser_routes.hpp"
#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/s3/requests.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hoist::engine::detail {

struct browser_request {
    protocol::browser_route route = protocol::browser_route::none;
    std::string target;   // raw, with the query
    std::string body;     // read whole by the service, at most max_body_bytes
    std::string authorization, cookie, origin, host;   // headers ("" when absent)
};

struct browser_reply {
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;   // Set-Cookie, ...
    std::string action;   // for the log: "session", "create", "sign-part", ...
    std::string user;     // for the log, once authenticated
    bool started = false, completed = false, aborted = false;   // for the service's upload counters
};

// One S3 call through the service's runner, signed per attempt.
using s3_call = std::function<net::awaitable<call_result>(std::string what, std::function<protocol::s3_request()> build)>;

// A failed storage call as every route of the service answers it (the JSON
// API, the proxy, /s3/*): the upload missing is 404 no_such_upload, anything
// else the storage refused or failed is 502 storage_error. One function, so
// the routes cannot drift apart on what "gone" looks like.
protocol::api_error storage_error(const call_result& r);

// Completes when the answer is in `out`; throws protocol::api_error for
// anything answered as an error (with out.action and out.user filled as far
// as they were learnt, for the log). Not cancellable beyond what `s3` is.
// `config`, `signer` and `out` must outlive the call.
net::awaitable<void> handle_browser_route(const protocol::service_config& config, const sigv4::signer& signer,
                                          s3_call s3, browser_request req, browser_reply& out);

} // namespace hoist::engine::detail
