// The shared state behind hoist::engine::cancel_token.
#pragma once

#include "hoist/engine/upload.hpp"

#include <boost/asio/post.hpp>

#include <atomic>
#include <functional>
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
    cancel_binding(const cancel_token& token, Executor ex, F on_cancel) : state_(token.shared()) {
        std::lock_guard lock(state_->mutex);
        state_->notify = [ex, on_cancel] { boost::asio::post(ex, on_cancel); };
    }
    ~cancel_binding() {
        std::lock_guard lock(state_->mutex);
        state_->notify = nullptr;
    }
    cancel_binding(const cancel_binding&) = delete;
    cancel_binding& operator=(const cancel_binding&) = delete;

private:
    std::shared_ptr<cancel_token::state> state_;
};

} // namespace hoist::engine
