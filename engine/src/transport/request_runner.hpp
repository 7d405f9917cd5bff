// One S3 (or presign-service) call with the retry policy: the thin I/O driver
// of retry_policy (retry_policy.hpp decides; this file leases, exchanges,
// sleeps and feeds back what happened).
//
// Shared by the upload job and the presign service. Requests are built (and
// signed, when the caller signs) by a callback per attempt, so every attempt
// carries a fresh X-Amz-Date. stop() ends this runner's cancellable calls by
// itself: it cuts their in-flight connects, exchanges and backoff sleeps
// (Asio per-operation cancellation through the runner's task_group) and never
// touches a connection that another runner is using, so pools can be shared.
#pragma once

#include "connection.hpp"
#include "task_group.hpp"

#include "hoist/engine/backoff.hpp"

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace hoist::engine::detail {

struct call_result {
    bool ok = false;
    http_response response;
    upload_errc code = upload_errc::rejected;
    std::string error;      // one line, when !ok
    std::string s3_code;    // the last <Error><Code>, if any
    unsigned status = 0;    // the last HTTP status, 0 for transport errors
    unsigned attempts = 0;            // counted against max_attempts
    unsigned progress_retries = 0;    // attempts cut after progress, not counted (retry_policy rule b)
};

struct call_spec {
    std::string what;                                   // "part 3", "CompleteMultipartUpload": starts messages
    std::function<protocol::s3_request()> build;        // per attempt, signed if it needs to be
    body_source* body = nullptr;                        // streamed payload, or none
    bool cancellable = true;                            // false for the abort that cleans up after a stop
    unsigned max_attempts = 5;
};

// Wraps a request builder so that every attempt is signed with `signer` at
// that attempt's time (a retry never reuses a stale X-Amz-Date). The signer
// must outlive the returned function.
std::function<protocol::s3_request()> signed_each_attempt(std::function<protocol::s3_request()> build,
                                                          const sigv4::signer& signer, std::string region);

class request_runner {
public:
    request_runner(net::asio::any_io_executor ex, backoff_policy backoff, std::uint64_t seed,
                   exchange_timeouts timeouts, std::size_t slice_size);
    request_runner(const request_runner&) = delete;
    request_runner& operator=(const request_runner&) = delete;

    // Progress hooks (optional): bytes written, bytes to take back after a
    // failed attempt, one more retry.
    std::function<void(std::size_t)> on_sent;
    std::function<void(std::uint64_t)> on_unsent;
    std::function<void()> on_retry;
    // Every call as it ends (upload_options::on_request); unset: not measured.
    request_observer on_request;
    // Bandwidth caps every streamed body of this runner waits for (see
    // send_throttle), in order; they must outlive the runner's calls. Empty: none.
    std::vector<bandwidth_limit*> limits;

    // Completes when the call succeeded, failed fatally, ran out of attempts, or
    // (cancellable) was stopped. Never throws for I/O or HTTP outcomes.
    // Cancellation: stop() only. The call runs as its own child coroutine: a
    // cancellable one is cut by stop() at its current operation, one that is
    // not cancellable by nothing (neither stop() nor the awaiting coroutine's
    // cancellation slot). `pool`, `*spec.body` and this runner must outlive
    // the call.
    net::awaitable<call_result> call(connection_pool& pool, call_spec spec);

    // Ends every cancellable call of this runner, now and later: their
    // in-flight operations complete with operation_aborted (a connection cut
    // that way is closed, never pooled), and the calls complete with
    // upload_errc::cancelled. Calls in other runners, and their connections in
    // a shared pool, are not touched.
    void stop();
    bool stopping() const noexcept { return stopping_; }

private:
    void observe(const call_spec& spec, std::chrono::system_clock::time_point start_wall,
                 std::chrono::steady_clock::time_point start, const call_result& out, std::uint64_t bytes,
                 const std::optional<std::chrono::steady_clock::duration>& first_byte) const;
    net::awaitable<call_result> drive(connection_pool& pool, call_spec spec);

    net::asio::any_io_executor ex_;
    backoff_policy backoff_;
    std::mt19937_64 rng_;
    exchange_timeouts timeouts_;
    std::size_t slice_size_;
    bool stopping_ = false;
    task_group calls_;   // the cancellable calls in flight
};

} // namespace hoist::engine::detail
