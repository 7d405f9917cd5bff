// The S3 REST calls hoist makes, as request values with no I/O.
//
// A builder returns an `s3_request`: method, Host, raw path, query and headers,
// plus a small body where the call has one (CompleteMultipartUpload). Part and
// object payloads are streamed by the engine; their length is carried in
// `content_length` and their integrity value in a header. `sign` then adds the
// SigV4 headers. Payloads are signed as UNSIGNED-PAYLOAD (TLS protects them in
// transit, the checksum header lets S3 verify them); small XML bodies are signed
// with their real SHA-256.
#pragma once

#include "hoist/protocol/s3/endpoint.hpp"
#include "hoist/protocol/s3/xml.hpp"
#include "hoist/sigv4/post_policy.hpp"
#include "hoist/sigv4/signer.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hoist::protocol {

struct s3_request {
    std::string method;
    std::string host;                          // Host header
    std::string path;                          // raw, un-encoded
    std::vector<sigv4::query_param> query;     // decoded, wire order
    std::vector<sigv4::header> headers;        // without Host; signing appends to it
    std::string body;                          // small in-memory body, or empty
    std::uint64_t content_length = 0;          // body.size(), or the streamed payload's length
    std::string payload_hash = std::string(sigv4::unsigned_payload);
    // When set, sent as the request target verbatim (a presigned URL's path
    // and query, already encoded); path and query are then ignored.
    std::string raw_target;

    // The request target as sent: the path encoded once with '/' kept, then the
    // query in wire order ("?uploads", "?partNumber=1&uploadId=...").
    std::string target() const;
    // The value of a header (case-insensitive name), if present.
    std::optional<std::string> header_value(std::string_view name) const;
};

// A part's or object's integrity value, computed once and sent on every try.
struct integrity {
    enum class kind { none, crc32c, md5 } type = kind::none;
    std::string base64;   // the value for x-amz-checksum-crc32c or Content-MD5
    // With type crc32c: the body's MD5 (base64), sent as Content-MD5 beside the
    // CRC32C, for a store not known to check CRC32C (RGW 16 accepts the header
    // and ignores it, but verifies Content-MD5). Empty: not sent.
    std::string content_md5 = {};   // (defaulted: {type, base64} initialisations stay complete)
};

std::string_view to_string(integrity::kind);

// What a PutObject's or UploadPart's answer proves the server computed over
// what it stored: crc32c for an x-amz-checksum-crc32c echo equal to ours (AWS
// sends it back; stores that ignore the header send nothing), md5 for an ETag
// that is the hex MD5 we sent (type md5, or content_md5 beside a crc32c; a
// single PUT's or a part's ETag is its MD5, except under SSE-KMS), none
// otherwise. A 200 alone proves nothing: some stores accept both headers and
// check neither.
integrity::kind integrity_confirmed_by(const integrity& sent, std::optional<std::string_view> echoed_crc32c,
                                       std::string_view etag);
// integrity_confirmed_by(...) != none: a confirmed PUT needs no HeadObject after it.
bool integrity_confirmed(const integrity& sent, std::optional<std::string_view> echoed_crc32c,
                         std::string_view etag);

s3_request create_multipart_upload(const object_location& loc, integrity::kind checksum,
                                   const std::string& content_type = "application/octet-stream");
s3_request upload_part(const object_location& loc, const std::string& upload_id,
                       std::uint32_t part_number, std::uint64_t content_length, const integrity& check);
s3_request complete_multipart_upload(const object_location& loc, const std::string& upload_id,
                                     const std::vector<completed_part>& parts);
s3_request abort_multipart_upload(const object_location& loc, const std::string& upload_id);
// One page of at most `max_parts` (S3's maximum, 1,000) after `part_number_marker`.
s3_request list_parts(const object_location& loc, const std::string& upload_id,
                      std::uint32_t part_number_marker = 0, std::uint32_t max_parts = 1000);
// The bucket's in-progress uploads under `prefix`; loc is a bucket location
// (locate(ep, bucket, "", style)). Asks encoding-type=url, as aws-cli does, so
// that keys with characters XML 1.0 cannot carry (control characters) survive;
// parse_list_uploads decodes them.
s3_request list_multipart_uploads(const object_location& loc, const std::string& prefix,
                                  const std::string& key_marker = {}, const std::string& upload_id_marker = {});
// One page (ListObjectsV2, list-type=2) of at most `max_keys` (1..1000, S3's
// maximum) of the bucket's objects under `prefix`, after the page whose answer
// carried `continuation_token` (empty: the first page). Keys come in UTF-8
// binary order; encoding-type=url as for list_multipart_uploads (decoded by
// parse_list_objects). loc is a bucket location.
s3_request list_objects_v2(const object_location& loc, const std::string& prefix,
                           const std::string& continuation_token = {}, std::uint32_t max_keys = 1000);
s3_request put_object(const object_location& loc, std::uint64_t content_length, const integrity& check,
                      const std::string& content_type = "application/octet-stream");
s3_request head_object(const object_location& loc);
// DeleteObjects (POST /?delete) of 1..1000 keys of the bucket at `loc` (empty
// key), quiet: the answer lists only the keys that failed. S3 refuses it
// without an integrity header; Content-MD5 is the one every S3-compatible
// store accepts.
s3_request delete_objects(const object_location& loc, const std::vector<std::string>& keys);

// Adds X-Amz-Date, x-amz-content-sha256, X-Amz-Security-Token (if any) and
// Authorization to req.headers. Throws sigv4::sigv4_error on bad input.
void sign(s3_request& req, const sigv4::signer& signer, const std::string& region, const sigv4::amz_date& date);

// A presigned URL taken apart for sending: where to connect, the Host header
// and the target exactly as signed.
struct presigned_target {
    endpoint ep;
    std::string host;
    std::string target;
};
// Throws address_error for anything but an absolute http(s) URL.
presigned_target parse_presigned_url(std::string_view url);

// A PUT of `content_length` streamed bytes to a presigned URL. Its signature
// covers Host only, so integrity can ride only in Content-MD5 (an unsigned
// x-amz-checksum-* header would be refused): a crc32c `check` is not sent.
s3_request presigned_put(const presigned_target& target, std::uint64_t content_length, const integrity& check);

// A presigned URL for `method` on loc (plus extra query, e.g. partNumber and
// uploadId for an UploadPart URL), signed for Host only with UNSIGNED-PAYLOAD.
std::string presign_url(const object_location& loc, const std::string& method,
                        const std::vector<sigv4::query_param>& extra_query, const sigv4::signer& signer,
                        const std::string& region, const sigv4::amz_date& date, std::chrono::seconds expires);

// A browser form upload (S3 POST Object with a SigV4 POST policy): the URL to
// post the form to, the bucket's URL as the AWS SDK for JavaScript gives it
// ("https://bucket.s3.REGION.amazonaws.com/" virtual-hosted,
// "http://host:port/bucket" path-style), and the signed form
// (sigv4::presign_post). Throws address_error for a bad bucket name or one that
// cannot be virtual-hosted when that is forced, sigv4_error for a bad policy.
struct presigned_post {
    std::string url;
    sigv4::post_form form;
};
presigned_post presign_post(const endpoint& ep, addressing style, const sigv4::post_policy& policy,
                            const sigv4::signer& signer, const std::string& region, const sigv4::amz_date& date);

} // namespace hoist::protocol
