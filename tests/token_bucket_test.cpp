// The bandwidth cap's token bucket on a mock clock: the long-run rate, the
// burst bound over every window, no cap at rate 0, FIFO turns among
// connections (none starves), and bytes given back by a cancelled wait.
#include "token_bucket.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <queue>
#include <vector>

using hoist::engine::detail::token_bucket;
using namespace std::chrono_literals;

namespace {

using time_point = token_bucket::time_point;
using duration = token_bucket::duration;

// A mock clock's readings: an arbitrary origin (not zero, so "idle since the
// epoch" is not special) plus an offset.
time_point at(duration since_start) { return time_point(1000s) + since_start; }

struct grant {
    time_point asked, allowed;
    std::size_t sender;
    std::uint64_t bytes;
};

// `senders` connections each send `slice`-byte writes back to back: ask at t,
// send (instantly) when allowed, ask again then. Every send is recorded.
// Ties are served in sender order, as one thread would.
std::vector<grant> simulate(token_bucket& bucket, std::size_t senders, std::uint64_t slice, duration length) {
    using event = std::pair<time_point, std::size_t>;
    std::priority_queue<event, std::vector<event>, std::greater<>> next;
    for (std::size_t s = 0; s < senders; ++s) next.emplace(at(0s), s);
    std::vector<grant> out;
    while (!next.empty() && next.top().first < at(length)) {
        auto [t, s] = next.top();
        next.pop();
        auto wait = bucket.take(slice, t);
        BOOST_REQUIRE(wait >= duration::zero());
        out.push_back({t, t + wait, s, slice});
        next.emplace(t + wait, s);
        BOOST_REQUIRE(out.size() < 10'000'000);   // bounded whatever the bucket answers
    }
    return out;
}

// The most bytes allowed within any window [a, a + width) (a at a grant).
std::uint64_t max_in_window(std::vector<grant> grants, duration width) {
    std::sort(grants.begin(), grants.end(), [](const grant& x, const grant& y) { return x.allowed < y.allowed; });
    std::uint64_t best = 0, sum = 0;
    std::size_t lo = 0;
    for (std::size_t hi = 0; hi < grants.size(); ++hi) {
        sum += grants[hi].bytes;
        while (grants[hi].allowed - grants[lo].allowed >= width) sum -= grants[lo++].bytes;
        best = std::max(best, sum);
    }
    return best;
}

} // namespace

BOOST_AUTO_TEST_SUITE(engine_token_bucket)

