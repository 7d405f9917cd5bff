// The retry policy of one call (engine/src/transport/retry_policy.hpp), rule
// by rule, as tables of events and the actions they must produce. No sockets,
// no sleeps, no clock: the backoff's random source is a seeded generator.
#include "retry_policy.hpp"

#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

namespace d = hoist::engine::detail;
namespace e = hoist::engine;
namespace p = hoist::protocol;
namespace ev = hoist::engine::detail::retry_event;
using namespace std::chrono_literals;
using kind = d::retry_action::kind;
using te = p::transport_error;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

// Backoff without jitter, so delays are exact: 100 ms, 200 ms, 400 ms, ...
// (throttled: 500 ms, 1 s, ...).
d::retry_config config(unsigned max_attempts = 3, bool has_body = true, bool cancellable = true) {
    d::retry_config c;
    c.what = "part 7";
    c.authority = "s3.example:443";
    c.max_attempts = max_attempts;
    c.has_body = has_body;
    c.cancellable = cancellable;
    c.backoff = e::backoff_policy{100ms, 10'000ms, 5, false};
    return c;
}

// A dead kept-alive connection, as rule (a) sees it; tables vary one field.
ev::exchange_failed dead_keepalive() {
    return ev::exchange_failed{te::connection_reset, "Broken pipe", true, false, 0, true};
}

// A reset after `sent` body bytes on a fresh connection.
ev::exchange_failed reset_after(std::uint64_t sent, bool rewindable = true) {
    return ev::exchange_failed{te::connection_reset, "Connection reset by peer", false, false, sent, rewindable};
}

ev::response answer(unsigned status, std::string code = "", std::optional<std::string> retry_after = std::nullopt,
                    bool rewindable = true) {
    return ev::response{status, std::move(code), "", std::move(retry_after), rewindable};
}

// A policy and its random source, started: its first action is checked.
struct call {
    std::mt19937_64 rng{1};
    d::retry_policy policy;
    explicit call(d::retry_config c) : policy(std::move(c), rng) {
        auto first = policy.resume(ev::start{});
        BOOST_REQUIRE(first.what == kind::lease);
        BOOST_TEST(!first.fresh);
        BOOST_TEST(!first.report_retry);
    }
    d::retry_action operator()(d::retry_event_t e) { return policy.resume(std::move(e)); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(retry_policy)

BOOST_AUTO_TEST_CASE(a_first_success_ends_the_call) {
    call c(config());
    auto a = c(answer(200));
    BOOST_TEST((a.what == kind::succeed));
    BOOST_TEST(c.policy.attempts() == 1u);
    BOOST_TEST(c.policy.status() == 200u);
    BOOST_TEST(c.policy.done());
}

// (a) One free retry on a fresh connection when a reused one was dead.
BOOST_AUTO_TEST_CASE(a_dead_keepalive_is_retried_at_once_on_a_fresh_connection_uncounted) {
    call c(config(1));   // one attempt only: the free retry must not need a second
    auto a = c(dead_keepalive());
    BOOST_REQUIRE((a.what == kind::lease));
    BOOST_TEST(a.fresh);
    BOOST_TEST(a.report_retry, "a re-send is a retry the user is told about");
    BOOST_TEST(c.policy.attempts() == 1u, "not a failed attempt");
    BOOST_TEST((c(answer(200)).what == kind::succeed));
    BOOST_TEST(c.policy.attempts() == 1u);
}

BOOST_AUTO_TEST_CASE(the_free_retry_is_once_per_call) {
    call c(config(3));
    BOOST_REQUIRE((c(dead_keepalive()).what == kind::lease));
    auto second = c(dead_keepalive());
    BOOST_TEST((second.what == kind::sleep), "the second dead connection is a failed attempt");
    BOOST_TEST(c.policy.attempts() == 1u);
    BOOST_REQUIRE((c(ev::woke{}).what == kind::lease));
    BOOST_TEST(c.policy.attempts() == 2u);
}

BOOST_AUTO_TEST_CASE(what_is_not_a_dead_keepalive) {
    struct row {
        const char* name;
        ev::exchange_failed event;
        unsigned attempts;   // counted after it
    };
    auto vary = [](auto change) {
        auto e = dead_keepalive();
        change(e);
        return e;
    };
    const row rows[] = {
        {"a new connection", vary([](auto& e) { e.reused = false; }), 1},
        {"response bytes arrived", vary([](auto& e) { e.response_started = true; }), 1},
        {"a timeout", vary([](auto& e) { e.error = te::timeout; }), 1},
        // A connection that carried a megabyte was alive: a cut after progress (rule b).
        {"a megabyte went out first", vary([](auto& e) { e.bytes_sent = MiB; }), 0},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.name) {
            call c(config(3));
            auto a = c(r.event);
            BOOST_TEST((a.what == kind::sleep), "backed off, not re-sent at once on a fresh connection");
            BOOST_TEST(c.policy.attempts() == r.attempts);
        }
    }
    // Just under the megabyte it still is one.
    call c(config(3));
    BOOST_TEST((c(vary([](auto& e) { e.bytes_sent = MiB - 1; })).what == kind::lease));
}

// Bug 4 of issue 14: the proxy sends an unrepeatable body with one attempt. A
// dead connection that failed within the body's first slice (still kept) is
// retried on a fresh one; once the source was read past it, it cannot be.
BOOST_AUTO_TEST_CASE(an_unrepeatable_body_gets_the_free_retry_while_its_first_slice_is_kept) {
    {
        call c(config(1));
        auto a = c(dead_keepalive());
        BOOST_TEST((a.what == kind::lease));
        BOOST_TEST(a.fresh);
    }
    {
        call c(config(1));
        auto e = dead_keepalive();
        e.body_rewindable = false;
        auto a = c(e);
        BOOST_TEST((a.what == kind::fail));
        BOOST_TEST((a.code == e::upload_errc::retries_exhausted));
        BOOST_TEST(a.message == "part 7: failed after 1 attempt; last error: connection reset (Broken pipe)");
    }
    {
        // Without a body there is nothing to rewind.
        call c(config(1, false));
        auto e = dead_keepalive();
        e.body_rewindable = false;
        BOOST_TEST((c(e).what == kind::lease));
    }
}

// (b) Cuts after progress do not use the budget, up to 4 x max_attempts.
BOOST_AUTO_TEST_CASE(resets_after_a_megabyte_do_not_use_the_budget_up_to_four_times_max_attempts) {
    call c(config(2));
    for (unsigned i = 1; i <= 8; ++i) {
        BOOST_TEST_CONTEXT("cut " << i) {
            auto a = c(reset_after(2 * MiB));
            BOOST_REQUIRE((a.what == kind::sleep));
            BOOST_TEST(a.delay.count() == 100, "the backoff does not grow with uncounted cuts");
            BOOST_TEST(c.policy.progress_retries() == i);
            BOOST_REQUIRE((c(ev::woke{}).what == kind::lease));
            BOOST_TEST(c.policy.attempts() == 1u);
        }
    }
    // The ninth cut is counted: attempt 1 of 2 is used, one is left.
    auto ninth = c(reset_after(2 * MiB));
    BOOST_REQUIRE((ninth.what == kind::sleep));
    BOOST_TEST(c.policy.progress_retries() == 8u);
    BOOST_REQUIRE((c(ev::woke{}).what == kind::lease));
    BOOST_TEST(c.policy.attempts() == 2u);
    auto last = c(reset_after(2 * MiB));
    BOOST_REQUIRE((last.what == kind::fail));
    BOOST_TEST((last.code == e::upload_errc::retries_exhausted));
    BOOST_TEST(last.message ==
               "part 7: failed after 10 attempts; last error: connection reset (Connection reset by peer)");
}

BOOST_AUTO_TEST_CASE(what_is_not_a_cut_after_progress) {
    struct row {
        const char* name;
        ev::exchange_failed event;
        bool has_body;
        kind expected;
    };
    auto vary = [](auto change) {
        auto e = reset_after(2 * MiB);
        change(e);
        return e;
    };
    const row rows[] = {
        {"under a megabyte", vary([](auto& e) { e.bytes_sent = MiB - 1; }), true, kind::fail},
        {"a stall (timeout)", vary([](auto& e) { e.error = te::timeout; }), true, kind::fail},
        {"a refused connection", vary([](auto& e) { e.error = te::connection_refused; }), true, kind::fail},
        {"no streamed body", reset_after(2 * MiB), false, kind::fail},
        {"a body that cannot be sent again", vary([](auto& e) { e.body_rewindable = false; }), true, kind::fail},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.name) {
            call c(config(1, r.has_body));   // one attempt: a counted failure ends the call
            auto a = c(r.event);
            BOOST_TEST((a.what == r.expected));
            BOOST_TEST(c.policy.progress_retries() == 0u);
        }
    }
    // A connection abort after progress is a cut like a reset.
    call c(config(1));
    BOOST_TEST((c(vary([](auto& e) { e.error = te::connection_aborted; })).what == kind::sleep));
}

// (c) An unrepeatable body ends the call after a failed attempt.
BOOST_AUTO_TEST_CASE(a_body_that_cannot_be_sent_again_stops_retries) {
    call c(config(5));
    auto a = c(answer(500, "InternalError", std::nullopt, false));
    BOOST_REQUIRE((a.what == kind::fail));
    BOOST_TEST((a.code == e::upload_errc::retries_exhausted));
    BOOST_TEST(a.message == "part 7: failed after 1 attempt; last error: 500 InternalError");
    BOOST_TEST(c.policy.attempts() == 1u);
    BOOST_TEST(c.policy.status() == 500u);
    BOOST_TEST(c.policy.s3_code() == "InternalError");
    // The same answer with the body still whole is retried.
    call again(config(5));
    BOOST_TEST((again(answer(500, "InternalError")).what == kind::sleep));
}

// (d) A fatal outcome ends the call at once, whatever the budget.
BOOST_AUTO_TEST_CASE(fatal_outcomes_end_at_once) {
    struct row {
        const char* name;
        d::retry_event_t event;
        std::string message;
    };
    const row rows[] = {
        {"403 AccessDenied", ev::response{403, "AccessDenied", "Access Denied", std::nullopt, true},
         "part 7: 403 AccessDenied: Access Denied"},
        {"a plain 400", answer(400), "part 7: HTTP 400"},
        {"an untrusted certificate", ev::connect_failed{te::tls_verification, "certificate verify failed"},
         "part 7: cannot connect to s3.example:443: TLS certificate verification failed (certificate verify failed)"},
        {"an unknown transport error", ev::exchange_failed{te::other, "Bad address", false, false, 0, true},
         "part 7: transport error (Bad address)"},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.name) {
            call c(config(5));
            auto a = c(r.event);
            BOOST_REQUIRE((a.what == kind::fail));
            BOOST_TEST((a.code == e::upload_errc::rejected));
            BOOST_TEST(a.message == r.message);
            BOOST_TEST(c.policy.attempts() == 1u);
        }
    }
    // A fatal code even after a dead connection and a retry.
    call c(config(5));
    BOOST_REQUIRE((c(dead_keepalive()).what == kind::lease));
    BOOST_TEST((c(answer(404, "NoSuchUpload")).what == kind::fail));
    BOOST_TEST(c.policy.s3_code() == "NoSuchUpload");
}

