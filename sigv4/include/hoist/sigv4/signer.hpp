// AWS Signature Version 4: the Authorization header and presigned URLs.
//
// The signer is pure: it takes a request description and a time, and returns
// the canonical request, the string to sign, the signature and exactly what to
// add to the request. It never reads a clock; callers pass an `amz_date`.
//
// S3's rules are the defaults: the path is encoded once and never normalised,
// and the payload hash may be `UNSIGNED-PAYLOAD`. The generic SigV4 test suite
// needs path normalisation and an unsigned session token for some cases; those
// are options in `signing_params`.
#pragma once

#include "hoist/sigv4/credentials.hpp"
#include "hoist/sigv4/encoding.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace hoist::sigv4 {

// A UTC time in ISO 8601 basic format, "20150830T123600Z".
class amz_date {
public:
    // Throws sigv4_error unless `text` is YYYYMMDDTHHMMSSZ with a real calendar
    // date and time (year 1970-2261, month 1-12, day within the month,
    // 00-23:00-59:00-60); the years are those time_point() can represent.
    static amz_date parse(std::string_view text);
    static amz_date from(std::chrono::system_clock::time_point when);

    const std::string& iso() const noexcept { return iso_; }
    std::string_view day() const noexcept { return std::string_view(iso_).substr(0, 8); }
    std::chrono::system_clock::time_point time_point() const;

private:
    explicit amz_date(std::string iso) : iso_(std::move(iso)) {}
    std::string iso_;
};

struct header {
    std::string name;
    std::string value;
};

using query_param = std::pair<std::string, std::string>;  // decoded name, decoded value

// What is signed. Path and query are *decoded*: the signer encodes them once.
struct request {
    std::string method;                 // "GET", "PUT", ...
    std::string path = "/";             // raw, e.g. "/bucket/my key+1.txt"
    std::vector<query_param> query;     // in wire order; "?uploads" is {"uploads", ""}
    std::vector<header> headers;        // as sent, Host included, duplicates allowed
    std::string payload_hash = std::string(empty_payload_sha256);  // hex SHA-256 or UNSIGNED-PAYLOAD
};

struct signing_params {
    std::string region;                 // non-empty, e.g. "us-east-1"
    std::string service = "s3";
    amz_date date = amz_date::parse("19700101T000000Z");
    // Header mode: add and sign `x-amz-content-sha256` (S3 requires it).
    bool content_sha256_header = true;
    // Generic SigV4 only (never for S3): remove "." and ".." segments and
    // collapse "//" before encoding.
    bool normalize_path = false;
    // Test-suite only: send the session token but leave it out of the signature.
    bool omit_session_token = false;
};

struct signature_result {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signature;              // 64 lowercase hex digits
    std::string signed_headers;         // "host;x-amz-date"
    std::string canonical_query;        // sorted, encoded; in query mode includes X-Amz-* but not the signature
    // Header mode: headers to append, in this order: X-Amz-Security-Token,
    // X-Amz-Date, x-amz-content-sha256, Authorization.
    std::vector<header> added_headers;
    // Query mode: parameters to append (decoded) in the order AWS's own signer
    // appends them: Algorithm, Credential, Date, SignedHeaders, Expires,
    // Security-Token, Signature.
    std::vector<query_param> added_query;
};

inline constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::chrono::seconds max_presign_expiry{604800};  // 7 days, SigV4's limit

// Pure building blocks, public for the tests and for server-side verification.
std::string canonical_uri(std::string_view path, bool normalize);
std::string canonical_query_string(const std::vector<query_param>& query);
// Lowercased, trimmed, whitespace-collapsed, repeated names joined with ','.
// Returns {block with trailing '\n' per header, "a;b;c"}.
std::pair<std::string, std::string> canonical_headers(const std::vector<header>& headers);
std::string credential_scope(const amz_date& date, std::string_view region, std::string_view service);

// The query string of a presigned URL as the AWS SDKs write it: the canonical
// (sorted, encoded) query, then X-Amz-Signature last. `presigned` comes from
// signer::presign.
std::string presigned_query(const signature_result& presigned);

// Signs with one set of credentials; derives the signing key once per
// (day, region, service) and caches it. Safe to share between threads.
class signer {
public:
    // Throws sigv4_error for an empty key id or secret.
    explicit signer(credentials creds);

    const credentials& creds() const noexcept { return creds_; }

    // Authorization-header signing. Throws sigv4_error for an empty region or
    // service, or a request without a Host header.
    signature_result sign_headers(const request& req, const signing_params& params) const;

    // Query signing for a presigned URL. `expires` must be 1..604800 s.
    signature_result presign(const request& req, const signing_params& params,
                             std::chrono::seconds expires) const;

    // HMAC(HMAC(HMAC(HMAC("AWS4"+secret, day), region), service), "aws4_request").
    sha256_digest signing_key(const amz_date& date, std::string_view region,
                              std::string_view service) const;

private:
    std::string sign(const std::string& string_to_sign, const amz_date& date,
                     std::string_view region, std::string_view service) const;

    credentials creds_;
    mutable std::mutex cache_mutex_;
    mutable std::map<std::tuple<std::string, std::string, std::string>, sha256_digest> key_cache_;
};

} // namespace hoist::sigv4
