// Kept-alive HTTP/1.1 connections to one S3 endpoint, plain or TLS, and one
// request/response exchange on such a connection.
//
// Protocol of the pool: acquire() leases a connection (an idle kept-alive one
// if there is one, else a new one: resolve, connect, TLS handshake with SNI,
// certificate and host verification, session resumption). The lease
// (`pooled_connection`) closes the connection when it is destroyed, unless
// mark_reusable() was called after a complete response that allows keep-alive;
// only then does the connection go back to the idle list. close_all() cuts
// every connection, leased ones included, which makes their pending operations
// complete with operation_aborted: that is how an upload cancels in-flight parts.
#pragma once

#include "net.hpp"
#include "hoist/engine/upload.hpp"
#include "hoist/protocol/s3/classify.hpp"
#include "bandwidth_limit.hpp"
#include "idle_list.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>
#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace hoist::engine::detail {

namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

class connection_limit;

class connection {
public:
    enum class state { open, leased, idle, closed };

    using tls_stream = beast::ssl_stream<beast::tcp_stream>;

    // Counts itself against `limit` (if any) from construction to destruction.
    connection(net::asio::any_io_executor ex, ssl::context* tls, connection_limit* limit = nullptr);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    beast::tcp_stream& tcp();
    bool is_tls() const noexcept { return std::holds_alternative<tls_stream>(stream_); }
    tls_stream* tls() noexcept { return std::get_if<tls_stream>(&stream_); }
    template <class F>
    decltype(auto) visit(F&& f) { return std::visit(std::forward<F>(f), stream_); }

    void close();

    state current = state::open;
    unsigned requests_served = 0;   // > 0: this connection was reused for the current request
    beast::flat_buffer buffer;      // read buffer, kept across requests on this connection

    // Send buffers, kept across requests on this connection like `buffer`:
    // the slice a body is read into, and (TLS) the ciphertext of one slice.
    // Per request, two 128 KiB blocks were allocated and freed; glibc handed
    // them back to the kernel each time (mmap, or the trimmed top of a
    // thread's heap), so every request paid page faults and page zeroing:
    // 29% of the client's CPU time for 2,000 files of 256 KiB (perf, issue
    // 15). Grow-only, never zero-filled; bounded like the connections.
    std::span<char> send_slice(std::size_t size);
    std::vector<char>& send_cipher() noexcept { return send_cipher_; }
    BIO* cipher_bio();   // a BIO whose writes append to send_cipher()

private:
    std::variant<beast::tcp_stream, tls_stream> stream_;
    connection_limit* limit_;
    std::unique_ptr<char[]> send_slice_;
    std::size_t send_slice_size_ = 0;
    std::vector<char> send_cipher_;
    BIO* cipher_bio_ = nullptr;
};

class connection_pool;

// The open-connection budget of a client, shared by all its pools (one per
// endpoint). A connection counts from its construction to its destruction,
// idle ones included. A pool that needs a new connection while the budget is
// spent first closes an idle connection of any pool (the one idle longest),
// else waits until one closes or goes idle. Waiters are woken in the order
// they came (a timer used as a condition variable: cancel() completes its
// waits in FIFO order), so a big upload's parts and many small uploads take
// turns. One thread: no locking.
class connection_limit {
public:
    connection_limit(net::asio::any_io_executor ex, std::size_t max);
    std::size_t max() const noexcept { return max_; }
    std::size_t open() const noexcept { return open_; }
    std::size_t peak() const noexcept { return peak_; }
    std::uint64_t total_opened() const noexcept { return total_; }   // since the client began

private:
    friend class connection;
    friend class connection_pool;
    bool full() const noexcept { return open_ >= max_; }
    // Closes the longest-idle connection of any registered pool; false when none is idle.
    bool evict_idle();
    // Completes when a connection closed or went idle (or at once after a wake-up).
    net::awaitable<void> wait_change();
    void changed() { signal_.cancel(); }
    void opened() {
        ++total_;
        auto now = ++open_;
        if (now > peak_) peak_ = now;
    }
    void closed() {
        --open_;
        changed();
    }

