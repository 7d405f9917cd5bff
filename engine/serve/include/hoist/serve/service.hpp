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
#pragma once

#include "hoist/engine/upload.hpp"
#include "hoist/protocol/presign/config.hpp"

#include <cstdint>
#include <functional>
#include <string_view>

namespace hoist::engine {

struct service_options {
    protocol::service_config config;
    sigv4::credentials storage_credentials;
    // One JSON object per request (never a token, a secret or a URL signature).
    // Default: a line on stderr.
    std::function<void(std::string_view)> log;
    // Called once the listener is bound, with its port (useful with port 0).
    std::function<void(std::uint16_t)> on_listening;
};

// Serves until `cancel` is cancelled. Throws std::runtime_error when the
// listener cannot be bound or the TLS files cannot be loaded.
void run_service(const service_options& options, cancel_token cancel = {});

} // namespace hoist::engine
