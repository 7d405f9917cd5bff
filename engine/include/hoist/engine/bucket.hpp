// Bucket-level operations on a hoist::engine::client: the in-progress
// multipart uploads (list, abort) and a streamed object listing.
//
//   hoist::engine::client client;                              // its own thread
//   hoist::engine::upload_options bucket;                      // location with an empty key: the bucket
//   bucket.location = hoist::protocol::locate(endpoint, "bucket", "", hoist::protocol::addressing::automatic);
//   for (const auto& u : hoist::engine::list_multipart_uploads(client, bucket, "logs/"))
//       hoist::engine::abort_multipart_upload(client, with_key(bucket, u.key), u.upload_id);
//
// Every call blocks until its requests are done. They run on the client's
// executor, over its connection pools and budget (shared with the uploads it
// runs), with the retry policy of `upload_options` (max_attempts, backoff,
// timeouts, TLS). Only a client with its own thread can run them
// (std::logic_error otherwise, or when called from that thread), and it must
// outlive the call. Failures throw upload_error: `rejected` when S3 refused
// (the message names the S3 error code and the request id) or answered what is
// not S3's XML, `retries_exhausted` when a retryable failure persisted.
//
// This header does not include Asio.
#pragma once

#include "hoist/engine/upload.hpp"
#include "hoist/protocol/s3/xml.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hoist::engine {

class client;

struct multipart_upload {
    std::string key;
    std::string upload_id;
    std::string initiated;                  // ISO 8601, as S3 sent it
    // With count_parts: what ListParts says the upload holds so far.
    std::optional<std::uint32_t> parts;
    std::optional<std::uint64_t> bytes;
};

struct list_uploads_options {
    // One ListParts (a page per 1,000 parts) per upload, for `parts` and `bytes`.
    bool count_parts = false;
    // A bound on the listing: more uploads than this is an error rather than
    // memory that grows without end (S3 lists 1,000 a page).
    std::size_t max_uploads = 1'000'000;
};

// Every in-progress multipart upload whose key starts with `prefix`, in S3's
// order (by key, then by initiation), all pages. `bucket.location` is a bucket
// location (empty key; std::invalid_argument otherwise). An upload that ends
// while its parts are counted (NoSuchUpload) is left out: it is no longer in
// progress.
std::vector<multipart_upload> list_multipart_uploads(client& c, const upload_options& bucket,
                                                     const std::string& prefix, list_uploads_options options = {});

// Aborts one multipart upload; `object.location` names its key. An upload that
// is already gone (NoSuchUpload, e.g. an earlier attempt's abort went through)
// counts as aborted.
void abort_multipart_upload(client& c, const upload_options& object, const std::string& upload_id);

struct delete_outcome {
    std::uint64_t deleted = 0;                        // keys the server did not report as failed
    std::vector<protocol::delete_failure> failures;   // keys it could not delete, with its reason
};

// Deletes `keys` from the bucket of `bucket.location` (empty key) with
// DeleteObjects, 1,000 keys a request, `requests_in_flight` requests at once.
// A key that does not exist counts as deleted (S3 says so too). Throws
// upload_error when a request fails as a whole; the keys of the requests
// that succeeded before it are deleted.
delete_outcome delete_objects(client& c, const upload_options& bucket, const std::vector<std::string>& keys,
                              std::size_t requests_in_flight = 4);

// The objects whose key starts with `prefix`, one ListObjectsV2 page of at
// most `page_size` (1..1000) at a time: memory holds one page however large
// the bucket. Keys come in the server's order (S3: UTF-8 binary order), decoded
// from encoding-type=url. Not thread-safe; the client must outlive the lister.
class object_lister {
public:
    object_lister(client& c, upload_options bucket, std::string prefix, std::uint32_t page_size = 1000);

    // The next object, fetching the next page when this one is used up
    // (blocking); nullopt after the last. Throws upload_error.
    std::optional<protocol::object_info> next();
    // Pages fetched so far.
    std::uint64_t pages() const noexcept { return pages_; }

private:
    void fetch();

    client& client_;
    upload_options bucket_;
    std::string prefix_;
    std::uint32_t page_size_;
    std::vector<protocol::object_info> page_;
    std::size_t position_ = 0;
    std::string token_;          // the next page's continuation token
    bool last_page_ = false;     // the current page is the last one
    std::uint64_t pages_ = 0;
};

} // namespace hoist::engine
