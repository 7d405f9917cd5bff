// The retry policy of one S3 (or presign-service) call as a pure state
// machine, in the style of Boost.Redis's `*_fsm`: request_runner feeds it
// what happened (`resume(event)`) and does what it answers (an action). No
// sockets, no clock, no Asio: the random source of the backoff jitter is the
// caller's, so every rule is table-tested deterministically
// (tests/retry_policy_test.cpp).
//
// The rules, all decided here:
//   (a) dead kept-alive connection: an exchange on a *reused* connection that
//       fails before any response byte, before `progress_bytes` of body went
//       out and not by a timeout is what a server closing an idle connection
//       looks like. Once per call it is retried at once on a fresh connection:
//       not a failed attempt (the budget is untouched), but a re-send, so the
//       action asks the driver to report a retry. Only when the body can be
//       sent again from byte 0.
//   (b) cut after progress: a body cut by a connection reset/abort after at
//       least `progress_bytes` of it went out says the link is flaky, not that
//       the request is refused: such an attempt does not use the budget, up to
//       4 x max_attempts of them (25 tries in all at the default 5; rclone
//       makes 10 low-level tries per part and 3 whole-file tries). Measured on
//       the bench's unstable bed with resets (one packet in 5,000 both ways),
//       an 8 MiB part is cut on ~83% of its attempts: 5 tries lose 39% of such
//       parts, 15 lose 6%, 25 lose 1%.
//   (c) a body that cannot be sent again from byte 0 (an unrepeatable source
//       whose bytes are gone) ends the call after a failed attempt: the
//       caller's own client retries.
//   (d) a fatal outcome (protocol::classify) ends the call at once.
//   (e) a stop ends a cancellable call (`cancelled`); a call that is not
//       cancellable (the abort that cleans up after a stop) takes no notice.
//   and: the attempt budget (`max_attempts` counted attempts), full-jitter
//   exponential backoff between attempts (backoff_policy: throttling backs off
//   from a larger base, never shorter than the server's Retry-After).
//
// Protocol: resume(start) first; then, for each action, the driver performs
// it and feeds its outcome:
//   lease  -> connect_failed | exchange_failed | response | source_failed
//   sleep  -> woke
//   succeed / fail: the call is over (no further event).
// `stopped` may be fed before performing any lease or sleep, and in place of
// the outcome of an operation that the stop cut. An event out of this order is
// a bug in the driver: std::logic_error.
#pragma once

#include "hoist/engine/backoff.hpp"
#include "hoist/engine/upload.hpp"
#include "hoist/protocol/s3/classify.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace hoist::engine::detail {

// How much of a body an attempt must have sent for a reset to count as "cut
// after progress" (rule b) rather than as a failed attempt, and beyond which a
// failure on a reused connection is no longer taken for a dead keep-alive
// (rule a): a connection that carried a megabyte was alive.
inline constexpr std::uint64_t progress_bytes = 1024 * 1024;

namespace retry_event {

struct start {};

// Resolve, connect or TLS handshake failed.
struct connect_failed {
    protocol::transport_error error = protocol::transport_error::other;
    std::string detail;   // the error's own message, for the final error line
};

// The exchange failed on the wire (no complete response).
struct exchange_failed {
    protocol::transport_error error = protocol::transport_error::other;   // timeout: any deadline
    std::string detail;
    bool reused = false;             // the connection had served a request before this one
    bool response_started = false;   // some response bytes arrived
    std::uint64_t bytes_sent = 0;    // body bytes the socket took in this attempt
    bool body_rewindable = true;     // the body can be sent again from byte 0 (always without a body)
};

// A complete HTTP response.
struct response {
    unsigned status = 0;
    std::string s3_code;                      // <Error><Code>, also from a 200 answer to a POST
    std::string s3_message;                   // <Error><Message>
    std::optional<std::string> retry_after;   // the raw Retry-After header
    bool body_rewindable = true;
};

// The body source could not deliver its bytes (a file that changed, a
// client that stopped sending).
struct source_failed {
    std::string detail;
};

// The backoff sleep is over.
struct woke {};

// The runner was stopped.
struct stopped {};

} // namespace retry_event

using retry_event_t = std::variant<retry_event::start, retry_event::connect_failed, retry_event::exchange_failed,
                                   retry_event::response, retry_event::source_failed, retry_event::woke,
                                   retry_event::stopped>;

