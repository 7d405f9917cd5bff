// hoist's public upload API: put a file or a stream into S3-compatible storage.
//
//   hoist::engine::upload_options opts;
//   opts.location = hoist::protocol::locate(endpoint, "bucket", "key", hoist::protocol::addressing::automatic);
//   opts.region = "us-east-1";
//   opts.signer = std::make_shared<hoist::sigv4::signer>(creds);
//   auto result = hoist::engine::upload_file("big.bin", opts, on_progress);   // throws upload_error
//
// Files of `multipart_threshold` bytes or more go up as a multipart upload:
// `concurrency` parts at a time over a pool of kept-alive HTTP/1.1 (TLS)
// connections, each part streamed from the file in slices and retried on its
// own with full-jitter backoff. Smaller files go up in one PutObject. A
// HeadObject confirms the stored size. On failure or cancellation the multipart
// upload is aborted (unless keep_on_failure) and upload_error says why.
//
// This header does not include Asio or Beast. The blocking functions below are
// one-shot wrappers: each runs a client (client.hpp) of its own for the one
// upload and waits for it. To run many uploads on one pool, or to co_await
// them on your own io_context, use hoist::engine::client. `cancel_token::cancel()`
// may be called from any thread (or a signal handler's thread) to stop an upload.
#pragma once

#include "hoist/protocol/s3/endpoint.hpp"
#include "hoist/protocol/s3/requests.hpp"
#include "hoist/sigv4/signer.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace hoist::engine {

struct tls_options {
    bool verify = true;        // certificate and host name verification
    std::string ca_file;       // PEM bundle; empty = the system store
};

// Upload through a presign service (`hoist serve`) instead of with our own
// credentials: the service creates the upload and presigns part URLs; parts go
// straight to storage; when presigned PUTs are refused or blocked, parts go
// through the service's proxy route instead.
struct via_service {
    protocol::endpoint service;          // e.g. https://uploads.example.com
    sigv4::secret_string bearer_token;   // "Authorization: Bearer ..."
    std::string file_name;               // the name the service sanitises into the key
};

// One S3 request as the engine made it: a call with its retries (a part, a
// PutObject, a Create, ...), for benchmarks (upload_options::on_request).
struct request_observation {
    // "PutObject", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload",
    // "HeadObject", "AbortMultipartUpload", "ListParts"; through a presign
    // service, "UploadPart" and "service ..." calls.
    std::string_view kind;
    std::uint32_t part = 0;                                 // UploadPart's number, else 0
    std::chrono::system_clock::time_point start;            // the call began (before its first connection)
    std::chrono::steady_clock::duration duration{};         // to the end of its last attempt
    // The last attempt's time from its request's last byte written to the
    // response header read (the server's think time plus a round trip);
    // negative when no response header arrived.
    std::chrono::steady_clock::duration first_byte{-1};
    std::uint64_t bytes = 0;     // request body bytes (a part's or object's size; XML for Complete)
    bool ok = false;
    unsigned status = 0;         // the last HTTP status, 0 for a transport error or none
    std::string error;           // when !ok: the S3 code ("SlowDown"), else "cancelled", "transport", ...
    unsigned retries = 0;        // attempts after the first, reset-after-progress ones included
};

// Called once per call as it ends, on the client's executor: must be cheap and
// must not throw. Unset (the default) costs nothing.
using request_observer = std::function<void(const request_observation&)>;

struct upload_options {
    // Set to upload through a presign service; then location, region and
    // signer are not used (the service holds the credentials).
    std::optional<via_service> via;

    protocol::object_location location;          // endpoint, Host, path of the destination object
    std::string region;
    std::shared_ptr<const sigv4::signer> signer;

