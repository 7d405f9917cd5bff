// A token bucket for a bandwidth cap, pure: time is passed in, nothing waits.
//
// take(n, now) reserves n bytes and answers how long the caller must wait
// before sending them. Reservations are a queue in arrival order (the GCRA /
// "virtual scheduling" form of a token bucket: the bucket keeps the time at
// which everything reserved so far is paid for): a caller that asks later is
// never let through earlier than one that asked before it, so every sender
// (connection) gets its turn within one round of the others' slices, and none
// starves however many there are.
//
// Over any interval of length T the bytes let through are at most
// rate x T + burst: the burst is what the bucket holds when it is full, rate x
// 100 ms (smooth at the 100 ms scale a progress bar or a shaper sees), and at
// least `min_burst`, one write (the engine writes bodies in pieces of at most
// that much under a cap, so a piece goes out whole after a quiet spell). A
// request larger than the burst still passes: it waits until the bucket would
// have refilled enough, never forever.
//
// Rate 0 is "no cap": take() always answers zero.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace hoist::engine::detail {

class token_bucket {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    using duration = std::chrono::nanoseconds;

    static constexpr duration burst_window = std::chrono::milliseconds(100);

    // `bytes_per_second` 0: unlimited. `min_burst`: the smallest burst (a slice).
    explicit token_bucket(std::uint64_t bytes_per_second, std::uint64_t min_burst = 128 * 1024)
        : rate_(bytes_per_second),
          burst_(std::max<std::uint64_t>(min_burst, bytes_per_second / (std::chrono::seconds(1) / burst_window))) {}

    bool unlimited() const noexcept { return rate_ == 0; }
    std::uint64_t rate() const noexcept { return rate_; }
    std::uint64_t burst() const noexcept { return burst_; }

    // Reserves `n` bytes at `now`: how long to wait before sending them
    // (zero: at once). `now` must not go backwards (a steady clock).
    duration take(std::uint64_t n, time_point now) {
        if (unlimited()) return duration::zero();
        // paid_until_: when every byte reserved so far is paid for at the rate.
        // A bucket idle since then is full: its debt starts from `now`.
        if (paid_until_ < now) paid_until_ = now;
        paid_until_ += cost(n);
        // Send once the debt beyond `now` is within the burst.
        auto allowed_at = paid_until_ - cost(burst_);
        return allowed_at > now ? allowed_at - now : duration::zero();
    }

    // Gives back `n` bytes reserved by take() and never sent (a send that was
    // cancelled while it waited). Callers already told to wait keep their
    // times; the next take() finds the bucket that much fuller.
    void give_back(std::uint64_t n, time_point now) {
        if (unlimited()) return;
        paid_until_ -= std::min(cost(n), paid_until_ > now ? paid_until_ - now : duration::zero());
    }

private:
    // n bytes at the rate, in nanoseconds, rounded up (never lets more through).
    duration cost(std::uint64_t n) const {
        auto ns = (static_cast<unsigned __int128>(n) * 1'000'000'000u + rate_ - 1) / rate_;
        return duration(static_cast<duration::rep>(std::min<unsigned __int128>(ns, INT64_MAX / 4)));
    }

    std::uint64_t rate_;
    std::uint64_t burst_;
    time_point paid_until_{};
};

} // namespace hoist::engine::detail