struct retry_action {
    enum class kind {
        lease,     // lease a connection (a fresh one if `fresh`, else any) and run one exchange on it
        sleep,     // wait `delay`, then feed woke
        succeed,   // the last response is the call's answer
        fail,      // the call failed with `code` and `message`
    };
    kind what = kind::fail;
    bool fresh = false;                    // lease: not an idle pooled connection
    bool report_retry = false;             // lease, sleep: a re-send the user is told about (before doing it)
    std::chrono::milliseconds delay{0};    // sleep
    upload_errc code = upload_errc::rejected;   // fail
    std::string message;                   // fail: one line, starting with the call's name

    static retry_action lease(bool fresh, bool report_retry) {
        retry_action a;
        a.what = kind::lease;
        a.fresh = fresh;
        a.report_retry = report_retry;
        return a;
    }
    static retry_action sleep(std::chrono::milliseconds d) {
        retry_action a;
        a.what = kind::sleep;
        a.delay = d;
        a.report_retry = true;
        return a;
    }
    static retry_action succeed() {
        retry_action a;
        a.what = kind::succeed;
        return a;
    }
    static retry_action fail(upload_errc code, std::string message) {
        retry_action a;
        a.what = kind::fail;
        a.code = code;
        a.message = std::move(message);
        return a;
    }
};

struct retry_config {
    std::string what;        // "part 3", "CompleteMultipartUpload": starts every message
    std::string authority;   // "host:port", named when a connection cannot be opened
    unsigned max_attempts = 5;
    bool has_body = false;   // a streamed body (rule b is about its bytes)
    bool cancellable = true;
    backoff_policy backoff;
};

// One call's retry decisions. `Rng` is a UniformRandomBitGenerator for the
// backoff jitter; it must outlive the policy.
template <class Rng = std::mt19937_64>
class basic_retry_policy {
public:
    basic_retry_policy(retry_config config, Rng& rng) : config_(std::move(config)), rng_(rng) {}

    retry_action resume(retry_event_t event) {
        return std::visit([this](auto& e) { return on(e); }, event);
    }

    // Counted attempts so far (the current one included); call_result::attempts.
    unsigned attempts() const noexcept { return attempts_; }
    // Attempts cut after progress that were not counted (rule b).
    unsigned progress_retries() const noexcept { return progress_retries_; }
    // The last HTTP status (0 after a transport failure) and <Error><Code>.
    unsigned status() const noexcept { return status_; }
    const std::string& s3_code() const noexcept { return s3_code_; }
    bool done() const noexcept { return phase_ == phase::done; }

private:
    enum class phase { ready, leased, sleeping, done };

    retry_action on(const retry_event::start&) {
        expect(phase_ == phase::ready, "start");
        attempts_ = 1;
        return issue(retry_action::lease(false, false), phase::leased);
    }

    retry_action on(const retry_event::connect_failed& e) {
        expect(phase_ == phase::leased, "connect_failed");
        status_ = 0;
        auto verdict = protocol::classify(e.error, 0, "");
        verdict.reason = "cannot connect to " + config_.authority + ": " + verdict.reason + " (" + e.detail + ")";
        return judge(verdict, true, false);
    }

    retry_action on(const retry_event::exchange_failed& e) {
        expect(phase_ == phase::leased, "exchange_failed");
        status_ = 0;
        bool rewindable = !config_.has_body || e.body_rewindable;
        // (a) The server closed an idle kept-alive connection: a stale
        // connection fails at once; one that carried a megabyte first was
        // alive, and its reset is judged below as a cut after progress.
        bool dead_keepalive = e.reused && !e.response_started && e.error != protocol::transport_error::timeout &&
                              e.bytes_sent < progress_bytes;
        if (dead_keepalive && free_retry_ && rewindable) {
            free_retry_ = false;
            return issue(retry_action::lease(true, true), phase::leased);
        }
        auto verdict = protocol::classify(e.error, 0, "");
        verdict.reason += " (" + e.detail + ")";
        // (b) A body cut by the network after real progress (a reset, not a stall).
        bool progressed = config_.has_body && e.bytes_sent >= progress_bytes &&
                          verdict.kind != protocol::outcome_kind::fatal &&
                          (e.error == protocol::transport_error::connection_reset ||
                           e.error == protocol::transport_error::connection_aborted);
        bool uncounted = progressed && rewindable && progress_retries_ < 4 * config_.max_attempts;
        if (uncounted) ++progress_retries_;
        return judge(verdict, rewindable, uncounted);
    }