// (e) A stop ends a cancellable call, at a lease or during a sleep; a call
// that is not cancellable carries on with what it was about to do.
BOOST_AUTO_TEST_CASE(a_stop_ends_cancellable_calls_only) {
    {
        call c(config(5));
        auto a = c(ev::stopped{});
        BOOST_TEST((a.what == kind::fail));
        BOOST_TEST((a.code == e::upload_errc::cancelled));
        BOOST_TEST(a.message == "part 7: stopped");
        BOOST_TEST(c.policy.done());
    }
    {
        call c(config(5));
        BOOST_REQUIRE((c(answer(503, "SlowDown")).what == kind::sleep));
        auto a = c(ev::stopped{});
        BOOST_TEST((a.what == kind::fail));
        BOOST_TEST((a.code == e::upload_errc::cancelled));
    }
    {
        call c(config(5, false, false));
        auto lease = c(ev::stopped{});
        BOOST_TEST((lease.what == kind::lease), "the abort after a stop still goes out");
        auto sleep = c(answer(500));
        BOOST_REQUIRE((sleep.what == kind::sleep));
        auto still = c(ev::stopped{});
        BOOST_TEST((still.what == kind::sleep));
        BOOST_TEST(still.delay.count() == sleep.delay.count());
        BOOST_TEST((c(ev::woke{}).what == kind::lease));
        BOOST_TEST((c(answer(204)).what == kind::succeed));
    }
}

