// The client's budget of bytes held in read-ahead buffers (the parts of
// streams of unknown size, read before they are sent). acquire(n) waits until
// n bytes fit; waiters are served in the order they came, so a big request is
// not starved by a stream of small ones. One thread: no locking.
#pragma once

#include "net.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <list>
#include <utility>

namespace hoist::engine::detail {

class byte_budget {
public:
    // Bytes held, given back on destruction.
    class lease {
    public:
        lease() = default;
        lease(byte_budget* b, std::uint64_t n) : budget_(b), bytes_(n) {}
        lease(lease&& o) noexcept : budget_(std::exchange(o.budget_, nullptr)), bytes_(o.bytes_) {}
        lease& operator=(lease&& o) noexcept {
            if (this != &o) {
                reset();
                budget_ = std::exchange(o.budget_, nullptr);
                bytes_ = o.bytes_;
            }
            return *this;
        }
        ~lease() { reset(); }
        void reset() {
            if (auto* b = std::exchange(budget_, nullptr)) b->give_back(bytes_);
        }

    private:
        byte_budget* budget_ = nullptr;
        std::uint64_t bytes_ = 0;
    };

    byte_budget(net::asio::any_io_executor ex, std::uint64_t limit) : ex_(ex), limit_(limit) {}

    std::uint64_t limit() const noexcept { return limit_; }
    std::uint64_t used() const noexcept { return used_; }
    std::uint64_t peak() const noexcept { return peak_; }

    // Completes with `n` bytes held (n <= limit(): the caller checks), or with
    // operation_aborted when the waiting coroutine is cancelled.
    net::awaitable<std::tuple<net::error_code, lease>> acquire(std::uint64_t n) {
        if (waiters_.empty() && used_ + n <= limit_) co_return std::make_tuple(net::error_code{}, take(n));
        auto me = waiters_.emplace(waiters_.end(), n, ex_);
        auto [ec] = co_await me->wake.async_wait(net::use_nothrow);
        bool granted = me->granted;
        waiters_.erase(me);
        if (!granted) {
            serve();   // this waiter may have blocked smaller ones behind it
            co_return std::make_tuple(ec ? ec : net::error_code(net::asio::error::operation_aborted), lease{});
        }
        co_return std::make_tuple(net::error_code{}, lease(this, n));
    }

private:
    struct waiter {
        waiter(std::uint64_t n, net::asio::any_io_executor ex) : bytes(n), wake(ex, net::asio::steady_timer::time_point::max()) {}
        std::uint64_t bytes;
        bool granted = false;
        net::asio::steady_timer wake;
    };

    lease take(std::uint64_t n) {
        hold(n);
        return lease(this, n);
    }
    void hold(std::uint64_t n) {
        auto now = used_ += n;
        if (now > peak_) peak_ = now;
    }
    void give_back(std::uint64_t n) {
        used_ -= n;
        serve();
    }
    // Grants waiters in order while the first one fits.
    void serve() {
        for (auto& w : waiters_) {
            if (w.granted) continue;
            if (used_ + w.bytes > limit_) break;
            hold(w.bytes);
            w.granted = true;
            w.wake.cancel();
        }
    }

    net::asio::any_io_executor ex_;
    std::uint64_t limit_;
    // Written on the client's thread only; atomic so that stats() may read them from any thread.
    std::atomic<std::uint64_t> used_{0}, peak_{0};
    std::list<waiter> waiters_;
};

} // namespace hoist::engine::detail
