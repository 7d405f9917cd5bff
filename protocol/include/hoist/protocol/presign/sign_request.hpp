// Uppy's signRequest mode against hoist serve: POST /v1/sign-request with
//   {"method", "key", "uploadId"?, "partNumber"?, "expiresIn"?, "contentType"?}
// answers {"url", "key"}: a URL presigned (SigV4 query, Host signed only) for
// the S3 request Uppy describes, which Uppy then sends itself.
//
//   PUT                      -> PutObject                 (hoist chooses the key)
//   POST                     -> CreateMultipartUpload     (hoist chooses the key; POST ?uploads)
//   PUT  + uploadId + n      -> UploadPart
//   POST + uploadId          -> CompleteMultipartUpload
//   GET  + uploadId          -> ListParts
//   DELETE + uploadId        -> AbortMultipartUpload
//
// Anything else (DeleteObject, GetObject, a part number where none belongs)
// is refused as not offered: the service grants uploads, not reads or deletes.
// For the two creating calls the key is the proposal's last path segment,
// sanitised, under PREFIX/USER/ (Uppy honours the answer's key there); every
// other call's key must already be the caller's (require_own_key, 403).
// Only Host is signed, so Uppy's Content-Type on PUT/Create/Complete is free.
// Pure: the time is passed in.
#pragma once

#include "hoist/protocol/presign/browser_routes.hpp"
#include "hoist/sigv4/signer.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hoist::protocol {

struct service_config;

enum class sign_request_kind { put_object, create_multipart_upload, upload_part, complete_multipart_upload,
                               list_parts, abort_multipart_upload };
std::string_view to_string(sign_request_kind);   // "PutObject", ...

struct sign_request_input {
    std::string method;                      // as sent, upper case
    std::string key;                         // non-empty
    std::string upload_id;                   // "" when absent
    std::optional<std::uint32_t> part_number;
    std::optional<std::int64_t> expires_in;  // seconds
    std::string content_type;                // accepted and unused: only Host is signed
};

// Throws api_error 400 invalid_json / invalid_request naming the field.
sign_request_input parse_sign_request(std::string_view body);

// The S3 call a request describes. Throws api_error 400 not_offered for
// another combination (its message says which calls are offered).
sign_request_kind classify_sign_request(const sign_request_input& request);

struct signed_s3_request {
    sign_request_kind kind;
    std::string url;
    std::string key;   // the key the URL is for (hoist's choice for the creating calls)
};

// The URL, valid for min(expiresIn, presign_expiry) seconds from `date`
// (expiresIn 1..presign_expiry, else 400 invalid_request). Throws api_error
// 400 (classify_sign_request, key_for_proposed_name) or 403 forbidden_key.
signed_s3_request sign_s3_request(const service_config& config, const sigv4::signer& signer, std::string_view user,
                                  const sign_request_input& request, std::int64_t unix_ms,
                                  const sigv4::amz_date& date);

// {"url", "key"}
std::string sign_request_response_json(const signed_s3_request& signed_request);

} // namespace hoist::protocol
