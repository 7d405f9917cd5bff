// The machinery behind wire.cpp's message descriptions (private to
// protocol/src/presign). Each message is described once, as calls on a
// visitor, in an overload of describe() in this namespace (found by
// argument-dependent lookup on the visitor):
//
//   void describe(auto& v, one_of<presigned_part> auto& m) {
//       v.number({.name = "partNumber", .lo = 1, .hi = max_parts}, m.part_number);
//       v.text({.name = "url", .chars = charset::visible_ascii}, m.url);
//   }
//
// `writer` renders a message (m const) into a JSON object; `reader` fills one
// (m mutable) from a JSON object and checks every field against its rule, so
// the service's request parsing and the client's answer parsing apply the
// same rules to the same names. Only the wording of a failure differs: the
// service throws api_error ("parts[0].ETag must be a string, not a number"),
// the client throws wire_error ("complete answer: etag: expected a string").
#pragma once

#include "hoist/protocol/presign/wire.hpp"

#include "json_values.hpp"
#include "text.hpp"

#include <boost/json.hpp>

#include <concepts>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace hoist::protocol::wire_fields {

namespace json = boost::json;

// Whether M is one of Ts, const or not: describe() overloads take both.
template <class M, class... Ts>
concept one_of = (std::same_as<std::remove_const_t<M>, Ts> || ...);

// ---- fields --------------------------------------------------------------------

enum class charset {
    any,
    no_control,       // nothing below 0x20, no 0x7F (UTF-8 allowed)
    visible_ascii,    // 0x21..0x7E
    printable_ascii,  // 0x20..0x7E
};

// A string field: its name and what it may hold.
struct text_field {
    std::string_view name;
    bool non_empty = true;
    std::size_t max_bytes = std::numeric_limits<std::size_t>::max();
    charset chars = charset::any;
    bool optional = false;     // absent (or null) reads as, and empty writes as, no field
};

// A whole-number field (JSON integer) and its range.
struct number_field {
    std::string_view name;
    std::uint64_t lo = 0;
    std::uint64_t hi = std::numeric_limits<std::uint64_t>::max();
};

// ---- failures ------------------------------------------------------------------

// What is wrong with one field; each side words it its own way.
struct problem {
    enum class kind { missing, wrong_type, rule } what = kind::missing;
    std::string expected;   // wrong_type: "a string", "a whole number from 1 to 10000"
    std::string_view got;   // wrong_type: what was there ("a number"); empty when only the value was off
    std::string rule;       // rule: "must not be empty"
};

// Reports a problem by throwing; `code` is the api_code the service answers
// (the client ignores it).
class failure {
public:
    [[noreturn]] virtual void fail(std::string_view code, const std::string& path, const problem& p) const = 0;

protected:
    ~failure() = default;
};

// ---- reading ---------------------------------------------------------------------

class reader {
public:
    // `path`: where this object sits ("" at the top, "parts[3]" inside a list);
    // `code`: the api_code of problems inside it.
    reader(const json::object& o, std::string path, std::string_view code, const failure& f)
        : o_(o), path_(std::move(path)), code_(code), failure_(f) {}

    void text(const text_field& f, std::string& out) const {
        const json::value* v = presign_json::present(o_, f.name);
        out.clear();
        if (!v && f.optional) return;
        const std::string at = path_of(f.name);
        if (!v) fail(at, {problem::kind::missing, {}, {}, {}});
        if (!v->is_string()) fail(at, {problem::kind::wrong_type, "a string", presign_json::kind_name(*v), {}});
        out = std::string(v->get_string());
        if (auto broken = broken_rule(out, f)) fail(at, {problem::kind::rule, {}, {}, *broken});
    }

    template <class N>
    void number(const number_field& f, N& out) const {
        const std::string at = path_of(f.name);
        out = static_cast<N>(whole_number(required(f.name, at), at, f));
    }

    // Absent or null: nullopt.
    template <class N>
    void number(const number_field& f, std::optional<N>& out) const {
        out.reset();
        if (const json::value* v = presign_json::present(o_, f.name))
            out = static_cast<N>(whole_number(*v, path_of(f.name), f));
    }

    // A list of whole numbers, each in f's range.
    template <class N>
    void numbers(const number_field& f, std::vector<N>& out) const {
        const std::string at = path_of(f.name);
        const json::array& a = array(required(f.name, at), at, code_);
        out.clear();
        out.reserve(a.size());
        for (std::size_t i = 0; i < a.size(); ++i)
            out.push_back(static_cast<N>(whole_number(a[i], at + "[" + std::to_string(i) + "]", f)));
    }

    // A list of strings, each checked against f's rule (f.name names the list).
    void texts(const text_field& f, std::vector<std::string>& out) const {
        const std::string at = path_of(f.name);
        const json::array& a = array(required(f.name, at), at, code_);
        out.clear();
        out.reserve(a.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            const std::string item_at = at + "[" + std::to_string(i) + "]";
            if (!a[i].is_string())
                fail(item_at, {problem::kind::wrong_type, "a string", presign_json::kind_name(a[i]), {}});
            out.emplace_back(a[i].get_string());
            if (auto broken = broken_rule(out.back(), f)) fail(item_at, {problem::kind::rule, {}, {}, *broken});
        }
    }

    // A list of objects, each described by describe(v, E&). `code`, if given,
    // is the api_code of every problem inside the list (its absence keeps
    // this object's code).
    template <class E>
    void list(std::string_view name, std::vector<E>& out, std::string_view code = {}) const {
        const std::string at = path_of(name);
        const std::string_view inner = code.empty() ? code_ : code;
        const json::array& a = array(required(name, at), at, inner);
        out.clear();
        out.reserve(a.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            const std::string item_at = at + "[" + std::to_string(i) + "]";
            out.push_back(read_object<E>(a[i], item_at, inner));
        }
    }

