// The shared state behind hoist::engine::cancel_token.
#pragma once

#include "hoist/engine/upload.hpp"

#include <atomic>
#include <functional>
#include <mutex>

namespace hoist::engine {

struct cancel_token::state {
    std::atomic<bool> flag{false};
    std::mutex mutex;
    std::function<void()> notify;  // set while a job runs: posts the cancel into its io_context
};

} // namespace hoist::engine
