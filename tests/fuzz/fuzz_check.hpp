// What every fuzz target shares: an invariant check that stops the run with a
// message (libFuzzer then saves the input as a crash artifact), and helpers to
// cut the input into pieces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

// Not assert(): it must hold in every build type, and the message says which
// invariant broke so the artifact can be read without a debugger.
#define HOIST_FUZZ_CHECK(cond)                                                                   \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            std::fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                        \
        }                                                                                        \
    } while (0)

namespace hoist::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// The next piece of `rest` up to `sep` (or all of it), removed from `rest`.
// Seeds use a separator no real input of that target contains.
inline std::string_view next_piece(std::string_view& rest, std::string_view sep) {
    const auto at = rest.find(sep);
    const std::string_view piece = rest.substr(0, at);
    rest = at == std::string_view::npos ? std::string_view{} : rest.substr(at + sep.size());
    return piece;
}

} // namespace hoist::fuzz