    // 8 MiB parts, 8 at a time: the defaults of aws-cli and the AWS CRT, which
    // keep 64 MiB in flight -- enough to fill a 1 Gbit/s link at 500 ms RTT with
    // BBR -- while a lost part costs at most 8 MiB of resend. The part size is a
    // floor: protocol::plan_parts grows it for files above 78 GiB.
    std::uint64_t part_size = 8 * 1024 * 1024;
    unsigned concurrency = 8;
    // A file that would make fewer than `concurrency` parts gets smaller ones
    // (never below 5 MiB; protocol::spread_part_size) so that every connection
    // carries a share: 10 MB goes as 5 MiB + 4.8 MB on two flows rather than
    // 8 MiB + 1.6 MB, most of it on one, which a lossy link with CUBIC punishes
    // (engine/DESIGN.md has the measurement). Off keeps parts
    // of exactly part_size (what tools that recompute multipart ETags assume);
    // `hoist cp` turns it off when --part-size is given.
    bool spread_small_files = true;
    // Fewer parts in flight where more flows cannot help: under BBR an upload
    // of two parts goes one part at a time (protocol::parts_in_flight has the
    // reason and the measurement). `hoist cp` turns it off when --concurrency
    // is given, so an explicit number is always what runs.
    bool fit_parts_in_flight = true;
    // The congestion control of the upload's sockets, as the kernel names it;
    // empty: ask the kernel (engine's default_congestion_control). Tests set it.
    std::string congestion_control;
    // Below this, one PutObject: a multipart upload costs two extra round trips.
    std::uint64_t multipart_threshold = 8 * 1024 * 1024;
    // Attempts per request (part, create, complete), the first included.
    unsigned max_attempts = 5;
    std::chrono::milliseconds backoff_base{200};
    std::chrono::milliseconds backoff_cap{20'000};
    bool backoff_jitter = true;                  // full jitter; off = fixed doubling delays
    protocol::integrity::kind checksum = protocol::integrity::kind::crc32c;

    std::chrono::seconds connect_timeout{10};    // TCP connect and TLS handshake, each
    std::chrono::seconds response_timeout{60};   // first response byte after the request is sent
    std::chrono::seconds stall_timeout{30};      // no upload progress for this long abandons the attempt
    std::chrono::seconds idle_timeout{20};       // a pooled connection unused this long is closed
    tls_options tls;
    // Kernel pacing of every connection: with CUBIC, connections in slow start
    // otherwise burst into a shallow bottleneck queue together (engine/DESIGN.md
    // has the measurement); BBR paces itself.
    bool tcp_pacing = true;

    // A cap on this upload's bytes per second (its part bodies), on top of
    // its client's client_options::max_bytes_per_second; 0: none. The one-shot
    // upload_file and upload_stream have no other cap. Same bucket rules as the
    // client's (100 ms of burst, FIFO turns, waiting is not a stall).
    std::uint64_t max_bytes_per_second = 0;

    bool keep_on_failure = false;   // do not abort a failed multipart upload (its id is in the error)
    // Resume an interrupted multipart upload of the same regular file to the
    // same destination (streams never resume): a journal entry per upload
    // under `state_dir` records the upload id, the file's identity (size, mtime,
    // inode, device) and each confirmed part; the next run asks ListParts and
    // sends only the parts the server and the journal do not both confirm. A
    // changed file starts over and its old upload is aborted. The entry goes
    // when the upload completes or is aborted; it stays after a crash, or a
    // failure with keep_on_failure (or whose abort failed). Off in the library
    // (it writes to the user's state directory); `hoist cp` turns it on.
    bool resume = false;
    // Where the journal lives; empty: $XDG_STATE_HOME/hoist/uploads, else
    // ~/.local/state/hoist/uploads.
    std::string state_dir;
    std::string content_type = "application/octet-stream";
    std::uint64_t slice_size = 128 * 1024;      // read-and-send unit of a streamed part (x concurrency = send buffers)
    std::uint64_t seed = 0;                     // backoff jitter seed; 0 = random
    request_observer on_request;                // every request of the upload, as it ends (benchmarks)
};

// A snapshot of an upload in progress.
struct progress {
    std::optional<std::uint64_t> bytes_total;   // unknown for stdin
    std::uint64_t bytes_acked = 0;              // in parts/objects the server confirmed
    std::uint64_t bytes_in_flight = 0;          // sent, not yet confirmed
    std::uint32_t parts_done = 0;
    std::uint32_t parts_total = 0;              // 0 while unknown (stdin)
    std::uint32_t retries = 0;
    std::uint64_t bytes_resumed = 0;            // of bytes_acked, confirmed by an earlier run (not sent again)
    double rate_bytes_per_s = 0;                // recent rate over the last few seconds
    std::chrono::duration<double> elapsed{};
    std::string method;                          // as upload_result::method
};

using progress_callback = std::function<void(const progress&)>;

struct upload_result {
    std::uint64_t bytes = 0;
    double seconds = 0;
    std::uint32_t parts = 0;
    std::uint32_t retries = 0;
    std::uint32_t connections_opened = 0;
    std::uint32_t connections_reused = 0;
    std::uint32_t tls_resumed = 0;      // new connections that resumed a TLS session
    std::string method;                 // "multipart", "put"; via a service: "presigned-s3", "chunked-s3", "single-put"
    std::string etag;
    std::string upload_id;              // multipart only
    // What the store verified for every body sent (not what was asked for):
    // "crc32c" (it echoed ours), "md5" (the ETag was the MD5 we sent as
    // Content-MD5; chosen by itself on stores that ignore CRC32C) or "none"
    // (then integrity_note says why).
    std::string checksum;
    std::string key;                    // the object key (via a service: the one it chose)
    std::uint64_t part_size = 0;        // as planned (grown, or the service's)
    std::uint32_t parts_in_flight = 0;  // parts sent at once, as planned (0: a single PutObject)
    std::string congestion_control;     // of the sockets, as the kernel names it ("" unknown)
    std::string fallback_reason;        // via: why presigned PUTs gave way to the proxy, if they did
    // Resume (upload_options::resume): what an earlier run had stored and was
    // not sent again, and why an interrupted upload was not continued ("" if
    // there was none, or it was).
    std::uint64_t bytes_resumed = 0;
    std::uint32_t parts_resumed = 0;
    std::string resume_note;
    // Set when the store confirmed no checksum for some body: a warning.
    std::string integrity_note;
};

enum class upload_errc {
    rejected,           // S3 answered with a fatal error (AccessDenied, NoSuchBucket, ...)
    retries_exhausted,  // a retryable failure persisted through every attempt
    cancelled,          // cancel_token::cancel()
    source_changed,     // the file changed size or mtime during the upload
    source_error,       // the file or stream could not be read
    verification_failed,// HeadObject disagrees with what was sent
    invalid_argument,   // options that cannot work (caught before any request)
};

std::string_view to_string(upload_errc);

class upload_error : public std::runtime_error {
public:
    upload_error(upload_errc code, const std::string& what, std::string upload_id = {}, bool aborted = false)
        : std::runtime_error(what), code_(code), upload_id_(std::move(upload_id)), aborted_(aborted) {}
    upload_errc code() const noexcept { return code_; }
    // The multipart upload left behind (keep_on_failure, or an abort that
    // failed) or aborted; empty when none was created.
    const std::string& upload_id() const noexcept { return upload_id_; }
    bool aborted() const noexcept { return aborted_; }

private:
    upload_errc code_;
    std::string upload_id_;
    bool aborted_;
};

// Thread-safe cancellation: cancel() stops the upload as soon as possible;
// the in-flight requests are cut, and the multipart upload is aborted.
class cancel_token {
public:
    cancel_token();
    void cancel() const;
    bool cancelled() const noexcept;

    struct state;
    std::shared_ptr<state> shared() const { return state_; }

private:
    std::shared_ptr<state> state_;
};

// The resume journal's directory (upload_options::state_dir when empty):
// $XDG_STATE_HOME/hoist/uploads if that is set and absolute (the XDG spec
// ignores relative values) and its parent exists, else
// $HOME/.local/state/hoist/uploads if HOME is an existing directory; empty
// when neither is usable. `env` looks a variable up (std::getenv for the process's).
std::string default_state_dir(const std::function<std::optional<std::string>(const std::string&)>& env);

// Uploads a regular file (or, for "-", standard input: a regular file behind
// stdin is read positionally, a pipe as a stream of unknown size). Blocks.
// Throws upload_error.
upload_result upload_file(const std::string& path, const upload_options& options,
                          progress_callback on_progress = {}, cancel_token cancel = {});

// Uploads everything read from `fd` (a pipe, socket or file) until EOF, as a
// stream of unknown size, buffering at most `concurrency` parts. Blocks.
upload_result upload_stream(int fd, const upload_options& options, progress_callback on_progress = {},
                            cancel_token cancel = {});

} // namespace hoist::engine
