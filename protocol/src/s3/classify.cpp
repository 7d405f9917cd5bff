// Outcome classification: one table of S3 error codes, then status rules.
//
// The code table outranks the status because S3 uses statuses loosely for some
// transient errors (RequestTimeout is a 400, RequestTimeTooSkewed a 403) and
// sends some errors inside a 200 OK. The table is the single place to change
// when a code's treatment needs revisiting.

#include "hoist/protocol/s3/classify.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>

namespace hoist::protocol {
namespace {

struct code_rule {
    std::string_view code;
    outcome_kind kind;
};

// clang-format off
constexpr std::array code_table{
    // Transient on S3's side: the same request may succeed.
    code_rule{"InternalError",                outcome_kind::retry},
    code_rule{"RequestTimeout",               outcome_kind::retry},
    code_rule{"RequestTimeoutException",      outcome_kind::retry},
    code_rule{"RequestTimeTooSkewed",         outcome_kind::retry},   // re-signed with a fresh clock
    code_rule{"OperationAborted",             outcome_kind::retry},   // a conflicting operation was in flight
    code_rule{"PriorRequestNotComplete",      outcome_kind::retry},
    // The body that arrived is not the one we checksummed: damaged on the way
    // (a proxy, a NIC, plain HTTP). Sent again from the source it may pass; a
    // source that really changed is caught by its size/mtime check, and the
    // attempts are bounded anyway.
    code_rule{"BadDigest",                    outcome_kind::retry},

    // Throttling: retry, but the engine backs off harder and lowers concurrency.
    code_rule{"ServiceUnavailable",           outcome_kind::throttle},  // S3's 503 body code
    code_rule{"SlowDown",                     outcome_kind::throttle},
    code_rule{"Throttling",                   outcome_kind::throttle},
    code_rule{"ThrottlingException",          outcome_kind::throttle},
    code_rule{"ThrottledException",           outcome_kind::throttle},
    code_rule{"RequestThrottled",             outcome_kind::throttle},
    code_rule{"RequestThrottledException",    outcome_kind::throttle},
    code_rule{"RequestLimitExceeded",         outcome_kind::throttle},
    code_rule{"TooManyRequestsException",     outcome_kind::throttle},
    code_rule{"BandwidthLimitExceeded",       outcome_kind::throttle},

    // Fatal: repeating the same request cannot succeed.
    code_rule{"AccessDenied",                 outcome_kind::fatal},
    code_rule{"AccountProblem",               outcome_kind::fatal},
    code_rule{"AuthorizationHeaderMalformed", outcome_kind::fatal},
    code_rule{"EntityTooLarge",               outcome_kind::fatal},
    code_rule{"EntityTooSmall",               outcome_kind::fatal},
    code_rule{"ExpiredToken",                 outcome_kind::fatal},
    code_rule{"InvalidAccessKeyId",           outcome_kind::fatal},
    code_rule{"InvalidArgument",              outcome_kind::fatal},
    code_rule{"InvalidBucketName",            outcome_kind::fatal},
    code_rule{"InvalidDigest",                outcome_kind::fatal},
    code_rule{"InvalidObjectState",           outcome_kind::fatal},
    code_rule{"InvalidPart",                  outcome_kind::fatal},
    code_rule{"InvalidPartOrder",             outcome_kind::fatal},
    code_rule{"InvalidRequest",               outcome_kind::fatal},
    code_rule{"InvalidToken",                 outcome_kind::fatal},
    code_rule{"KeyTooLongError",              outcome_kind::fatal},
    code_rule{"MalformedXML",                 outcome_kind::fatal},
    code_rule{"MissingContentLength",         outcome_kind::fatal},
    code_rule{"NoSuchBucket",                 outcome_kind::fatal},
    code_rule{"NoSuchKey",                    outcome_kind::fatal},
    code_rule{"NoSuchUpload",                 outcome_kind::fatal},
    code_rule{"PermanentRedirect",            outcome_kind::fatal},
    code_rule{"SignatureDoesNotMatch",        outcome_kind::fatal},
    code_rule{"XAmzContentSHA256Mismatch",    outcome_kind::fatal},
};
// clang-format on

constexpr std::uint32_t retry_after_cap = 3600;  // never sleep longer on a server's say-so

std::optional<outcome_kind> kind_for_code(std::string_view code) {
    for (const auto& rule : code_table) {
        if (rule.code == code) return rule.kind;
    }
    return std::nullopt;
}

outcome_kind kind_for_transport(transport_error error) {
    switch (error) {
    case transport_error::connection_reset:
    case transport_error::connection_refused:
    case transport_error::connection_aborted:
    case transport_error::timeout:
    case transport_error::tls_handshake:
    case transport_error::name_resolution:
        return outcome_kind::retry;
    case transport_error::none:  // not reached: classify() handles none first
    case transport_error::tls_verification:
    case transport_error::other:
        break;
    }
    return outcome_kind::fatal;
}

outcome_kind kind_for_status(unsigned status) {
    if (status >= 200 && status < 300) return outcome_kind::success;
    if (status == 429 || status == 503) return outcome_kind::throttle;
    if (status >= 500 && status < 600) return outcome_kind::retry;  // 500, 502, 504, ...
    if (status == 408) return outcome_kind::retry;                   // request timeout
    return outcome_kind::fatal;  // other 4xx, and 1xx/3xx which S3 never ends an exchange with
}

// Status, then code. The code outranks the status; an unknown code on 2xx means
// S3 reported a failure inside a 200 (CompleteMultipartUpload does this): S3
// documents retrying such answers, and the completion is idempotent for the
// same upload id, so retrying an unknown one is the safe side.
outcome_kind kind_for_response(unsigned status, std::string_view s3_code) {
    if (const auto by_code = kind_for_code(s3_code)) return *by_code;
    const auto by_status = kind_for_status(status);
    if (by_status == outcome_kind::success && !s3_code.empty()) return outcome_kind::retry;
    return by_status;
}

// "503 SlowDown" when S3 named the error, "HTTP 503" when only the status did.
std::string response_reason(unsigned status, std::string_view s3_code) {
    if (s3_code.empty()) return "HTTP " + std::to_string(status);
    return std::to_string(status) + " " + std::string{s3_code};
}

} // namespace

std::string_view to_string(outcome_kind kind) {
    switch (kind) {
    case outcome_kind::success: return "success";
    case outcome_kind::retry: return "retry";
    case outcome_kind::throttle: return "throttle";
    case outcome_kind::fatal: return "fatal";
    }
    return "unknown";
}

std::string_view to_string(transport_error error) {
    switch (error) {
    case transport_error::none: return "no transport error";
    case transport_error::connection_reset: return "connection reset";
    case transport_error::connection_refused: return "connection refused";
    case transport_error::connection_aborted: return "connection aborted";
    case transport_error::timeout: return "timeout";
    case transport_error::tls_handshake: return "TLS handshake failed";
    case transport_error::tls_verification: return "TLS certificate verification failed";
    case transport_error::name_resolution: return "name resolution failed";
    case transport_error::other: return "transport error";
    }
    return "unknown transport error";
}

outcome classify(transport_error error, unsigned status, std::string_view s3_code,
                 std::optional<std::string_view> retry_after) {
    outcome result;
    if (error != transport_error::none) {
        result.kind = kind_for_transport(error);
        result.reason = std::string{to_string(error)};
    } else {
        result.kind = kind_for_response(status, s3_code);
        result.reason = response_reason(status, s3_code);
    }
    const bool will_retry =
        result.kind == outcome_kind::retry || result.kind == outcome_kind::throttle;
    if (will_retry && retry_after) result.retry_after = parse_retry_after(*retry_after);
    return result;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
    // HTTP allows optional whitespace (SP / HTAB) around a field value.
    const auto first = value.find_first_not_of(" \t");
    if (first == std::string_view::npos) return std::nullopt;
    value = value.substr(first, value.find_last_not_of(" \t") - first + 1);

    // Digits only. Anything else, including an HTTP-date, gives nullopt.
    // Accumulating with saturation at the cap keeps any length overflow-free.
    std::uint32_t seconds = 0;
    for (const char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        seconds = seconds * 10 + static_cast<std::uint32_t>(c - '0');
        if (seconds > retry_after_cap) seconds = retry_after_cap + 1;
    }
    return std::chrono::seconds{std::min(seconds, retry_after_cap)};
}

} // namespace hoist::protocol
