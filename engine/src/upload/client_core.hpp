// What the uploads of one client share: the executor, one connection pool per
// endpoint (and TLS settings), the budget of open connections, the budget of
// read-ahead bytes, the bandwidth cap, and the counters behind client::stats(). Lives on the
// client's executor; one thread, no locking except for the counters, which
// other threads read.
#pragma once

#include "byte_budget.hpp"
#include "bandwidth_limit.hpp"
#include "connection.hpp"

#include "hoist/engine/client.hpp"

#include <atomic>
#include <map>
#include <optional>
#include <memory>
#include <string>

namespace hoist::engine::detail {

class client_core {
public:
    client_core(net::asio::any_io_executor ex, const client_options& options);
    ~client_core();

    net::asio::any_io_executor executor() const { return ex_; }
    const client_options& options() const { return options_; }

    // The pool for `ep` with the upload's TLS and socket settings: uploads
    // with the same settings share it. Throws std::runtime_error when the TLS
    // context cannot be set up (a CA bundle that does not load).
    connection_pool& pool(const protocol::endpoint& ep, const upload_options& options);

    byte_budget& read_ahead() { return read_ahead_; }
    // The kernel's congestion control for new sockets, asked once per client
    // (a probe socket), not once per upload: a million small files share it.
    const std::string& congestion_control() {
        if (!congestion_control_) congestion_control_ = default_congestion_control();
        return *congestion_control_;
    }
    // Closes every pool's connections (the client is ending).
    void close_all() {
        for (auto& [key, pool] : pools_) pool->close_all();
    }
    connection_limit& connections() { return connections_; }
    // client_options::max_bytes_per_second: one bucket for every connection and upload.
    bandwidth_limit& bandwidth() { return bandwidth_; }

    // What one endpoint showed about CRC32C: unknown until the first answer to
    // a body that carried x-amz-checksum-crc32c; then echoed (the store checks
    // it, as AWS does) or ignored (RGW 16, s3rver and many others accept the
    // header and check nothing: Content-MD5 goes beside it from then on).
    enum class crc32c_check { unknown, echoed, ignored };
    crc32c_check& crc32c_check_of(const protocol::endpoint& ep) { return crc32c_checks_[ep.origin()]; }

    // Counters, written on the client's thread, read from any.
    std::atomic<std::uint64_t> uploads_started{0}, uploads_succeeded{0}, uploads_failed{0}, uploads_running{0};
    std::atomic<std::uint64_t> bytes_acked{0}, bytes_in_flight{0};

    client_stats stats() const;

private:
    net::asio::any_io_executor ex_;
    client_options options_;
    connection_limit connections_;
    byte_budget read_ahead_;
    bandwidth_limit bandwidth_;
    std::map<std::string, std::shared_ptr<connection_pool>> pools_;
    std::optional<std::string> congestion_control_;
    std::map<std::string, crc32c_check> crc32c_checks_;   // by endpoint origin
};

// The door from engine code beside the uploads (bucket.hpp's operations) to a
// client's shared resources, so that they reuse its pools, budget and thread
// without client_core becoming public API.
struct client_access {
    static client_core& core(client& c);
    // Throws std::logic_error unless `c` runs its own thread and the caller is
    // not on it (a blocking call there would wait for itself). `what` names the call.
    static void require_blocking(const client& c, const char* what);
};

} // namespace hoist::engine::detail
