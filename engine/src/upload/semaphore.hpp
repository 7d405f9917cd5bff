// An async semaphore for coroutines on one io_context, with RAII permits: a
// channel of capacity N is a semaphore with N permits. acquire() sends a
// message, which waits while the channel is full; a permit's destruction takes
// one message out, which lets one waiting acquire() through (waiters pass in
// FIFO order). cancel() makes every waiting acquire() complete with an error
// (asio's channel close/cancel semantics were fixed after 1.81, so waiters are
// cancelled explicitly, as STYLE.md advises).
#pragma once

#include "net.hpp"

#include <boost/asio/experimental/channel.hpp>

#include <optional>
#include <tuple>
#include <utility>

namespace hoist::engine::detail {

class async_semaphore {
public:
    // One permit held; released when destroyed (or by release()).
    class permit {
    public:
        permit() = default;
        explicit permit(async_semaphore* s) : sem_(s) {}
        permit(permit&& o) noexcept : sem_(std::exchange(o.sem_, nullptr)) {}
        permit& operator=(permit&& o) noexcept {
            if (this != &o) {
                release();
                sem_ = std::exchange(o.sem_, nullptr);
            }
            return *this;
        }
        ~permit() { release(); }
        explicit operator bool() const noexcept { return sem_ != nullptr; }
        void release() {
            if (auto* s = std::exchange(sem_, nullptr)) s->channel_.try_receive([](net::error_code) {});
        }

    private:
        async_semaphore* sem_ = nullptr;
    };

    async_semaphore(net::asio::any_io_executor ex, std::size_t permits) : channel_(ex, permits) {}

    // Completes with a permit, or with an error (and an empty permit) after cancel().
    net::awaitable<std::tuple<net::error_code, permit>> acquire() {
        auto [ec] = co_await channel_.async_send(net::error_code{}, net::use_nothrow);
        co_return std::make_tuple(ec, ec ? permit{} : permit(this));
    }

    // A permit if one is free, else nullopt. Never waits.
    std::optional<permit> try_acquire() {
        if (!channel_.try_send(net::error_code{})) return std::nullopt;
        return permit(this);
    }
    void cancel() { channel_.cancel(); }

private:
    net::asio::experimental::channel<void(net::error_code)> channel_;
};

} // namespace hoist::engine::detail
