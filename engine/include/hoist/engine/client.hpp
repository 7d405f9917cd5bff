// hoist's client for many uploads: one executor, one connection pool per
// endpoint, one budget of connections and of buffered bytes, shared by every
// upload submitted to it. The async API for Asio users lives here; upload.hpp
// (options, results, the blocking one-shot functions) stays free of Asio.
//
//   hoist::engine::client client(io.get_executor());            // on your io_context
//   auto result = co_await client.async_upload(hoist::engine::upload_source::file("big.bin"),
//                                              options, {}, boost::asio::use_awaitable);
//
//   hoist::engine::client client;                                // its own thread
//   auto result = client.upload(hoist::engine::upload_source::file("big.bin"), options);   // blocks
//
// Sharing: uploads take connections from the client's budget in the order they
// ask (a FIFO queue per request), so a 10 GB upload's parts and a thousand
// small uploads take turns; each upload still sends at most its own
// `concurrency` parts at once.
#pragma once

#include "hoist/engine/upload.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>

namespace hoist::engine {

// What to upload.
class upload_source {
public:
    // A file by path ("-": standard input; a regular file behind it is read
    // positionally, a pipe as a stream).
    static upload_source file(std::string path) { return upload_source(kind::file, std::move(path), -1, {}); }
    // Everything read from `fd` until EOF, as a stream of unknown size. The
    // descriptor is duplicated; the caller keeps its own.
    static upload_source descriptor(int fd) { return upload_source(kind::descriptor, {}, fd, {}); }
    // Bytes in memory, shared, not copied (benchmarks, generated data).
    static upload_source memory(std::shared_ptr<const std::string> bytes) {
        return upload_source(kind::memory, {}, -1, std::move(bytes));
    }

    // `size` bytes of deterministic pseudo-random data, a function of `seed`
    // and the offset, made as they are sent: no memory or disk per object, so
    // a benchmark can upload 30 GiB from RAM. Incompressible, and two seeds
    // (or two MiB of one object) never repeat each other's bytes, so neither
    // compression nor deduplication in the store flatters a measurement.
    static upload_source generated(std::uint64_t size, std::uint64_t seed) {
        upload_source s(kind::generated, {}, -1, {});
        s.size_ = size;
        s.seed_ = seed;
        return s;
    }

    enum class kind { file, descriptor, memory, generated };
    kind type() const noexcept { return kind_; }
    std::uint64_t generated_size() const noexcept { return size_; }
    std::uint64_t generated_seed() const noexcept { return seed_; }
    const std::string& path() const noexcept { return path_; }
    int fd() const noexcept { return fd_; }
    const std::shared_ptr<const std::string>& bytes() const noexcept { return bytes_; }

private:
    upload_source(kind k, std::string path, int fd, std::shared_ptr<const std::string> bytes)
        : kind_(k), path_(std::move(path)), fd_(fd), bytes_(std::move(bytes)) {}
    kind kind_;
    std::string path_;
    int fd_;
    std::shared_ptr<const std::string> bytes_;
    std::uint64_t size_ = 0, seed_ = 0;   // generated
};

struct client_options {
    // Open connections, every endpoint together (idle ones included). A request
    // that needs a new connection with the budget spent first closes an idle one
    // of another endpoint, else waits its turn.
    std::size_t max_connections = 64;
    // Bytes read ahead from streams of unknown size (each part is buffered
    // whole before it is sent), every upload together. Request buffers are
    // bounded apart from this: one slice (upload_options::slice_size) and its
    // TLS records per open connection.
    std::uint64_t max_buffered_bytes = 256ull * 1024 * 1024;
    // A cap on the bytes per second of request bodies, every connection and
    // every upload of the client together; 0: no cap. One token bucket (burst:
    // 100 ms of the rate, at least 4 KiB), so the rate holds at the 100 ms
    // scale, not only on average; connections take turns, each write of at
    // most 100 ms of the rate (4 KiB to one 128 KiB slice) in the order they
    // ask, so none starves, and a connection waits about connections x piece
    // / rate between writes (S3 drops a socket silent for ~20 s: at very low
    // caps, use fewer connections). Waiting for the cap is not a
    // stall (upload_options::stall_timeout), and a cancelled upload stops
    // waiting at once. Headers and control requests (Create, Complete, HEAD)
    // are not counted. upload_options::max_bytes_per_second caps one upload.
    std::uint64_t max_bytes_per_second = 0;
};

// A snapshot of the client, safe to take from any thread.
struct client_stats {
    std::uint64_t uploads_started = 0, uploads_running = 0, uploads_succeeded = 0, uploads_failed = 0;
    std::uint64_t bytes_acked = 0;          // confirmed by the server, every upload together
    std::uint64_t bytes_in_flight = 0;
    std::size_t connections_open = 0, connections_peak = 0;
    std::uint64_t connections_opened = 0;   // since the client began, every endpoint together
    std::uint64_t buffered_bytes = 0, buffered_peak = 0;   // read-ahead, as client_options::max_buffered_bytes
};

namespace detail {
class client_core;
struct client_access;
}

class client {
public:
    // A client with its own io_context on its own thread.
    explicit client(client_options options = {});
    // A client on the caller's executor (an io_context run by one thread): its
    // uploads run there, and its completion handlers are called through their
    // associated executors.
    explicit client(boost::asio::any_io_executor executor, client_options options = {});
    // Cancels the uploads still running (their multipart uploads are aborted)
    // and, for a client with its own thread, waits for them. A client on the
    // caller's executor must outlive its uploads: destroy it after they completed.
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    using completion_signature = void(std::exception_ptr, upload_result);

    // Uploads `source` to the destination in `options` (location, or via).
    // Completes with (nullptr, result) or (upload_error, {}); with
    // asio::use_awaitable the error is thrown. Per-operation cancellation
    // (terminal, partial or total: all mean "stop this upload") aborts this
    // upload only; the others go on. `on_progress` is called on the client's
    // executor. The options are copied; the source's file is opened on the
    // client's executor.
    template <class CompletionToken>
    auto async_upload(upload_source source, upload_options options, progress_callback on_progress,
                      CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, completion_signature>(
            [this](auto handler, upload_source s, upload_options o, progress_callback p) {
                start(std::move(s), std::move(o), std::move(p), {}, handler_type(std::move(handler)));
            },
            token, std::move(source), std::move(options), std::move(on_progress));
    }

    // As above, and also stopped by `cancel` (from any thread, e.g. a signal
    // watcher's): one token per upload.
    template <class CompletionToken>
    auto async_upload(upload_source source, upload_options options, progress_callback on_progress,
                      cancel_token cancel, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, completion_signature>(
            [this](auto handler, upload_source s, upload_options o, progress_callback p, cancel_token c) {
                start(std::move(s), std::move(o), std::move(p), std::move(c), handler_type(std::move(handler)));
            },
            token, std::move(source), std::move(options), std::move(on_progress), std::move(cancel));
    }

    // Blocks until the upload ends; throws upload_error. Not from the client's
    // own executor (that would wait for itself: std::logic_error).
    upload_result upload(upload_source source, const upload_options& options, progress_callback on_progress = {},
                         cancel_token cancel = {});

    client_stats stats() const;
    boost::asio::any_io_executor get_executor() const;

private:
    // The bucket operations (bucket.hpp) run on this client's executor and
    // pools through detail::client_access, which keeps client_core out of the
    // public API.
    friend struct detail::client_access;
    using handler_type = boost::asio::any_completion_handler<completion_signature>;
    void start(upload_source source, upload_options options, progress_callback on_progress, cancel_token cancel,
               handler_type handler);
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace hoist::engine