BOOST_AUTO_TEST_CASE(the_attempt_budget_and_the_backoff) {
    call c(config(4));
    for (long ms : {100, 200, 400}) {
        auto a = c(answer(500));
        BOOST_REQUIRE((a.what == kind::sleep));
        BOOST_TEST(a.delay.count() == ms);
        BOOST_TEST(a.report_retry);
        BOOST_REQUIRE((c(ev::woke{}).what == kind::lease));
    }
    BOOST_TEST(c.policy.attempts() == 4u);
    auto a = c(ev::connect_failed{te::connection_refused, "Connection refused"});
    BOOST_REQUIRE((a.what == kind::fail));
    BOOST_TEST((a.code == e::upload_errc::retries_exhausted));
    BOOST_TEST(a.message ==
               "part 7: failed after 4 attempts; last error: cannot connect to s3.example:443: connection refused "
               "(Connection refused)");
    BOOST_TEST(c.policy.status() == 0u, "the last outcome had no status");
}

BOOST_AUTO_TEST_CASE(throttling_backs_off_harder_and_retry_after_is_a_floor) {
    call c(config(5));
    auto slow = c(answer(503, "SlowDown"));
    BOOST_REQUIRE((slow.what == kind::sleep));
    BOOST_TEST(slow.delay.count() == 500, "throttle_multiplier 5 x base");
    BOOST_REQUIRE((c(ev::woke{}).what == kind::lease));
    auto told = c(answer(500, "InternalError", "3"));
    BOOST_REQUIRE((told.what == kind::sleep));
    BOOST_TEST(told.delay.count() == 3000, "never shorter than Retry-After");
}

