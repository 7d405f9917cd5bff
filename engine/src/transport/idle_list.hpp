// The idle side of the connection pool, as pure bookkeeping: which kept-alive
// connection to reuse, and which have idled too long. No sockets, no clock of
// its own (times are passed in), so the expiry rules are tested on a fake clock.
//
// Protocol: put() a connection back with the time it went idle; take(now)
// returns the most recently used one that is younger than the idle timeout
// (LIFO: the freshest is the least likely to have been closed by the server),
// and hands every expired one to `discard` on the way.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <utility>

namespace hoist::engine::detail {

template <class T, class Clock = std::chrono::steady_clock>
class idle_list {
public:
    using time_point = typename Clock::time_point;

    idle_list(typename Clock::duration idle_timeout, std::size_t max_idle)
        : timeout_(idle_timeout), max_idle_(max_idle) {}

    // Returns the item back when the list is full (the caller closes it).
    std::optional<T> put(T item, time_point now) {
        if (entries_.size() >= max_idle_) return std::optional<T>(std::move(item));
        entries_.push_back({std::move(item), now});
        return std::nullopt;
    }

    template <class Discard>
    std::optional<T> take(time_point now, Discard&& discard) {
        expire(now, discard);
        if (entries_.empty()) return std::nullopt;
        T item = std::move(entries_.back().item);
        entries_.pop_back();
        return item;
    }

    // Hands every entry idle for `timeout` or longer to `discard`.
    template <class Discard>
    void expire(time_point now, Discard&& discard) {
        while (!entries_.empty() && now - entries_.front().since >= timeout_) {
            discard(std::move(entries_.front().item));
            entries_.pop_front();
        }
    }

    template <class Discard>
    void clear(Discard&& discard) {
        for (auto& e : entries_) discard(std::move(e.item));
        entries_.clear();
    }

    std::size_t size() const noexcept { return entries_.size(); }
    std::optional<time_point> oldest() const {
        if (entries_.empty()) return std::nullopt;
        return entries_.front().since;
    }
    // Hands the entry idle longest to `discard`; false when there is none.
    template <class Discard>
    bool drop_oldest(Discard&& discard) {
        if (entries_.empty()) return false;
        discard(std::move(entries_.front().item));
        entries_.pop_front();
        return true;
    }

private:
    struct entry {
        T item;
        time_point since;
    };
    std::deque<entry> entries_;  // oldest first: put() appends, idle times only grow toward the front
    typename Clock::duration timeout_;
    std::size_t max_idle_;
};

} // namespace hoist::engine::detail