    std::size_t max_;
    // Written on the client's thread only; atomic so that stats() may read them from any thread.
    std::atomic<std::size_t> open_{0}, peak_{0};
    std::atomic<std::uint64_t> total_{0};
    std::vector<connection_pool*> pools_;   // registered by each pool for its lifetime
    net::asio::steady_timer signal_;
};

struct pool_config {
    std::string host;        // connect and verify this host (no brackets)
    std::uint16_t port = 443;
    bool use_tls = true;
    tls_options tls;
    std::chrono::seconds connect_timeout{10};
    std::chrono::seconds idle_timeout{20};
    std::size_t max_idle = 64;
    // Ask the kernel to pace each connection's sends (SO_MAX_PACING_RATE set
    // to "unlimited but paced"). BBR paces anyway; loss-based congestion
    // control (CUBIC, the common default) otherwise sends each window as a
    // line-rate burst, and several connections in slow start together overflow
    // a shallow bottleneck queue. See upload_options::tcp_pacing.
    bool pace = true;
    // The client's budget of open connections (see connection_limit); none: unbounded.
    connection_limit* limit = nullptr;
};

class connection_pool;

// RAII lease of one connection. Closes it on destruction unless
// mark_reusable() was called; then it goes back to the pool.
class pooled_connection {
public:
    pooled_connection() = default;
    pooled_connection(connection_pool* pool, std::unique_ptr<connection> conn, bool reused)
        : pool_(pool), conn_(std::move(conn)), reused_(reused) {}
    pooled_connection(pooled_connection&& o) noexcept { *this = std::move(o); }
    pooled_connection& operator=(pooled_connection&& o) noexcept;
    ~pooled_connection() { release(); }

    connection* operator->() const noexcept { return conn_.get(); }
    connection& get() const noexcept { return *conn_; }
    explicit operator bool() const noexcept { return conn_ != nullptr; }
    bool reused() const noexcept { return reused_; }
    void mark_reusable() noexcept { reusable_ = true; }

private:
    void release();
    connection_pool* pool_ = nullptr;
    std::unique_ptr<connection> conn_;
    bool reused_ = false;
    bool reusable_ = false;
};

class connection_pool : public std::enable_shared_from_this<connection_pool> {
public:
    // Throws std::runtime_error when the TLS context cannot be set up (a CA
    // file that does not load).
    connection_pool(net::asio::any_io_executor ex, pool_config config);
    ~connection_pool();
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    // Completes with a leased connection (an idle one unless `fresh`), or the
    // error of resolve, connect or handshake. Cancelled by close_all()
    // (operation_aborted).
    net::awaitable<std::tuple<net::error_code, pooled_connection>> acquire(bool fresh = false);

    // Opens `n` new connections in the background; each joins the idle list
    // once its handshake is done. An upload calls it before
    // CreateMultipartUpload so that its first parts find connections ready
    // instead of each paying connect + TLS (2 RTT) after Create's round trip.
    // While some are being opened, acquire() waits for one of them rather than
    // open yet another, so warming never raises the number of connections.
    void warm(std::size_t n);

    // Closes idle and leased connections; pending I/O on them is aborted.
    void close_all();

    std::string authority() const;   // "host:port" for messages
    std::uint32_t opened() const noexcept { return opened_; }
    std::uint32_t reused() const noexcept { return reused_; }
    std::uint32_t resumed() const noexcept { return resumed_; }

private:
    friend class pooled_connection;
    friend class connection_limit;
    void give_back(std::unique_ptr<connection> conn, bool reusable);
    // The time the oldest idle connection went idle, if any (for connection_limit's eviction).
    std::optional<std::chrono::steady_clock::time_point> oldest_idle() const { return idle_.oldest(); }
    void close_oldest_idle();
    pooled_connection lease_idle(std::unique_ptr<connection> conn);
    net::awaitable<net::error_code> connect(connection& conn);
    net::awaitable<void> open_warm();
    void remember_session(connection& conn);

    net::asio::any_io_executor ex_;
    pool_config config_;
    std::optional<ssl::context> tls_ctx_;
    tcp::resolver resolver_;
    std::optional<tcp::resolver::results_type> endpoints_;
    idle_list<std::unique_ptr<connection>> idle_;
    std::set<connection*> leased_;
    SSL_SESSION* session_ = nullptr;
    std::uint32_t opened_ = 0, reused_ = 0, resumed_ = 0;
    std::size_t warming_ = 0;                 // warm() connections still connecting
    net::asio::steady_timer warm_signal_;     // never expires; cancel() wakes acquire()s waiting for them
};

