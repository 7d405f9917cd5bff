#include "json_text.hpp"

#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstdio>

namespace hoist::cli {
namespace {

void append_double(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out += "null";
        return;
    }
    char buf[64];
    if (std::fabs(d) >= 1e15) {
        std::snprintf(buf, sizeof buf, "%.17g", d);
        out += buf;
        return;
    }
    int n = std::snprintf(buf, sizeof buf, "%.9f", d);
    while (n > 0 && buf[n - 1] == '0') --n;
    if (n > 0 && buf[n - 1] == '.') buf[n++] = '0';   // "2." is not JSON: keep "2.0"
    std::string_view text(buf, static_cast<std::size_t>(n));
    if (text == "-0.0") text = "0.0";                // a value rounded to zero has no sign worth printing
    out += text;
}

void append(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::double_: append_double(out, v.get_double()); break;
        case boost::json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& kv : v.get_object()) {
                if (!first) out += ',';
                first = false;
                out += boost::json::serialize(boost::json::string_view(kv.key()));
                out += ':';
                append(out, kv.value());
            }
            out += '}';
            break;
        }
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) out += ',';
                first = false;
                append(out, e);
            }
            out += ']';
            break;
        }
        default: out += boost::json::serialize(v); break;
    }
}

} // namespace

std::string to_json_text(const boost::json::value& v) {
    std::string out;
    append(out, v);
    return out;
}

} // namespace hoist::cli
