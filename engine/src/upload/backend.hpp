// The protocol steps of one upload, behind one interface with two backends:
// direct (our credentials, SigV4 on every request) and through a presign
// service (`hoist serve`: it creates, presigns, completes and aborts; parts go
// to the URLs it hands out, or through its proxy route). The driver
// (upload_job) owns the order of the steps, the permits and the failure
// policy; a backend only performs a step. A step either completes or throws
// step_error: one typed failure, with what the storage said.
#pragma once

#include "request_runner.hpp"

#include "hoist/engine/upload.hpp"
#include "hoist/protocol/s3/requests.hpp"
#include "hoist/protocol/s3/xml.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hoist::engine::detail {

class client_core;

class step_error : public std::runtime_error {
public:
    step_error(upload_errc code, const std::string& what, std::string s3_code = {}, unsigned status = 0,
               unsigned attempts = 0)
        : std::runtime_error(what), code(code), s3_code(std::move(s3_code)), status(status), attempts(attempts) {}
    // The failure of a request that ran out of retries or was refused.
    static step_error from(const call_result& r) { return step_error(r.code, r.error, r.s3_code, r.status, r.attempts); }

    upload_errc code;
    std::string s3_code;   // the storage's <Error><Code>, if it answered one
    unsigned status;       // the last HTTP status, 0 for transport errors
    unsigned attempts;
};

// What became of a multipart upload on the server, asked after a Complete
// whose answer never came.
enum class upload_state { open, gone };

// What names a multipart upload across runs (the resume journal keeps it):
// the upload id, and through a service the key it chose and its upload token.
struct upload_handle {
    std::string upload_id;
    std::string s3_key;
    std::string upload_token;
};

// A PutObject's or UploadPart's answer: the ETag, and the CRC32C the store
// echoed (x-amz-checksum-crc32c), if any. What they prove is
// protocol::integrity_confirmed_by's to say.
struct stored_body {
    std::string etag;
    std::optional<std::string> echoed_crc32c;
};

// One pool's connection counters at the time an upload began using it: the
// upload reports what changed since. (On a client shared by concurrent
// uploads to one endpoint, the others' connections show too.)
struct pool_usage {
    explicit pool_usage(connection_pool& p) : pool(&p), opened(p.opened()), reused(p.reused()), resumed(p.resumed()) {}
    void add_to(upload_result& r) const {
        r.connections_opened += pool->opened() - opened;
        r.connections_reused += pool->reused() - reused;
        r.tls_resumed += pool->resumed() - resumed;
    }
    connection_pool* pool;
    std::uint32_t opened, reused, resumed;
};

class upload_backend {
public:
    virtual ~upload_backend() = default;

    // The integrity value parts carry (through a service: md5; presigned URLs
    // sign only Host, so an x-amz-checksum-* header would be refused).
    virtual protocol::integrity::kind checksum() const = 0;
    // upload_result::method for a multipart upload / a single PUT.
    virtual std::string multipart_method() const = 0;
    virtual std::string single_method() const = 0;

    // CreateMultipartUpload. `size` is unknown for a stream. Returns the part
    // size the backend decides (a service plans the parts), or nullopt.
    virtual net::awaitable<std::optional<std::uint64_t>> create(std::optional<std::uint64_t> size) = 0;
    // Whether a body carrying CRC32C should carry Content-MD5 too: the store is
    // not known to check CRC32C (through a service, parts carry MD5 alone).
    virtual bool wants_content_md5() const { return false; }
    // What an answer showed about the store's CRC32C check (the direct backend
    // remembers it per endpoint, for every upload of the client).
    virtual void learn(const protocol::integrity&, const stored_body&) {}

    // UploadPart. `parts_total` is unknown (nullopt) for a
    // stream until its end.
    virtual net::awaitable<stored_body> upload_part(std::uint32_t number, body_source& body,
                                                    const protocol::integrity& check,
                                                    std::optional<std::uint32_t> parts_total) = 0;
    // CompleteMultipartUpload; returns the object's ETag if the answer gave one.
    // Never cut by a cancel: nothing may be aborted while it is in flight.
    virtual net::awaitable<std::string> complete(const std::vector<protocol::completed_part>& parts) = 0;
    // Whether the multipart upload still exists (ListParts).
    virtual net::awaitable<upload_state> state() = 0;
    // Confirms the stored object's size; returns its ETag if known.
    virtual net::awaitable<std::string> verify(std::uint64_t size) = 0;
    // AbortMultipartUpload (a missing upload counts as aborted). Not cancellable.
    virtual net::awaitable<void> abort() = 0;
    // One PutObject.
    virtual net::awaitable<stored_body> put_object(body_source& body, const protocol::integrity& check) = 0;

    // Every part the server holds (ListParts, all pages), or nullopt when the
    // upload is gone (NoSuchUpload). Throws step_error otherwise.
    virtual net::awaitable<std::optional<std::vector<protocol::part_info>>> list_parts() = 0;

    // The identity of the destination for the resume journal: the same text for
    // the same destination on every run.
    virtual std::string destination() const = 0;
    // This upload's handle, and taking over an earlier run's instead of create().
    virtual upload_handle handle() const = 0;
    virtual void adopt(const upload_handle& h) = 0;

    virtual const std::string& upload_id() const = 0;
    virtual std::string key() const = 0;
    virtual std::string fallback_reason() const { return {}; }
    // Opens `n` connections ahead of the first parts (direct uploads only).
    virtual void warm(std::size_t) {}
    // Adds the connections this upload opened and reused to `r`.
    virtual void count_connections(upload_result& r) const = 0;
};

std::unique_ptr<upload_backend> make_direct_backend(client_core& core, const upload_options& options,
                                                    request_runner& runner);
std::unique_ptr<upload_backend> make_via_backend(client_core& core, const upload_options& options,
                                                 request_runner& runner);

} // namespace hoist::engine::detail
