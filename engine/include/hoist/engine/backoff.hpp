// Retry delays: full-jitter exponential backoff (AWS's recommended scheme),
// longer for throttling, never shorter than a server's Retry-After. Pure: the
// random source is a parameter, so tests pin it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace hoist::engine {

struct backoff_policy {
    std::chrono::milliseconds base{200};
    std::chrono::milliseconds cap{20'000};
    // Throttling (503 SlowDown, 429) means the service wants less load: start
    // from a larger base so concurrent parts spread out instead of retrying into
    // the same limit.
    unsigned throttle_multiplier = 5;
    // Off only to reproduce clients with fixed delays (the product's 1 s/2 s/4 s):
    // without jitter, parts that failed together retry together.
    bool jitter = true;

    // The ceiling for retry number `retry` (1 = first retry): min(cap, b * 2^(retry-1)).
    std::chrono::milliseconds ceiling(unsigned retry, bool throttled) const {
        auto b = base * (throttled ? throttle_multiplier : 1u);
        unsigned shift = std::min(retry == 0 ? 0u : retry - 1, 30u);
        auto grown = b.count() * (std::int64_t{1} << shift);
        return std::chrono::milliseconds(std::min<std::int64_t>(grown, cap.count()));
    }

    // A delay uniformly drawn from [0, ceiling], then raised to Retry-After.
    template <class Rng>
    std::chrono::milliseconds delay(unsigned retry, bool throttled, std::optional<std::chrono::seconds> retry_after,
                                    Rng& rng) const {
        std::uniform_int_distribution<std::int64_t> pick(0, ceiling(retry, throttled).count());
        std::chrono::milliseconds d = jitter ? std::chrono::milliseconds(pick(rng)) : ceiling(retry, throttled);
        if (retry_after) d = std::max<std::chrono::milliseconds>(d, *retry_after);
        return d;
    }
};

} // namespace hoist::engine
