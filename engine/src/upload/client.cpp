// hoist::engine::client: the executor (its own thread, or the caller's), the
// shared resources (client_core), and the entry points, blocking and async.
#include "client_core.hpp"
#include "cancel_state.hpp"
#include "upload_job.hpp"

#include "hoist/engine/client.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <list>
#include <thread>

namespace hoist::engine {

// ---- cancel_token -----------------------------------------------------------------

cancel_token::cancel_token() : state_(std::make_shared<state>()) {}

void cancel_token::cancel() const {
    state_->flag = true;
    std::lock_guard lock(state_->mutex);
    if (state_->notify) state_->notify();
}

bool cancel_token::cancelled() const noexcept { return state_->flag; }

std::string_view to_string(upload_errc c) {
    switch (c) {
    case upload_errc::rejected: return "rejected";
    case upload_errc::retries_exhausted: return "retries exhausted";
    case upload_errc::cancelled: return "cancelled";
    case upload_errc::source_changed: return "source changed";
    case upload_errc::source_error: return "source error";
    case upload_errc::verification_failed: return "verification failed";
    case upload_errc::invalid_argument: return "invalid argument";
    }
    return "?";
}

namespace detail {

// ---- client_core ----------------------------------------------------------------------

client_core::client_core(net::asio::any_io_executor ex, const client_options& options)
    : ex_(ex), options_(options), connections_(ex, options.max_connections),
      read_ahead_(ex, options.max_buffered_bytes), bandwidth_(options.max_bytes_per_second) {}

client_core::~client_core() = default;

connection_pool& client_core::pool(const protocol::endpoint& ep, const upload_options& opt) {
    // Uploads with the same endpoint and connection settings share a pool.
    std::string key = ep.scheme + "://" + ep.authority() + "|" + (opt.tls.verify ? "v" : "-") + opt.tls.ca_file + "|" +
                      std::to_string(opt.connect_timeout.count()) + "|" + std::to_string(opt.idle_timeout.count()) +
                      "|" + (opt.tcp_pacing ? "p" : "-");
    auto& slot = pools_[key];
    if (!slot) {
        pool_config c;
        c.host = ep.host;
        c.port = ep.port;
        c.use_tls = ep.tls();
        c.tls = opt.tls;
        c.connect_timeout = opt.connect_timeout;
        c.idle_timeout = opt.idle_timeout;
        c.max_idle = options_.max_connections;
        c.pace = opt.tcp_pacing;
        c.limit = &connections_;
        try {
            slot = std::make_shared<connection_pool>(ex_, c);
        } catch (...) {
            pools_.erase(key);
            throw;
        }
    }
    return *slot;
}

client_stats client_core::stats() const {
    client_stats s;
    s.uploads_started = uploads_started;
    s.uploads_running = uploads_running;
    s.uploads_succeeded = uploads_succeeded;
    s.uploads_failed = uploads_failed;
    s.bytes_acked = bytes_acked;
    s.bytes_in_flight = bytes_in_flight;
    s.connections_open = connections_.open();
    s.connections_peak = connections_.peak();
    s.connections_opened = connections_.total_opened();
    s.buffered_bytes = read_ahead_.used();
    s.buffered_peak = read_ahead_.peak();
    return s;
}

} // namespace detail

// ---- client -------------------------------------------------------------------------

struct client::impl {
    // Own thread: the io_context, kept running by a work guard until the client ends.
    std::unique_ptr<net::asio::io_context> own;
    std::optional<net::asio::executor_work_guard<net::asio::io_context::executor_type>> work;
    std::thread thread;
    net::asio::any_io_executor ex;
    std::unique_ptr<detail::client_core> core;
    // Uploads running, each with its way to stop it (client destruction cancels them).
    detail::task_group uploads;
    std::list<cancel_token> running;

