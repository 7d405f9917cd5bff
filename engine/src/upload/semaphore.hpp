// An async semaphore for coroutines on one io_context: a channel of capacity N
// is a semaphore with N permits. acquire() sends a message, which waits while
// the channel is full; release() takes one message out, which lets one waiting
// acquire() through. cancel() makes every waiting acquire() complete with an
// error (asio's channel close/cancel semantics were fixed after 1.81, so
// waiters are cancelled explicitly, as STYLE.md advises).
#pragma once

#include "net.hpp"

#include <boost/asio/experimental/channel.hpp>

namespace hoist::engine::detail {

class async_semaphore {
public:
    async_semaphore(net::asio::any_io_executor ex, std::size_t permits) : channel_(ex, permits) {}

    // Completes with no error once a permit is held, or with an error after cancel().
    net::awaitable<net::error_code> acquire() {
        auto [ec] = co_await channel_.async_send(net::error_code{}, net::use_nothrow);
        co_return ec;
    }

    // Takes a permit if one is free; false otherwise. Never waits.
    bool try_acquire() { return channel_.try_send(net::error_code{}); }
    void release() { channel_.try_receive([](net::error_code) {}); }
    void cancel() { channel_.cancel(); }

private:
    net::asio::experimental::channel<void(net::error_code)> channel_;
};

} // namespace hoist::engine::detail
