// hoist::engine::batch: the caller's thread feeds and receives; the client's
// thread runs the uploads. They meet in one mutex-guarded `shared` block: the
// count of uploads running, their cancel tokens, and the outcomes not yet
// handed back (at most files_in_flight of them).
#include "hoist/engine/batch.hpp"

#include "cancel_state.hpp"

namespace hoist::engine {

struct batch::shared {
    std::mutex mutex;
    std::condition_variable changed;
    unsigned running = 0;
    bool stopping = false;
    bool fail_fast = false;
    std::list<cancel_token> tokens;   // of the uploads running
    std::deque<file_outcome> done;    // ended, not yet handed to the caller

    void stop_all() {   // with the mutex held
        stopping = true;
        for (auto& t : tokens) t.cancel();
    }
};

batch::batch(client& c, batch_options options, outcome_handler on_outcome, std::function<void()> on_tick)
    : client_(c), options_(options), on_outcome_(std::move(on_outcome)), on_tick_(std::move(on_tick)),
      shared_(std::make_shared<shared>()) {
    if (options_.files_in_flight == 0) throw std::invalid_argument("batch_options::files_in_flight must be at least 1");
    shared_->fail_fast = options_.fail_fast;
    if (options_.cancel) {
        auto stop = [sh = shared_] {
            std::lock_guard lock(sh->mutex);
            sh->stop_all();
            sh->changed.notify_all();
        };
        cancel_binding_ = std::make_shared<cancel_binding>(*options_.cancel, client_.get_executor(), stop);
        if (options_.cancel->cancelled()) stop();
    }
}

batch::~batch() {
    // The handler of an upload still running refers to `shared_` only, so the
    // wait is for the uploads' aborts to run, not for memory safety. No
    // callback of the caller's runs from a destructor.
    cancel_binding_.reset();
    std::unique_lock lock(shared_->mutex);
    shared_->stop_all();
    shared_->changed.wait(lock, [&] { return shared_->running == 0; });
}

void batch::cancel() {
    std::lock_guard lock(shared_->mutex);
    shared_->stop_all();
    shared_->changed.notify_all();
}

bool batch::stopping() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->stopping;
}

void batch::deliver(std::unique_lock<std::mutex>& lock) {
    while (!shared_->done.empty()) {
        file_outcome o = std::move(shared_->done.front());
        shared_->done.pop_front();
        lock.unlock();
        if (o.ok) {
            ++totals_.succeeded;
            totals_.bytes_succeeded += o.result.bytes;
        } else {
            ++totals_.failed;
        }
        if (on_outcome_) on_outcome_(o);
        lock.lock();
    }
}

void batch::wait_until(std::unique_lock<std::mutex>& lock, const std::function<bool()>& ready) {
    auto next_tick = std::chrono::steady_clock::now() + options_.tick;
    while (true) {
        deliver(lock);
        if (ready()) return;
        shared_->changed.wait_until(lock, next_tick, [&] { return !shared_->done.empty() || ready(); });
        if (std::chrono::steady_clock::now() >= next_tick) {
            next_tick = std::chrono::steady_clock::now() + options_.tick;
            if (on_tick_) {
                lock.unlock();
                on_tick_();
                lock.lock();
            }
        }
    }
}

bool batch::submit(upload_source source, upload_options options, std::uint64_t size) {
    std::unique_lock lock(shared_->mutex);
    wait_until(lock, [&] { return shared_->stopping || shared_->running < options_.files_in_flight; });
    if (shared_->stopping) return false;
    ++shared_->running;
    cancel_token token;
    auto entry = shared_->tokens.insert(shared_->tokens.end(), token);
    lock.unlock();

    ++totals_.submitted;
    totals_.bytes_submitted += size;
    file_outcome pending;
    pending.path = source.path();
    pending.key = options.via ? std::string() : options.location.key;
    pending.size = size;
    auto started = std::chrono::steady_clock::now();
    auto on_end = [sh = shared_, entry, pending = std::move(pending), started](std::exception_ptr error,
                                                                               upload_result result) mutable {
        file_outcome& o = pending;
        o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (!error) {
            o.ok = true;
            if (!result.key.empty()) o.key = result.key;
            o.result = std::move(result);
        } else {
            try {
                std::rethrow_exception(error);
            } catch (const upload_error& e) {
                o.code = e.code();
                o.error = e.what();
                o.upload_id = e.upload_id();
                o.aborted = e.aborted();
            } catch (const std::exception& e) {
                o.code = upload_errc::rejected;
                o.error = e.what();
            }
        }
        std::lock_guard guard(sh->mutex);
        sh->tokens.erase(entry);
        --sh->running;
        bool failed = !o.ok && o.code != upload_errc::cancelled;
        sh->done.push_back(std::move(o));
        if (failed && sh->fail_fast) sh->stop_all();
        sh->changed.notify_all();
    };
    client_.async_upload(std::move(source), std::move(options), {}, token, std::move(on_end));
    return true;
}

void batch::finish() {
    std::unique_lock lock(shared_->mutex);
    wait_until(lock, [&] { return shared_->running == 0; });
    deliver(lock);
}

} // namespace hoist::engine
