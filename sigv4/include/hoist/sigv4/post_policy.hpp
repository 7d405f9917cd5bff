// SigV4 POST policies: the signed form a browser posts straight to S3
// ("Browser-Based Uploads Using POST", Amazon S3 API Reference).
//
// A POST policy is a JSON document {"expiration": ..., "conditions": [...]}
// naming every form field the browser may send and what it may contain. The
// form carries the policy in base64 and X-Amz-Signature, the hex HMAC-SHA256
// of that base64 text under the SigV4 signing key of (day, region, "s3"): the
// signed string is the base64 policy itself, with no canonical request.
//
// The document is laid out as the AWS SDK for JavaScript v3
// (@aws-sdk/s3-presigned-post's createPresignedPost) lays it out, so that the
// same inputs give the same policy bytes and so the same signature (tested in
// tests/sdk_presign_post_test.cpp): compact JSON; expiration in whole seconds
// ("2024-03-15T13:34:56Z"); conditions in this order, an exact duplicate kept
// once: the extra conditions, one {"name": "value"} per extra field, bucket,
// X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Security-Token (with a
// session token), then the key. Form field names are matched by S3 without
// regard to case; the SDK's capitals (X-Amz-*, Policy) are the ones the AWS
// documentation's form uses too.
//
// Pure: the date is passed in, nothing is read from a clock.
#pragma once

#include "hoist/sigv4/signer.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hoist::sigv4 {

// One condition beyond the exact-match ones that fields imply.
struct post_condition {
    enum class kind { equals, starts_with, content_length_range };
    kind type = kind::equals;
    std::string field;   // form field name without '$' ("Content-Type", "x-amz-meta-tag")
    std::string value;   // equals / starts_with: the value or prefix ("" allows anything)
    std::uint64_t min = 0;   // content_length_range: bytes, inclusive
    std::uint64_t max = 0;

    // ["eq", "$field", "value"]
    static post_condition equals(std::string field, std::string value);
    // ["starts-with", "$field", "prefix"]
    static post_condition starts_with(std::string field, std::string prefix);
    // ["content-length-range", min, max]: the file's size must be within.
    static post_condition content_length_range(std::uint64_t min, std::uint64_t max);
};

using form_field = std::pair<std::string, std::string>;   // name, value

struct post_policy {
    std::string bucket;
    // The object key. One ending in "${filename}" lets S3 put the browser's
    // file name there: the policy then allows any key starting with what comes
    // before it (as the SDK does), and the form's key field keeps "${filename}".
    std::string key;
    // Extra form fields, each sent as is and required by the policy exactly:
    // Content-Type, success_action_status, acl, x-amz-meta-*, ...
    std::vector<form_field> fields;
    // Extra conditions, written before everything else.
    std::vector<post_condition> conditions;
    // Lifetime from the signing date, 1..604800 s: the limit SigV4 sets on a
    // presigned URL. S3 does not bound a policy's expiration itself, but a form
    // is the same bearer grant as a presigned PUT and gets the same bound.
    std::chrono::seconds expires{3600};
};

struct post_form {
    // Every form field, in the order the SDK returns them: the extra fields,
    // bucket, X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
    // [X-Amz-Security-Token], key, Policy, X-Amz-Signature. The file goes after
    // all of them: S3 ignores fields that follow it.
    std::vector<form_field> fields;
    std::string policy_json;    // the document, as encoded
    std::string policy;         // its base64: the string to sign
    std::string signature;      // 64 lowercase hex digits
};

// Builds, encodes and signs the policy for `region` at `date`. Throws
// sigv4_error for an empty bucket or key, a bad region, expires outside
// 1..604800 s, a range with min > max, a field name that is empty or not an
// HTTP token, a field given twice (names compare without case), or a field
// the form sets itself (bucket, key, policy, file, x-amz-algorithm,
// x-amz-credential, x-amz-date, x-amz-security-token, x-amz-signature).
post_form presign_post(const signer& signer, const post_policy& policy, std::string_view region,
                       const amz_date& date);

// The policy document alone (what presign_post encodes), for tests and for
// callers that sign elsewhere. Same checks, same errors.
std::string post_policy_document(const credentials& creds, const post_policy& policy, std::string_view region,
                                 const amz_date& date);

// X-Amz-Signature of an already encoded policy: hex HMAC-SHA256 of
// `policy_base64`, byte for byte as given, under the signing key of (date's
// day, region, service). Throws sigv4_error for an empty policy or a bad
// region or service.
std::string sign_post_policy(const signer& signer, std::string_view policy_base64, std::string_view region,
                             const amz_date& date, std::string_view service = "s3");

} // namespace hoist::sigv4
