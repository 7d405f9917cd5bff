// hoist serve's request-head handling (engine/serve/src/request_head.hpp), on
// bytes in memory: the Beast parser with the service's limits, the refusals
// and the route table, exactly as the service applies them to a connection.
//
// Input: byte 0 picks the header limit (64 B to 16 KiB, so the limit is hit
// often), byte 1 where the bytes are split into two socket reads, the rest is
// what a client sent. Beyond "no crash, no leak, no UB, no exception" it
// checks what the service relies on: a refusal carries a 4xx/5xx status, a
// reason, a code and a message; a routed head has a route name, an Allow
// value exactly when it is a 405, and a size within the input and the limit; a head that is
// routed when it arrives whole is routed the same way in two pieces, and its
// first head_size bytes alone give the same decision; an incomplete head is
// within twice the limit (what Beast buffers at most before refusing: line
// and fields each, in one read); the decision is deterministic.
#include "fuzz_check.hpp"

#include "request_head.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using hoist::engine::detail::decide_head;
using hoist::engine::detail::head_decision;
using hoist::engine::detail::route_kind;
using outcome = head_decision::outcome;

bool same(const head_decision& a, const head_decision& b) {
    return a.what == b.what && a.refusal.status == b.refusal.status && a.refusal.reason == b.refusal.reason &&
           a.route.kind == b.route.kind && a.route.name == b.route.name && a.head_size == b.head_size;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t limit = std::size_t{64} << (data[0] % 9);   // 64 B .. 16 KiB
    const std::string_view bytes = hoist::fuzz::as_text(data + 2, size - 2);
    const std::size_t split = bytes.empty() ? 0 : data[1] % (bytes.size() + 1);

    const head_decision whole = decide_head(bytes, limit);
    HOIST_FUZZ_CHECK(same(whole, decide_head(bytes, limit)));
    switch (whole.what) {
    case outcome::refused:
        HOIST_FUZZ_CHECK(whole.refusal.status >= 400 && whole.refusal.status < 600);
        HOIST_FUZZ_CHECK(!whole.refusal.reason.empty() && !whole.refusal.code.empty() &&
                         !whole.refusal.message.empty());
        break;
    case outcome::routed: {
        HOIST_FUZZ_CHECK(!whole.route.name.empty());
        HOIST_FUZZ_CHECK((whole.route.kind == route_kind::method_not_allowed) == !whole.route.allow.empty());
        HOIST_FUZZ_CHECK(whole.head_size > 0 && whole.head_size <= bytes.size());
        // The first input found: a 67-byte head routed under a 64-byte limit
        // in one read but not in two (Beast bounds line and fields each in
        // one read, the whole head over several); check_head now bounds it.
        HOIST_FUZZ_CHECK(whole.head_size <= limit);
        const head_decision parts = decide_head(bytes, limit, split);
        HOIST_FUZZ_CHECK(parts.what == outcome::routed && parts.route.kind == whole.route.kind &&
                         parts.head_size == whole.head_size);
        const head_decision head_only = decide_head(bytes.substr(0, whole.head_size), limit);
        HOIST_FUZZ_CHECK(same(head_only, whole));
        break;
    }
    case outcome::incomplete:
        // The service would read on: only while within twice the header
        // limit (a slowloris cannot make it buffer more), never routed in pieces.
        HOIST_FUZZ_CHECK(bytes.size() < 2 * limit);
        HOIST_FUZZ_CHECK(decide_head(bytes, limit, split).what != outcome::routed);
        break;
    }
    return 0;
}
