// A strict in-process S3 server for the engine's integration tests.
//
// It speaks HTTP/1.1 over TLS (or plain TCP) on 127.0.0.1, path-style only, and
// implements the calls hoist makes: CreateMultipartUpload, UploadPart,
// CompleteMultipartUpload, AbortMultipartUpload, ListParts, PutObject,
// HeadObject, ListMultipartUploads, DeleteObjects (Content-MD5 required, as in
// S3) and ListObjectsV2 (prefix, markers or
// continuation tokens, page sizes, encoding-type=url; keys in UTF-8 binary
// order; no delimiter). It is strict where
// S3 is: every request must carry a valid SigV4 signature (Authorization header
// or presigned query), payload hashes, Content-MD5 and x-amz-checksum-crc32c are
// verified, part sizes, part order, ETags and declared checksums are checked at
// Complete. Errors are S3's <Error> documents with S3's codes and statuses.
//
// Faults are scripted with `inject`: the n-th matching request *after the
// injection* gets the fault, once. That makes a test read as a script ("the
// first upload of part 3 is reset") regardless of earlier traffic.
//
// Threading: the server runs its own io_context on its own thread. All public
// member functions are thread-safe. The destructor closes every socket, stops
// the io_context and joins within a few seconds even when a connection is
// stalled. Beast and Asio stay out of this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::test {

enum class s3_op { create, upload_part, complete, abort, list_parts, put_object, head_object, list_uploads, list_objects,
                    delete_objects, other };

enum class fault_kind {
    reset_mid_body,    // read about half the declared body, then close with RST (SO_LINGER 0)
    status_500,        // answer 500 InternalError XML (after reading the body)
    slow_down_503,     // 503 SlowDown XML with "Retry-After: <retry_after_s>" (after reading the body)
    stall,             // read about half the body, stop reading for `delay`, then close (no response)
    connection_close,  // serve normally, answer with "Connection: close" and close after
    error_in_200,      // answer 200 OK with an <Error><Code>InternalError</Code> body; nothing is done
    slow_first_byte,   // process normally but wait `delay` before writing the response
    slow_body,         // read the body one read (one TLS record, or <= 64 KiB plain) per `delay`, then serve normally
    no_such_upload,    // 404 NoSuchUpload; nothing is done
    access_denied,     // 403 AccessDenied; nothing is done
    no_such_key,       // 404 NoSuchKey (Ceph RGW 16's answer to ListParts on an aborted upload); nothing is done
    corrupt_body,      // one byte of the body is flipped on arrival (a damaged path), then served normally
};

struct fault {
    fault_kind kind;
    std::chrono::milliseconds delay{0};   // stall, slow_first_byte, slow_body
    int retry_after_s = 1;                // slow_down_503
};

// Which request gets a fault: the `occurrence`-th request (1-based, counted from
// the injection) of `op`, and of that part number when one is given.
struct match {
    s3_op op;
    std::optional<std::uint32_t> part_number;
    int occurrence = 1;
};

std::string_view to_string(s3_op);          // "UploadPart", ...
std::string_view to_string(fault_kind);     // "reset_mid_body", ...

// Integrity helpers the tests (and the server) use. CRC32C is Castagnoli as S3
// uses it: crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::string_view data);
std::string crc32c_base64(std::string_view data);   // x-amz-checksum-crc32c: base64 of the big-endian CRC
std::string md5_base64(std::string_view data);      // Content-MD5
std::string md5_hex(std::string_view data);         // a part's ETag, without quotes

class s3_test_server {
public:
    struct options {
        std::string access_key_id = "AKIDHOISTTEST";
        std::string secret = "hoist/test+secret";
        std::string region = "us-east-1";
        bool tls = true;
        std::uint64_t min_part_size = 5 * 1024 * 1024;   // every part but the last, at Complete
        std::size_t max_parts_per_page = 1000;            // ListParts page cap (S3: 1000)
        std::size_t max_uploads_per_page = 1000;          // ListMultipartUploads page cap (S3: 1000)
        std::size_t max_keys_per_page = 1000;             // ListObjectsV2 page cap (S3: 1000)
        std::chrono::seconds idle_timeout{30};            // kept-alive connection without a request
        // Every answer is written this long after its request was read (a
        // known server latency, for measuring a client's latency figures).
        std::chrono::milliseconds response_delay{0};
        // false: like Ceph RGW 16, x-amz-checksum-crc32c (and a declared
        // checksum algorithm) is accepted and ignored: neither checked, nor
        // stored, nor echoed. Content-MD5 is still verified.
        bool checks_crc32c = true;
        int receive_buffer = 0;   // SO_RCVBUF of every accepted socket (0: the kernel's autotuning); a small one
                                  // keeps a slow_body reader from holding megabytes it has not yet read
    };

    struct stats {
        int connections = 0;          // accepted TCP connections
        int requests = 0;             // request headers read
        int signature_failures = 0;   // requests refused for authentication
        int integrity_failures = 0;   // BadDigest, InvalidDigest, XAmzContentSHA256Mismatch
        int content_md5_checked = 0;  // requests whose Content-MD5 matched their body
        std::map<s3_op, int> by_op;
        std::uint64_t part_bytes = 0; // body bytes of the parts stored (UploadPart answered 200)
    };

    // Binds 127.0.0.1:0, generates the certificate (tls), starts the thread.
    // Throws std::runtime_error / boost::system::system_error on failure.
    // (Two constructors rather than `options = {}`: a nested struct with default
    // member initializers cannot be a default argument inside its own class.)
    s3_test_server();
    explicit s3_test_server(options);
    ~s3_test_server();
    s3_test_server(const s3_test_server&) = delete;
    s3_test_server& operator=(const s3_test_server&) = delete;

    std::uint16_t port() const;
    std::string endpoint_url() const;      // "https://127.0.0.1:PORT" (or http://)
    const std::string& ca_file() const;    // PEM of the self-signed certificate; empty when !tls
    const options& config() const;

    void create_bucket(const std::string& bucket);
    // Test set-up without HTTP: an open multipart upload (no checksum declared)
    // with these parts (numbered from 1) initiated at `initiated` (default:
    // now), and its id; an object stored as a PutObject would.
    std::string seed_upload(const std::string& bucket, const std::string& key, const std::vector<std::string>& parts = {},
                            std::optional<std::chrono::system_clock::time_point> initiated = std::nullopt);
    void seed_object(const std::string& bucket, const std::string& key, std::string data);
    void inject(match, fault);

    std::optional<std::string> object(const std::string& bucket, const std::string& key) const;
    std::vector<std::string> object_keys(const std::string& bucket) const;   // the bucket's listing, in key order
    std::vector<std::string> open_uploads() const;      // neither completed nor aborted
    std::vector<std::string> aborted_uploads() const;
    // What a store may do behind a client's back: part `n` of an open upload
    // is gone (false if there was none).
    bool forget_part(const std::string& upload_id, std::uint32_t n);
    stats statistics() const;
    // One line per request, e.g. "PUT UploadPart part=3 -> 200",
    // "POST CompleteMultipartUpload -> 400 InvalidPart", "PUT UploadPart part=1 -> reset (fault)".
    // Never a signature, credential or body.
    std::vector<std::string> log() const;

    class impl;

private:
    std::unique_ptr<impl> impl_;
};

} // namespace hoist::test
