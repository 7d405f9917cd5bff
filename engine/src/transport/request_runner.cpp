#include "request_runner.hpp"

#include "retry_policy.hpp"

#include "hoist/protocol/s3/requests.hpp"
#include "hoist/protocol/s3/xml.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>

#include <algorithm>
#include <cstdlib>

namespace hoist::engine::detail {

namespace {

// The call's body as the exchange reads it: the source itself, except that a
// retry of an unrepeatable source resends its first slice from the slice
// buffer, where it still is (body_rewind says when).
class rewindable_body final : public body_source {
public:
    explicit rewindable_body(body_source& source) : source_(source), rewind_(source.replayable()) {}
    std::uint64_t size() const override { return source_.size(); }
    bool replayable() const override { return source_.replayable(); }
    net::awaitable<net::error_code> read(std::uint64_t offset, std::span<char> out) override {
        if (rewind_.kept(offset, out.data(), out.size())) co_return net::error_code{};
        auto ec = co_await source_.read(offset, out);
        if (!ec) rewind_.read(offset, out.data(), out.size());
        co_return ec;
    }
    bool rewindable() const noexcept { return rewind_.rewindable(); }

private:
    body_source& source_;
    body_rewind rewind_;
};

// Whether `e` is how an Asio coroutine reports that it was cancelled: its next
// co_await after a terminal cancellation throws operation_aborted.
bool is_cut(const boost::system::system_error& e) { return e.code() == net::asio::error::operation_aborted; }

} // namespace

std::function<protocol::s3_request()> signed_each_attempt(std::function<protocol::s3_request()> build,
                                                          const sigv4::signer& signer, std::string region) {
    return [build = std::move(build), &signer, region = std::move(region)] {
        auto req = build();
        protocol::sign(req, signer, region, sigv4::amz_date::from(std::chrono::system_clock::now()));
        return req;
    };
}

namespace {
// A jitter seed per runner without a std::random_device per runner: opening
// one costs more than a small file's whole PutObject path (2% of the client's
// CPU for 2,000 files of 256 KiB, perf). One device read per thread seeds a
// generator of seeds.
std::uint64_t fresh_seed() {
    thread_local std::mt19937_64 seeds{(std::uint64_t(std::random_device{}()) << 32) ^ std::random_device{}()};
    return seeds();
}
} // namespace

request_runner::request_runner(net::asio::any_io_executor ex, backoff_policy backoff, std::uint64_t seed,
                               exchange_timeouts timeouts, std::size_t slice_size)
    : ex_(ex), backoff_(backoff), rng_(seed ? seed : fresh_seed()), timeouts_(timeouts),
      slice_size_(slice_size), calls_(ex) {}

void request_runner::stop() {
    stopping_ = true;
    calls_.emit(net::asio::cancellation_type::terminal);
}

net::awaitable<call_result> request_runner::call(connection_pool& pool, call_spec spec) {
    // A child coroutine either way: in the group (stop() cuts it), or with no
    // cancellation slot at all (nothing cuts it, not even the awaiting
    // coroutine's own cancellation).
    std::exception_ptr failure;
    call_result out;
    if (spec.cancellable) {
        std::tie(failure, out) = co_await calls_.run(drive(pool, std::move(spec)));
    } else {
        std::tie(failure, out) = co_await net::asio::co_spawn(
            ex_, drive(pool, std::move(spec)),
            net::asio::bind_cancellation_slot(net::asio::cancellation_slot(), net::use_nothrow));
    }
    if (failure) std::rethrow_exception(failure);   // a bug, not an I/O outcome
    co_return out;
}

namespace {
// The kind of request a call is, from the name the backends give it ("part 3",
// "part 3 (through the service)", "single PUT", "CreateMultipartUpload",
// "ListParts key"): the first word, with parts and single PUTs named as S3 does.
std::string request_kind(const std::string& what) {
    if (what.rfind("part ", 0) == 0) return "UploadPart";
    if (what == "single PUT") return "PutObject";
    if (what.rfind("service ", 0) == 0) return what;
    return what.substr(0, what.find(' '));
}

std::uint32_t part_number(const std::string& what) {
    if (what.rfind("part ", 0) != 0) return 0;
    return static_cast<std::uint32_t>(std::strtoul(what.c_str() + 5, nullptr, 10));
}
} // namespace

void request_runner::observe(const call_spec& spec, std::chrono::system_clock::time_point start_wall,
                             std::chrono::steady_clock::time_point start, const call_result& out,
                             std::uint64_t bytes,
                             const std::optional<std::chrono::steady_clock::duration>& first_byte) const {
    const std::string kind = request_kind(spec.what);
    request_observation o;
    o.kind = kind;
    o.part = part_number(spec.what);
    o.start = start_wall;
    o.duration = std::chrono::steady_clock::now() - start;
    if (first_byte) o.first_byte = *first_byte;
    o.bytes = bytes;
    o.ok = out.ok;
    o.status = out.status;
    if (!out.ok) {
        if (!out.s3_code.empty()) o.error = out.s3_code;
        else if (out.code == upload_errc::cancelled) o.error = "cancelled";
        else if (out.status) o.error = "HTTP " + std::to_string(out.status);
        else o.error = "transport";
    }
    o.retries = (out.attempts ? out.attempts - 1 : 0) + out.progress_retries;
    on_request(o);
}

net::awaitable<call_result> request_runner::drive(connection_pool& pool, call_spec spec) {
    // Measured only for an observer: two clock reads per call otherwise saved.
    const bool observed = static_cast<bool>(on_request);
    const auto start_wall = observed ? std::chrono::system_clock::now() : std::chrono::system_clock::time_point{};
    const auto start = observed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    std::optional<std::chrono::steady_clock::duration> first_byte;
    std::uint64_t request_bytes = spec.body ? spec.body->size() : 0;
    retry_config config{spec.what, pool.authority(), spec.max_attempts, spec.body != nullptr, spec.cancellable,
                        backoff_};
    retry_policy policy(std::move(config), rng_);
    call_result out;
    auto stopped = [&] { return spec.cancellable && stopping_; };
    auto take_back = [&](std::uint64_t n) {
        if (n && on_unsent) on_unsent(n);
    };

    // The slice buffer is the connection's (connection::send_slice): calls
    // waiting for a connection or sleeping between attempts hold none, so a
    // client's slices are bounded by its open connections, whatever the
    // number of uploads waiting. An unrepeatable body has a slice of its own
    // for the whole call: a retry, on another connection, finds its first
    // slice still there.
    std::optional<rewindable_body> body;
    std::vector<char> own_slice;
    const bool keep_slice = spec.body && !spec.body->replayable();
    if (spec.body) body.emplace(*spec.body);

    auto act = policy.resume(retry_event::start{});
    bool told_stop = false;
    for (;;) {
        using kind = retry_action::kind;
        // A stop is noticed before any new lease or sleep (the policy ignores
        // it for a call that is not cancellable).
        if ((act.what == kind::lease || act.what == kind::sleep) && stopping_ && !told_stop) {
            told_stop = true;
            act = policy.resume(retry_event::stopped{});
        }
        if (act.what == kind::succeed || act.what == kind::fail) {
            out.ok = act.what == kind::succeed;
            if (!out.ok) {
                out.code = act.code;
                out.error = std::move(act.message);
            }
            out.attempts = policy.attempts();
            out.progress_retries = policy.progress_retries();
            out.status = policy.status();
            out.s3_code = policy.s3_code();
            if (observed) observe(spec, start_wall, start, out, request_bytes, first_byte);
            co_return out;
        }
        if (act.what == kind::sleep) {
            if (act.report_retry && on_retry) on_retry();
            // Cut by stop() (a cancellable call): the wait completes with
            // operation_aborted.
            net::asio::steady_timer timer(ex_, act.delay);
            try {
                auto [ec] = co_await timer.async_wait(net::use_nothrow);
                (void)ec;
            } catch (const boost::system::system_error& e) {
                if (!is_cut(e) || !stopped()) throw;   // cancelled before the wait began
            }
            act = stopped() ? policy.resume(retry_event::stopped{}) : policy.resume(retry_event::woke{});
            continue;
        }

        if (act.report_retry && on_retry) on_retry();
        // The first piece's bandwidth is paid before the lease, so that a call
        // queued behind a cap waits without holding a connection that others
        // (a Complete, a HEAD, another upload's request) could use meanwhile.
        // Cut by stop() like a backoff sleep.
        std::uint64_t prepaid = 0;
        const std::size_t piece = throttle_piece(limits, slice_size_);
        if (body && !limits.empty()) {
            prepaid = std::min<std::uint64_t>(piece, body->size());
            net::error_code tec;
            try {
                for (auto* limit : limits)
                    if (!tec) tec = co_await limit->take(static_cast<std::size_t>(prepaid));
            } catch (const boost::system::system_error& e) {
                if (!is_cut(e) || !stopped()) throw;
                tec = e.code();
            }
            if (tec) {
                if (!stopped()) throw boost::system::system_error(tec, "bandwidth wait");   // only a stop cuts it
                act = policy.resume(retry_event::stopped{});
                continue;
            }
        }
        // Lease. A stop cuts a connect in flight (or the wait for a warming
        // connection); the aborted lease closes what it had opened.
        std::optional<std::tuple<net::error_code, pooled_connection>> leased;
        try {
            leased.emplace(co_await pool.acquire(act.fresh));
        } catch (const boost::system::system_error& e) {
            if (!is_cut(e) || !stopped()) throw;
        }
        if (!leased) {
            act = policy.resume(retry_event::stopped{});
            continue;
        }
        auto& [lec, lease] = *leased;
        if (stopped()) {
            // Leased after the stop, nothing sent: a good connection goes back.
            if (!lec) lease.mark_reusable();
            act = policy.resume(retry_event::stopped{});
            continue;
        }
        if (lec) {
            act = policy.resume(retry_event::connect_failed{classify_transport(lec), lec.message()});
            continue;
        }

        // Exchange. A stop cuts it where it is; the lease, not marked
        // reusable, then closes the connection: it is never pooled again.
        auto req = spec.build();
        if (!spec.body) request_bytes = req.body.size();
        std::uint64_t sent_here = 0;
        std::function<void(std::size_t)> sent_hook;
        if (body) sent_hook = [&](std::size_t n) {
            sent_here += n;
            if (on_sent) on_sent(n);
        };
        std::optional<exchange_result> exchanged;
        std::span<char> slice;
        if (body && keep_slice) {
            if (own_slice.empty()) own_slice.resize(slice_size_);
            slice = own_slice;
        } else if (body) {
            // A body smaller than a slice needs no more (a 1 KiB file, a 1 KiB
            // buffer); the connection's buffer only grows.
            slice = lease.get().send_slice(static_cast<std::size_t>(
                std::clamp<std::uint64_t>(body->size(), 1, slice_size_)));
        }
        try {
            exchanged.emplace(co_await exchange(lease.get(), req, body ? &*body : nullptr, slice, timeouts_, sent_hook,
                                              send_throttle{limits, piece, prepaid}));
        } catch (const boost::system::system_error& e) {
            if (!is_cut(e) || !stopped()) throw;
        }
        if (exchanged) {
            first_byte.reset();
            if (exchanged->sent_at && exchanged->header_at) first_byte = *exchanged->header_at - *exchanged->sent_at;
        }
        retry_event_t outcome = retry_event::stopped{};   // cut by the stop (an error while stopping is taken for it)
        if (exchanged && !(exchanged->ec && stopped())) {
            auto& r = *exchanged;
            bool rewindable = !body || body->rewindable();
            if (r.source_failed) {
                outcome = retry_event::source_failed{r.ec.message()};
            } else if (r.ec) {
                outcome = retry_event::exchange_failed{classify_transport(r.ec), r.ec.message(), lease.reused(),
                                                       r.response_started, sent_here, rewindable};
            } else {
                if (r.response.keep_alive) lease.mark_reusable();
                // S3 may put an <Error> in a 200 answer to a POST (CompleteMultipartUpload).
                std::optional<protocol::s3_error> err;
                if (!r.response.body.empty() && (r.response.status >= 300 || req.method == "POST"))
                    err = protocol::parse_error(r.response.body);
                outcome = retry_event::response{r.response.status, err ? err->code : std::string(),
                                                err ? err->message : std::string(), r.response.header("Retry-After"),
                                                rewindable};
                out.response = std::move(r.response);
            }
        }
        act = policy.resume(std::move(outcome));
        if (act.what != retry_action::kind::succeed) take_back(sent_here);
    }
}

} // namespace hoist::engine::detail
