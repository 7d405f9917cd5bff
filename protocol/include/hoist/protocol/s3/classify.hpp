// Outcome classification: what to do after one HTTP exchange with S3.
//
// A pure, table-driven function of (transport error, HTTP status, S3 error code).
// The engine maps its error_code to a `transport_error` first, so this layer
// stays free of Asio. Rules, in order:
//   1. a transport error decides alone (resets, refusals, timeouts: retry;
//      certificate/TLS verification failures and bad URLs: fatal);
//   2. a known S3 error code decides next (the code outranks the status: S3
//      sends RequestTimeout as 400 and RequestTimeTooSkewed as 403, both retryable);
//   3. then the status: 2xx success, 429/503 throttle, 408/500/502/504 and
//      other 5xx retry, other 4xx fatal.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hoist::protocol {

enum class transport_error {
    none,
    connection_reset,      // ECONNRESET, EPIPE, or EOF before a full response
    connection_refused,    // ECONNREFUSED
    connection_aborted,    // ECONNABORTED, network/host unreachable
    timeout,               // any deadline: connect, TLS handshake, first byte, stall
    tls_handshake,         // handshake failed for a reason other than verification
    tls_verification,      // certificate not trusted / wrong host: fatal
    name_resolution,       // DNS failure: retried (resolvers fail transiently)
    other,
};

enum class outcome_kind { success, retry, throttle, fatal };

struct outcome {
    outcome_kind kind = outcome_kind::fatal;
    std::string reason;  // one line for logs and the final error: "503 SlowDown", "connection reset"
    // From Retry-After, when the server sent one and the outcome is retry/throttle.
    std::optional<std::chrono::seconds> retry_after;
};

std::string_view to_string(outcome_kind);
std::string_view to_string(transport_error);

// `s3_code` is the <Error><Code> of the body if there was one (also on 200 OK),
// else empty. `retry_after` is the raw Retry-After header value, if any.
outcome classify(transport_error error, unsigned status, std::string_view s3_code,
                 std::optional<std::string_view> retry_after = std::nullopt);

// Retry-After as delta-seconds ("120"). The HTTP-date form is accepted and
// ignored (nullopt): S3 sends seconds, and a date needs a trusted clock.
// Values are capped at 3600 s; garbage gives nullopt.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

} // namespace hoist::protocol