BOOST_AUTO_TEST_CASE(burst_is_100ms_of_the_rate_and_at_least_one_slice) {
    BOOST_TEST(token_bucket(20'000'000).burst() == 2'000'000u);
    BOOST_TEST(token_bucket(100'000).burst() == 128u * 1024);   // a slice always fits
    BOOST_TEST(token_bucket(100'000, 4096).burst() == 10'000u);
}

BOOST_AUTO_TEST_CASE(zero_rate_is_unlimited) {
    token_bucket bucket(0);
    BOOST_TEST(bucket.unlimited());
    for (int i = 0; i < 1000; ++i) BOOST_REQUIRE(bucket.take(1ull << 40, at(0s)) == duration::zero());
}

BOOST_AUTO_TEST_CASE(long_run_average_is_the_rate) {
    const std::uint64_t rate = 20'000'000, slice = 128 * 1024;
    for (std::size_t senders : {1u, 8u, 64u}) {
        token_bucket bucket(rate);
        auto grants = simulate(bucket, senders, slice, 10s);
        BOOST_REQUIRE(!grants.empty());
        // Bytes allowed to go by 10 s: the rate for 10 s plus the initial burst,
        // less at most one round of slices still waiting.
        std::uint64_t sent = 0;
        for (const auto& g : grants)
            if (g.allowed <= at(10s)) sent += g.bytes;
        BOOST_TEST_CONTEXT("senders " << senders) {
            BOOST_TEST(sent <= rate * 10 + bucket.burst());
            BOOST_TEST(sent + senders * slice + slice >= rate * 10 + bucket.burst());
        }
    }
}

BOOST_AUTO_TEST_CASE(every_window_holds_rate_times_window_plus_burst) {
    const std::uint64_t rate = 20'000'000;
    token_bucket bucket(rate);
    auto grants = simulate(bucket, 8, 128 * 1024, 5s);
    BOOST_REQUIRE(grants.size() > 100);
    for (auto width : {duration(1ms), duration(100ms), duration(1s)}) {
        auto most = max_in_window(grants, width);
        auto bound = rate * std::chrono::duration<double>(width).count() + bucket.burst();
        BOOST_TEST_CONTEXT("window " << width.count() << " ns") { BOOST_TEST(most <= bound); }
    }
    // At the 100 ms scale the rate is smooth, not just its average: every
    // window after the first burst carries close to rate x 100 ms.
    std::map<long, std::uint64_t> per_100ms;
    for (const auto& g : grants) per_100ms[(g.allowed - at(0s)) / 100ms] += g.bytes;
    BOOST_REQUIRE(per_100ms.size() >= 40);
    for (auto [window, bytes] : per_100ms) {
        if (window == 0 || window >= 49) continue;   // the starting burst; the cut-off at 5 s
        BOOST_TEST_CONTEXT("window " << window) {
            BOOST_TEST(bytes <= 2'000'000u + 128 * 1024);
            BOOST_TEST(bytes + 128 * 1024 >= 2'000'000u);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_quiet_spell_refills_only_up_to_the_burst) {
    token_bucket bucket(1'000'000);   // burst 128 KiB (a slice is more than 100 ms here)
    BOOST_TEST((bucket.take(128 * 1024, at(0s)) == duration::zero()));
    BOOST_TEST((bucket.take(1, at(0s)) > duration::zero()));
    // An hour idle: still one burst at once, then the rate.
    BOOST_TEST((bucket.take(128 * 1024, at(3600s)) == duration::zero()));
    auto wait = bucket.take(500'000, at(3600s));
    BOOST_TEST((wait == duration(500ms)));
}

BOOST_AUTO_TEST_CASE(a_request_above_the_burst_passes_after_the_refill) {
    token_bucket bucket(1'000'000, 4096);   // burst 100 KB
    auto wait = bucket.take(1'000'000, at(0s));
    BOOST_TEST((wait == duration(900ms)));   // 1 s of bytes, less the 100 ms the full bucket held
}

BOOST_AUTO_TEST_CASE(turns_are_fifo_and_no_connection_starves) {
    const std::uint64_t rate = 10'000'000, slice = 128 * 1024;
    const std::size_t senders = 16;
    token_bucket bucket(rate);
    auto grants = simulate(bucket, senders, slice, 10s);
    BOOST_REQUIRE(!grants.empty());
    // FIFO: in the order asked, the times allowed never go backwards.
    for (std::size_t i = 1; i < grants.size(); ++i) BOOST_REQUIRE(grants[i].allowed >= grants[i - 1].allowed);
    // No one waits more than one round of everybody's slices.
    auto round = duration(std::chrono::seconds(1)) * static_cast<long>(senders * slice) / static_cast<long>(rate);
    for (const auto& g : grants) BOOST_REQUIRE(g.allowed - g.asked <= round + 1ms);
    // Each connection gets its share: within the starting burst (which goes
    // to whoever asks first, here sender 0 again and again at t = 0) and one
    // slice of the others. Starvation would leave someone millions behind.
    std::vector<std::uint64_t> share(senders);
    for (const auto& g : grants)
        if (g.allowed < at(10s)) share[g.sender] += g.bytes;
    auto [lo, hi] = std::minmax_element(share.begin(), share.end());
    BOOST_TEST(*lo > 0u);
    BOOST_TEST(*hi - *lo <= bucket.burst() + slice);
    // After the starting burst the turns are strict: over the last 9 s every
    // connection got the same number of slices, give or take one.
    std::vector<std::uint64_t> later(senders);
    for (const auto& g : grants)
        if (g.allowed >= at(1s) && g.allowed < at(10s)) later[g.sender] += g.bytes;
    auto [llo, lhi] = std::minmax_element(later.begin(), later.end());
    BOOST_TEST(*lhi - *llo <= slice);
}

BOOST_AUTO_TEST_CASE(a_slow_asker_is_not_starved_by_greedy_ones) {
    // Seven connections ask again the instant they are allowed; an eighth asks
    // only every 2 s. Its wait is bounded by the queue ahead of it, never more.
    const std::uint64_t rate = 10'000'000, slice = 128 * 1024;
    token_bucket bucket(rate);
    time_point greedy_next[7];
    std::fill(std::begin(greedy_next), std::end(greedy_next), at(0s));
    time_point slow_next = at(1s);
    std::vector<duration> slow_waits;
    for (int step = 0; step < 200'000 && slow_waits.size() < 5; ++step) {
        auto* g = std::min_element(std::begin(greedy_next), std::end(greedy_next));
        if (slow_next <= *g) {
            auto w = bucket.take(slice, slow_next);
            slow_waits.push_back(w);
            slow_next += 2s;
        } else {
            *g += bucket.take(slice, *g);
        }
    }
    BOOST_REQUIRE(slow_waits.size() == 5u);
    auto round = duration(std::chrono::seconds(1)) * static_cast<long>(8 * slice) / static_cast<long>(rate);
    for (auto w : slow_waits) BOOST_TEST((w <= round + 1ms));
}

BOOST_AUTO_TEST_CASE(bytes_given_back_serve_the_next_asker) {
    token_bucket bucket(1'000'000, 4096);   // burst 100 KB
    BOOST_TEST((bucket.take(100'000, at(0s)) == duration::zero()));
    auto cancelled = bucket.take(500'000, at(0s));
    BOOST_TEST((cancelled == duration(500ms)));
    bucket.give_back(500'000, at(10ms));
    // The 500 KB never went out: the next asker waits only for the 10 ms
    // since the bucket was emptied, not behind the cancelled reservation.
    BOOST_TEST((bucket.take(100'000, at(10ms)) == duration(90ms)));
    // Never more than was reserved: giving back into a full bucket adds nothing.
    token_bucket full(1'000'000, 4096);
    full.give_back(10'000'000, at(0s));
    BOOST_TEST((full.take(200'000, at(0s)) == duration(100ms)));
}

BOOST_AUTO_TEST_SUITE_END()
