// What the presign sources say about a JSON value in their error messages
// (private to protocol/src/presign).
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace hoist::protocol::presign_json {

// "a string", "a number", ...: for "must be X, not <kind>".
inline std::string_view kind_name(const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: return "a number";
    case boost::json::kind::string: return "a string";
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
    }
    return "a value";
}

// A non-negative JSON integer, or nullopt (negative, fractional, not a number).
inline std::optional<std::uint64_t> as_uint(const boost::json::value& v) {
    if (v.is_uint64()) return v.get_uint64();
    if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
    return std::nullopt;
}

// Absent and null are the same: nullptr.
inline const boost::json::value* present(const boost::json::object& o, std::string_view name) {
    const boost::json::value* v = o.if_contains(name);
    return v && !v->is_null() ? v : nullptr;
}

} // namespace hoist::protocol::presign_json