    // One object, described by describe(v, E&).
    template <class E>
    void object(std::string_view name, E& out) const {
        const std::string at = path_of(name);
        out = read_object<E>(required(name, at), at, code_);
    }

    // An ISO 8601 time (expiresAt) as unix seconds.
    void time(std::string_view name, std::int64_t& out) const {
        const std::string at = path_of(name);
        const json::value& v = required(name, at);
        std::optional<std::int64_t> t;
        if (v.is_string()) t = parse_expires_at(v.get_string());
        if (!t)
            fail(at, {problem::kind::wrong_type, "an ISO 8601 UTC time like 2024-05-01T12:00:00.000Z",
                      v.is_string() ? std::string_view{} : presign_json::kind_name(v), {}});
        out = *t;
    }

    // A field that always holds `value` ("success": true).
    void constant(std::string_view name, bool value) const {
        const std::string at = path_of(name);
        const json::value& v = required(name, at);
        if (!v.is_bool() || v.get_bool() != value)
            fail(at, {problem::kind::wrong_type, value ? "true" : "false",
                      v.is_bool() ? std::string_view{} : presign_json::kind_name(v), {}});
    }

    // Reads the top-level object `o` as a T.
    template <class T>
    static T read(const json::object& o, std::string_view code, const failure& f) {
        T out{};
        reader r(o, "", code, f);
        describe(r, out);
        return out;
    }

private:
    [[noreturn]] void fail(const std::string& at, const problem& p) const { fail_as(code_, at, p); }

    [[noreturn]] void fail_as(std::string_view code, const std::string& at, const problem& p) const {
        failure_.fail(code, at, p);
        std::terminate();  // not reached: fail throws (g++ does not trust [[noreturn]] on a virtual call)
    }

    std::string path_of(std::string_view name) const {
        return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
    }

    const json::value& required(std::string_view name, const std::string& at) const {
        const json::value* v = presign_json::present(o_, name);
        if (!v) fail(at, {problem::kind::missing, {}, {}, {}});
        return *v;
    }

    const json::array& array(const json::value& v, const std::string& at, std::string_view code) const {
        if (!v.is_array())
            fail_as(code, at, {problem::kind::wrong_type, "an array", presign_json::kind_name(v), {}});
        return v.get_array();
    }

    std::uint64_t whole_number(const json::value& v, const std::string& at, const number_field& f) const {
        auto n = presign_json::as_uint(v);
        if (!n || *n < f.lo || *n > f.hi)
            fail(at, {problem::kind::wrong_type,
                      "a whole number from " + std::to_string(f.lo) + " to " + std::to_string(f.hi),
                      v.is_number() ? std::string_view{} : presign_json::kind_name(v), {}});
        return *n;
    }

    template <class E>
    E read_object(const json::value& v, const std::string& at, std::string_view code) const {
        if (!v.is_object())
            fail_as(code, at, {problem::kind::wrong_type, "an object", presign_json::kind_name(v), {}});
        E out{};
        reader sub(v.get_object(), at, code, failure_);
        describe(sub, out);
        return out;
    }

    static std::optional<std::string> broken_rule(std::string_view s, const text_field& f) {
        if (f.non_empty && s.empty()) return "must not be empty";
        if (s.size() > f.max_bytes) return "must be at most " + std::to_string(f.max_bytes) + " bytes";
        switch (f.chars) {
        case charset::any: break;
        case charset::no_control:
            if (presign_text::has_control_char(s)) return "contains a control character";
            break;
        case charset::visible_ascii:
            if (!presign_text::is_visible_ascii(s)) return "must be visible ASCII";
            break;
        case charset::printable_ascii:
            if (!presign_text::is_printable_ascii(s)) return "must be printable ASCII";
            break;
        }
        return std::nullopt;
    }

    const json::object& o_;
    std::string path_;
    std::string_view code_;
    const failure& failure_;
};

// ---- writing ---------------------------------------------------------------------

class writer {
public:
    explicit writer(json::object& o) : o_(o) {}

    void text(const text_field& f, const std::string& v) const {
        if (f.optional && v.empty()) return;
        o_[f.name] = v;
    }

    template <class N>
    void number(const number_field& f, const N& v) const {
        o_[f.name] = v;
    }

    template <class N>
    void number(const number_field& f, const std::optional<N>& v) const {
        if (v) o_[f.name] = *v;
    }

    template <class N>
    void numbers(const number_field& f, const std::vector<N>& v) const {
        json::array a;
        a.reserve(v.size());
        for (const N& n : v) a.emplace_back(n);
        o_[f.name] = std::move(a);
    }

    void texts(const text_field& f, const std::vector<std::string>& v) const {
        json::array a;
        a.reserve(v.size());
        for (const auto& s : v) a.emplace_back(s);
        o_[f.name] = std::move(a);
    }

    template <class E>
    void list(std::string_view name, const std::vector<E>& v, std::string_view = {}) const {
        json::array a;
        a.reserve(v.size());
        for (const E& e : v) a.emplace_back(render(e));
        o_[name] = std::move(a);
    }

    template <class E>
    void object(std::string_view name, const E& v) const {
        o_[name] = render(v);
    }

    void time(std::string_view name, const std::int64_t& v) const { o_[name] = format_expires_at(v); }

    void constant(std::string_view name, bool value) const { o_[name] = value; }

    // m as a JSON object.
    template <class T>
    static json::object render(const T& m) {
        json::object o;
        writer w(o);
        describe(w, m);
        return o;
    }

private:
    json::object& o_;
};

} // namespace hoist::protocol::wire_fields