BOOST_AUTO_TEST_CASE(jitter_comes_from_the_injected_random_source) {
    auto jittered = config(5);
    jittered.backoff.jitter = true;
    call c(jittered);
    std::mt19937_64 same(1);   // call's rng is seeded 1 too
    for (unsigned retry = 1; retry <= 3; ++retry) {
        auto a = c(answer(500));
        BOOST_REQUIRE((a.what == kind::sleep));
        BOOST_TEST(a.delay.count() == jittered.backoff.delay(retry, false, std::nullopt, same).count());
        BOOST_TEST(a.delay.count() <= jittered.backoff.ceiling(retry, false).count());
        BOOST_REQUIRE((c(ev::woke{}).what == kind::lease));
    }
}

BOOST_AUTO_TEST_CASE(a_source_failure_ends_the_call) {
    call c(config(5));
    auto a = c(ev::source_failed{"Input/output error"});
    BOOST_REQUIRE((a.what == kind::fail));
    BOOST_TEST((a.code == e::upload_errc::source_changed));
    BOOST_TEST(a.message ==
               "part 7: the source could not be read in full (Input/output error); it changed during the upload");
}

BOOST_AUTO_TEST_CASE(events_out_of_order_are_bugs) {
    std::mt19937_64 rng(1);
    d::retry_policy fresh(config(), rng);
    BOOST_CHECK_THROW(fresh.resume(answer(200)), std::logic_error);
    call c(config());
    BOOST_CHECK_THROW(c(ev::woke{}), std::logic_error);     // not sleeping
    BOOST_CHECK_THROW(c(ev::start{}), std::logic_error);    // started already
    BOOST_REQUIRE((c(answer(200)).what == kind::succeed));
    BOOST_CHECK_THROW(c(ev::stopped{}), std::logic_error);  // over
}

// The first slice of an unrepeatable body, kept where it was read.
BOOST_AUTO_TEST_CASE(body_rewind_keeps_only_the_first_slice_of_an_unrepeatable_body) {
    char slice[16];
    {
        d::body_rewind r(false);
        BOOST_TEST(r.rewindable(), "nothing read yet");
        BOOST_TEST(!r.kept(0, slice, 16));
        r.read(0, slice, 16);
        BOOST_TEST(r.rewindable(), "only the first slice was read");
        BOOST_TEST(r.kept(0, slice, 16), "a retry resends it from the slice buffer");
        BOOST_TEST(!r.kept(0, slice + 1, 16), "not from another buffer");
        BOOST_TEST(!r.kept(0, slice, 8), "not another length");
        BOOST_TEST(!r.kept(16, slice, 16), "not another offset");
        r.read(16, slice, 16);   // the second slice overwrote the first
        BOOST_TEST(!r.rewindable());
        BOOST_TEST(!r.kept(0, slice, 16));
    }
    {
        d::body_rewind r(true);
        r.read(0, slice, 16);
        r.read(16, slice, 16);
        BOOST_TEST(r.rewindable(), "a replayable source is read again");
        BOOST_TEST(!r.kept(0, slice, 16), "and really read again");
    }
}

BOOST_AUTO_TEST_SUITE_END()