    explicit impl(net::asio::any_io_executor e, const client_options& o)
        : ex(e), core(std::make_unique<detail::client_core>(e, o)), uploads(e) {}
};

client::client(client_options options) {
    auto ioc = std::make_unique<net::asio::io_context>(1);
    auto ex = ioc->get_executor();
    impl_ = std::make_unique<impl>(ex, options);
    impl_->own = std::move(ioc);
    impl_->work.emplace(impl_->own->get_executor());
    impl_->thread = std::thread([io = impl_->own.get()] { io->run(); });
}

client::client(boost::asio::any_io_executor executor, client_options options)
    : impl_(std::make_unique<impl>(std::move(executor), options)) {}

client::~client() {
    if (!impl_->own) {
        // On the caller's executor: the uploads must have completed (documented);
        // a running one is cancelled so that it does not go on alone.
        for (auto& t : impl_->running) t.cancel();
        return;
    }
    // Cancel what runs and let it abort and finish; close the pools, whose
    // warm-ups then end; the thread's run() returns once nothing is left.
    std::promise<void> drained;
    auto drain = [](impl* self, std::promise<void>* done) -> net::awaitable<void> {
        for (auto& t : self->running) t.cancel();
        co_await self->uploads.join();
        self->core->close_all();
        done->set_value();
    };
    net::asio::co_spawn(impl_->ex, drain(impl_.get(), &drained), net::asio::detached);
    drained.get_future().wait();
    impl_->work.reset();
    impl_->thread.join();
    impl_->core.reset();   // before the io_context its sockets and timers belong to
}

client_stats client::stats() const { return impl_->core->stats(); }

detail::client_core& detail::client_access::core(client& c) { return *c.impl_->core; }

void detail::client_access::require_blocking(const client& c, const char* what) {
    if (!c.impl_->own)
        throw std::logic_error(std::string(what) + " blocks: it needs a client with its own thread");
    if (c.impl_->thread.get_id() == std::this_thread::get_id())
        throw std::logic_error(std::string(what) + " called on the client's own thread: it would wait for itself");
}

boost::asio::any_io_executor client::get_executor() const { return impl_->ex; }

namespace {

using outcome = std::pair<std::exception_ptr, upload_result>;

// One upload, start to end, on the client's executor. A function with
// by-value parameters, not a capturing coroutine lambda: a lambda's frame
// refers to its closure, which would be gone once the spawn returns.
net::awaitable<void> run_upload(detail::client_core& core, std::list<cancel_token>& running, upload_source source,
                                upload_options options, progress_callback on_progress, cancel_token cancel,
                                std::shared_ptr<outcome> out) {
    auto entry = running.insert(running.end(), cancel);
    struct unlist {
        std::list<cancel_token>& l;
        std::list<cancel_token>::iterator it;
        ~unlist() { l.erase(it); }
    } guard{running, entry};
    try {
        detail::upload_job job(core, options, std::move(on_progress));
        cancel_binding binding(cancel, core.executor(),
                                       [j = &job] { j->fail(upload_errc::cancelled, "cancelled"); });
        if (cancel.cancelled()) job.fail(upload_errc::cancelled, "cancelled");
        out->second = co_await job.run(std::move(source));
    } catch (...) {
        out->first = std::current_exception();
    }
}

} // namespace

void client::start(upload_source source, upload_options options, progress_callback on_progress, cancel_token cancel,
                   handler_type handler) {
    // Per-operation cancellation: whatever the type, it stops this upload. The
    // slot is connected here, on the caller's side, and cleared there when the
    // handler runs; the token posts the cancel into the client's executor.
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) slot.assign([cancel](boost::asio::cancellation_type) { cancel.cancel(); });
    auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler, impl_->ex));
    auto out = std::make_shared<outcome>();

    // The job ends (and is destroyed) on the client's executor; the handler then
    // runs through its own executor, where its cancellation slot is cleared.
    auto complete = [out, handler = std::move(handler), work = std::move(work)](std::exception_ptr e) mutable {
        if (e && !out->first) out->first = e;
        auto ex = work.get_executor();
        auto finish = [out, handler = std::move(handler)]() mutable {
            auto slot = boost::asio::get_associated_cancellation_slot(handler);
            if (slot.is_connected()) slot.clear();
            std::move(handler)(out->first, std::move(out->second));
        };
        boost::asio::dispatch(ex, std::move(finish));
        work.reset();
    };
    auto spawn = [core = impl_->core.get(), group = &impl_->uploads, running = &impl_->running,
                  source = std::move(source), options = std::move(options), on_progress = std::move(on_progress),
                  cancel = std::move(cancel), out, complete = std::move(complete)]() mutable {
        group->spawn(run_upload(*core, *running, std::move(source), std::move(options), std::move(on_progress),
                                std::move(cancel), out),
                     std::move(complete));
    };
    boost::asio::dispatch(impl_->ex, std::move(spawn));
}

upload_result client::upload(upload_source source, const upload_options& options, progress_callback on_progress,
                             cancel_token cancel) {
    if (impl_->own && impl_->thread.get_id() == std::this_thread::get_id())
        throw std::logic_error("client::upload called on the client's own thread: it would wait for itself");
    if (!impl_->own)
        throw std::logic_error("client::upload blocks: use async_upload on a client built on the caller's executor");
    std::promise<upload_result> done;
    auto future = done.get_future();
    handler_type handler([&done](std::exception_ptr e, upload_result r) {
        if (e) done.set_exception(e);
        else done.set_value(std::move(r));
    });
    start(std::move(source), options, std::move(on_progress), std::move(cancel), std::move(handler));
    return future.get();
}

// ---- the one-shot blocking functions ------------------------------------------------

namespace {
client_options one_shot_options(const upload_options& options) {
    client_options c;
    // One upload: enough connections for its parts, the warm-ups and the free retries.
    c.max_connections = std::max<std::size_t>(c.max_connections, options.concurrency + 4);
    return c;
}
} // namespace

upload_result upload_file(const std::string& path, const upload_options& options, progress_callback on_progress,
                          cancel_token cancel) {
    detail::validate(options);
    client c(one_shot_options(options));
    return c.upload(upload_source::file(path), options, std::move(on_progress), std::move(cancel));
}

upload_result upload_stream(int fd, const upload_options& options, progress_callback on_progress,
                            cancel_token cancel) {
    detail::validate(options);
    client c(one_shot_options(options));
    return c.upload(upload_source::descriptor(fd), options, std::move(on_progress), std::move(cancel));
}

} // namespace hoist::engine