// ---- one exchange -------------------------------------------------------------

// Where a streamed request body comes from: `size()` bytes, read in order
// (offsets only grow within one exchange; a file source also allows rereading
// from 0 for a retry, a network source does not).
class body_source {
public:
    virtual ~body_source() = default;
    virtual std::uint64_t size() const = 0;
    // Fills `out` with the bytes at `offset` (exactly out.size() of them) or
    // completes with an error (a short read is an error: the source changed).
    virtual net::awaitable<net::error_code> read(std::uint64_t offset, std::span<char> out) = 0;
    // Whether the same bytes can be sent again (false for a network stream).
    virtual bool replayable() const { return true; }
};

struct http_response {
    unsigned status = 0;
    std::string body;
    bool keep_alive = false;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::string> header(std::string_view name) const;
};

struct exchange_result {
    net::error_code ec;              // transport error (or source read error: see source_failed)
    bool response_started = false;   // some response bytes arrived before ec
    bool source_failed = false;      // ec came from body_source::read
    http_response response;
    // The request's last byte written, and the response header read (for
    // request_observation::first_byte); unset when it did not happen.
    std::optional<std::chrono::steady_clock::time_point> sent_at, header_at;
};

struct exchange_timeouts {
    std::chrono::seconds stall{30};      // no byte taken by the socket for this long abandons the attempt
    std::chrono::seconds response{60};   // from request sent to response complete
};

// The bandwidth caps a streamed body waits for, slice by slice, before each
// slice is written (the upload's own cap first, then the client's), and how
// many of its first bytes were paid for already (request_runner pays for the
// first slice before it leases a connection, so that a request queued behind a
// cap does not hold a connection it cannot use yet). Time spent waiting is not
// a stall: the stall deadline is armed only around writes. In-memory bodies
// (the XML of CompleteMultipartUpload) are control traffic and never wait.
//
// Under a slow cap a whole slice would leave each connection silent for
// connections x slice / rate between writes (8 x 128 KiB at 50 KB/s: 21 s,
// past S3's ~20 s idle-socket timeout), so slices are paid and written in
// pieces of 100 ms of the slowest cap, at least 4 KiB (throttle_piece).
struct send_throttle {
    std::span<bandwidth_limit* const> limits;
    std::size_t piece = 0;          // bytes paid and written at a time (throttle_piece)
    std::uint64_t prepaid = 0;
};

// 100 ms of the slowest of `limits`, at least 4 KiB and at most `slice`.
inline std::size_t throttle_piece(std::span<bandwidth_limit* const> limits, std::size_t slice) {
    std::size_t piece = slice;
    for (const auto* limit : limits)
        if (!limit->unlimited())
            piece = std::min<std::size_t>(
                piece, std::max<std::uint64_t>(bandwidth_limit::min_piece, limit->bytes_per_second() / 10));
    return std::max<std::size_t>(piece, 1);
}

// Sends `req` (headers already signed) with its body (req.body if non-empty,
// else `body` for streamed payloads, or none) in slices of `slice.size()`
// bytes (the caller's buffer: conn.send_slice(), or the call's own one for an
// unrepeatable body),
// calling on_sent(n) after each slice (each one waits for `throttle` first),
// then reads the response. Leaves the
// stream without a deadline. Completes with transport errors as values; never
// throws for I/O.
net::awaitable<exchange_result> exchange(connection& conn, const protocol::s3_request& req, body_source* body,
                                         std::span<char> slice, exchange_timeouts timeouts,
                                         const std::function<void(std::size_t)>& on_sent,
                                         send_throttle throttle = {});

// Maps an Asio/Beast/SSL error to the protocol layer's transport categories.
protocol::transport_error classify_transport(const net::error_code& ec);

// The congestion control the kernel gives a new TCP socket in this network
// namespace (TCP_CONGESTION of a probe socket, never connected), e.g. "bbr" or
// "cubic"; "" where the kernel does not say.
std::string default_congestion_control();

} // namespace hoist::engine::detail
