// A bandwidth cap shared by connections: token_bucket on the real clock, and
// the wait it asks for as a cancellable timer. One per client (every
// connection, every upload) and, optionally, one per upload. One thread: no
// locking.
#pragma once

#include "net.hpp"
#include "token_bucket.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace hoist::engine::detail {

class bandwidth_limit {
public:
    // 0: no cap (take() completes at once without touching a timer). The
    // burst is 100 ms of the rate and at least 4 KiB: bodies are paid in pieces
    // of at most that much (throttle_piece in connection.hpp), so every piece
    // fits in a full bucket, and a slow cap is not a 128 KiB burst.
    explicit bandwidth_limit(std::uint64_t bytes_per_second) : bucket_(bytes_per_second, min_piece) {}

    static constexpr std::size_t min_piece = 4096;
    bandwidth_limit(const bandwidth_limit&) = delete;
    bandwidth_limit& operator=(const bandwidth_limit&) = delete;

    bool unlimited() const noexcept { return bucket_.unlimited(); }
    std::uint64_t bytes_per_second() const noexcept { return bucket_.rate(); }

    // Completes when `n` bytes may be sent: at once, or after the bucket's
    // wait, in the order the callers asked. Cancellation: the awaiting
    // coroutine's cancellation slot (request_runner::stop() cuts it there);
    // then it completes with operation_aborted (or throws it, when the
    // coroutine was cancelled before the wait began) and the reserved bytes
    // go back to the bucket. Nothing else must outlive it but this object.
    net::awaitable<net::error_code> take(std::size_t n) {
        if (unlimited() || n == 0) co_return net::error_code{};
        auto wait = bucket_.take(n, token_bucket::clock::now());
        if (wait == token_bucket::duration::zero()) co_return net::error_code{};
        net::asio::steady_timer timer(co_await net::asio::this_coro::executor, wait);
        try {
            auto [ec] = co_await timer.async_wait(net::use_nothrow);
            if (ec) bucket_.give_back(n, token_bucket::clock::now());
            co_return ec;
        } catch (...) {
            bucket_.give_back(n, token_bucket::clock::now());
            throw;
        }
    }

private:
    token_bucket bucket_;
};

} // namespace hoist::engine::detail
