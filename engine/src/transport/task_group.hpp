// A group of child coroutines that the group owns, as in Beast's
// advanced/server-flex-awaitable example: each child gets its own cancellation
// signal, emit() reaches every running child's current operation, and join()
// completes once no child runs. It replaces raw-pointer registries of "things
// in flight": a child's bookkeeping is erased by its own completion.
//
// Contract: one thread (the group's executor). The group must outlive its
// children: join() before destroying it. A child's on_done(exception_ptr) runs
// on the executor after the child ended, before join() can complete. Children
// see only terminal cancellation by default (asio's coroutine default).
//
// Two ways in: spawn() starts a detached child the group owns; run() starts a
// child that the awaiting coroutine owns (it completes with the child's result)
// while the group can still cut it. What a cut child sees: its pending
// operation completes with operation_aborted, and since Asio coroutines throw
// on the next co_await once cancelled (this_coro::throw_if_cancelled, on by
// default), its next co_await throws system_error(operation_aborted): a child
// either handles errors as values and ends, or lets that exception end it.
#pragma once

#include "net.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <exception>
#include <list>
#include <tuple>
#include <utility>

namespace hoist::engine::detail {

class task_group {
public:
    explicit task_group(net::asio::any_io_executor ex)
        : ex_(std::move(ex)), idle_(ex_, net::asio::steady_timer::time_point::max()) {}
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    // Starts `task` as a child. `on_done` gets the exception that escaped it, if any.
    template <class OnDone>
    void spawn(net::awaitable<void> task, OnDone on_done) {
        auto signal = signals_.emplace(signals_.end());
        auto done = [this, signal, on_done = std::move(on_done)](std::exception_ptr e) mutable {
            signals_.erase(signal);
            on_done(e);
            if (signals_.empty()) idle_.cancel();
        };
        net::asio::co_spawn(ex_, std::move(task), net::asio::bind_cancellation_slot(signal->slot(), std::move(done)));
    }

    // Runs `task` as a child of the group and completes with what escaped it
    // and what it returned, once it ended. emit() reaches it, the awaiting
    // coroutine's own cancellation slot does not (the child's slot is the
    // group's). The child's signal leaves the group as this coroutine ends,
    // within the awaiting coroutine's co_await, so that one may destroy the
    // group right after.
    template <class T>
    net::awaitable<std::tuple<std::exception_ptr, T>> run(net::awaitable<T> task) {
        auto signal = signals_.emplace(signals_.end());
        struct leave {
            task_group* group;
            std::list<net::asio::cancellation_signal>::iterator signal;
            ~leave() {
                group->signals_.erase(signal);
                if (group->signals_.empty()) group->idle_.cancel();
            }
        } guard{this, signal};
        co_return co_await net::asio::co_spawn(ex_, std::move(task),
                                               net::asio::bind_cancellation_slot(signal->slot(), net::use_nothrow));
    }

    // Delivers `type` to every running child's current operation.
    void emit(net::asio::cancellation_type type) {
        for (auto& s : signals_) s.emit(type);
    }

    // Completes once no child runs (at once if none does). Not cancellable:
    // the children it waits for are what a stop cuts.
    net::awaitable<void> join() {
        while (!signals_.empty()) {
            idle_.expires_at(net::asio::steady_timer::time_point::max());
            auto [ec] = co_await idle_.async_wait(net::use_nothrow);
            (void)ec;   // cancelled is the wake-up: look again
        }
    }

    std::size_t size() const noexcept { return signals_.size(); }

private:
    net::asio::any_io_executor ex_;
    std::list<net::asio::cancellation_signal> signals_;
    net::asio::steady_timer idle_;
};

} // namespace hoist::engine::detail
