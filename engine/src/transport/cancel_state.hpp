// The shared state behind hoist::engine::cancel_token.
#pragma once

#include "hoist/engine/upload.hpp"

#include <boost/asio/post.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

namespace hoist::engine {

struct cancel_token::state {
    std::atomic<bool> flag{false};
    std::mutex mutex;
    std::function<void()> notify;  // set while a job runs: posts the cancel into its io_context
};

// While alive, routes cancel_token::cancel() (from any thread) into a job's
// io_context: `on_cancel` runs there, posted. Unbinds on destruction, so a
// cancel after the job ended does nothing.
class cancel_binding {
public:
    template <class Executor, class F>
    cancel_binding(const cancel_token& token, Executor ex, F on_cancel)
        : state_(token.shared()), alive_(std::make_shared<bool>(true)) {
        std::lock_guard lock(state_->mutex);
        // The posted call checks that this binding still exists when it runs
        // (on the job's executor, where the binding is destroyed): a cancel
        // posted just before the job ended must not reach the job's corpse.
        state_->notify = [ex, on_cancel, alive = std::weak_ptr<bool>(alive_)] {
            boost::asio::post(ex, [alive, on_cancel] {
                if (alive.lock()) on_cancel();
            });
        };
    }
    ~cancel_binding() {
        std::lock_guard lock(state_->mutex);
        state_->notify = nullptr;
    }
    cancel_binding(const cancel_binding&) = delete;
    cancel_binding& operator=(const cancel_binding&) = delete;

private:
    std::shared_ptr<cancel_token::state> state_;
    std::shared_ptr<bool> alive_;
};

} // namespace hoist::engine