    retry_action on(const retry_event::response& e) {
        expect(phase_ == phase::leased, "response");
        status_ = e.status;
        s3_code_ = e.s3_code;
        auto verdict = protocol::classify(protocol::transport_error::none, e.status, e.s3_code,
                                          e.retry_after ? std::optional<std::string_view>(*e.retry_after)
                                                        : std::nullopt);
        if (verdict.kind == protocol::outcome_kind::success) return finish(retry_action::succeed());
        if (!e.s3_message.empty()) verdict.reason += ": " + e.s3_message;
        return judge(verdict, !config_.has_body || e.body_rewindable, false);
    }

    retry_action on(const retry_event::source_failed& e) {
        expect(phase_ == phase::leased, "source_failed");
        return finish(retry_action::fail(upload_errc::source_changed,
                                         config_.what + ": the source could not be read in full (" + e.detail +
                                             "); it changed during the upload"));
    }

    retry_action on(const retry_event::woke&) {
        expect(phase_ == phase::sleeping, "woke");
        ++attempts_;
        return issue(retry_action::lease(false, false), phase::leased);
    }

    retry_action on(const retry_event::stopped&) {
        expect(phase_ == phase::leased || phase_ == phase::sleeping, "stopped");
        // (e) The pending action stands for a call that is not cancellable.
        if (!config_.cancellable) return pending_;
        return finish(retry_action::fail(upload_errc::cancelled, config_.what + ": stopped"));
    }

    // After a failed attempt: fatal ends (d), an exhausted budget or a body
    // that cannot be sent again ends (c), else back off and try again.
    retry_action judge(const protocol::outcome& verdict, bool rewindable, bool uncounted) {
        last_reason_ = verdict.reason;
        if (verdict.kind == protocol::outcome_kind::fatal)
            return finish(retry_action::fail(upload_errc::rejected, config_.what + ": " + verdict.reason));
        if (uncounted) --attempts_;   // woke counts the next one again
        if (attempts_ >= config_.max_attempts || !rewindable) return finish(exhausted());
        bool throttled = verdict.kind == protocol::outcome_kind::throttle;
        return issue(retry_action::sleep(config_.backoff.delay(attempts_, throttled, verdict.retry_after, rng_)),
                     phase::sleeping);
    }

    retry_action exhausted() const {
        unsigned tries = attempts_ + progress_retries_;
        return retry_action::fail(upload_errc::retries_exhausted,
                                  config_.what + ": failed after " + std::to_string(tries) + " attempt" +
                                      (tries == 1 ? "" : "s") + "; last error: " + last_reason_);
    }

    retry_action issue(retry_action a, phase next) {
        phase_ = next;
        pending_ = a;
        return a;
    }

    retry_action finish(retry_action a) {
        phase_ = phase::done;
        return a;
    }

    static void expect(bool ok, const char* event) {
        if (!ok) throw std::logic_error(std::string("retry_policy: unexpected event ") + event);
    }

    retry_config config_;
    Rng& rng_;
    phase phase_ = phase::ready;
    retry_action pending_;
    unsigned attempts_ = 0;
    unsigned progress_retries_ = 0;
    bool free_retry_ = true;   // rule (a), once per call
    unsigned status_ = 0;
    std::string s3_code_;
    std::string last_reason_;
};

using retry_policy = basic_retry_policy<>;

// Whether a streamed body can still be sent again from byte 0. A replayable
// source always can. An unrepeatable one (a network stream) can while nothing
// past its first slice has been read: that slice is still in the caller's
// slice buffer, so a retry sends it from there instead of reading the source
// again. That keeps rule (a) working in the race where a server closes an idle
// connection just as a request goes out on it (the failure then shows within
// the first slice), at no cost in memory.
//
// Protocol, for each read of the source into `at` (offset, n):
//   kept(offset, at, n)  -> true: the bytes are already there, skip the source;
//   else read the source, then read(offset, at, n) once the read succeeded.
class body_rewind {
public:
    explicit body_rewind(bool source_replayable) : replayable_(source_replayable) {}

    bool kept(std::uint64_t offset, const void* at, std::size_t n) const noexcept {
        return !replayable_ && offset == 0 && n > 0 && at == first_ && n == first_size_ && read_end_ == first_size_;
    }

    void read(std::uint64_t offset, const void* at, std::size_t n) noexcept {
        if (offset == 0) {
            first_ = at;
            first_size_ = n;
        }
        read_end_ = std::max(read_end_, offset + n);
    }

    bool rewindable() const noexcept { return replayable_ || read_end_ <= first_size_; }

private:
    bool replayable_;
    const void* first_ = nullptr;   // where the first slice was read to
    std::uint64_t first_size_ = 0;
    std::uint64_t read_end_ = 0;    // the furthest byte read from the source, + 1
};

} // namespace hoist::engine::detail
