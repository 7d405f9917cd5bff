// `hoist serve`: the presign service, a Beast HTTP/1.1 server (TLS optional)
// on one io_context. It creates multipart uploads with its own credentials,
// hands clients presigned part URLs, completes and aborts, and offers the
// fallback the product had: a part PUT to the service, streamed to storage as
// an UploadPart with bounded memory. All state lives in signed tokens and in
// the storage, so any number of instances can serve one client.
//
// Routes (see README.md for examples):
//   POST    /v1/presigned-upload                      JSON actions (protocol/presign/wire.hpp)
//   PUT     /v1/uploads/{uploadId}/parts/{n}?key=KEY  proxied part; headers Authorization,
//                                                     X-Upload-Token, Content-Length, Content-MD5?
//   GET     /healthz                                  {"status":"ok"}
//   GET     /metrics                                  Prometheus text format
//   OPTIONS *                                         CORS preflight for configured origins
// Every request but /healthz, /metrics and preflights needs "Authorization: Bearer TOKEN".
// A known path with another method is 405 with Allow; a head that cannot be
// parsed is 400 (431 when too large, 505 for another HTTP version), answered
// with the JSON error and Connection: close, logged and counted by reason.
#pragma once

#include "hoist/engine/upload.hpp"
#include "hoist/protocol/presign/config.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace hoist::engine {

// How long and how much the service waits for and takes from a client.
struct service_limits {
    // From the wait for a request (an idle kept-alive connection included) to
    // its complete head. A head still incomplete then (a slowloris client)
    // ends the connection: the deadline is for the whole head, not per byte.
    std::chrono::milliseconds request_head{std::chrono::seconds(60)};
    // A proxied part's body silent this long (no byte at all) is answered
    // 408 request_timeout. A slow but steady client is never cut.
    std::chrono::milliseconds body_idle{std::chrono::seconds(30)};
    // A request head (request line and header fields) larger than this is 431.
    std::size_t header_bytes = 16 * 1024;
};

struct service_options {
    protocol::service_config config;
    sigv4::credentials storage_credentials;
    service_limits limits;
    // One JSON object per request (never a token, a secret or a URL signature),
    // and one per event (accept failures, at most one line per 10 s). Default:
    // a line on stderr.
    std::function<void(std::string_view)> log;
    // Whether probes (GET /healthz, GET /metrics) are logged: off by default,
    // since a load balancer's probes would otherwise be most of the log. They
    // are counted in /metrics either way.
    bool log_probes = false;
    // Called once the listener is bound, with its port (useful with port 0).
    std::function<void(std::uint16_t)> on_listening;
};

// Serves until `cancel` is cancelled. Throws std::runtime_error when the
// listener cannot be bound or the TLS files cannot be loaded.
void run_service(const service_options& options, cancel_token cancel = {});

} // namespace hoist::engine
