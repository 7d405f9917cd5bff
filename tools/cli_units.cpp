#include "cli_units.hpp"

#include <cctype>
#include <cstdio>
#include <cmath>
#include <string_view>

namespace hoist::cli {

std::uint64_t parse_rate(const std::string& text, const std::string& option) {
    auto fail = [&](const std::string& why) {
        return usage_error(option + " '" + text + "': " + why +
                           " (examples: 50MB/s, 50MiB/s, 400Mbit/s, 1Gbit/s, 20M, 1000000)");
    };
    // The number: digits with at most one decimal point (no sign, exponent, hex, inf or nan).
    std::size_t pos = 0;
    bool digits = false, point = false;
    for (; pos < text.size(); ++pos) {
        char c = text[pos];
        if (std::isdigit(static_cast<unsigned char>(c))) digits = true;
        else if (c == '.' && !point) point = true;
        else break;
    }
    if (!digits) throw fail("not a rate");
    double number = std::stod(text.substr(0, pos));
    std::string_view unit(text);
    unit.remove_prefix(pos);
    if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "/s") unit.remove_suffix(2);

    struct unit_factor {
        std::string_view name;
        double bytes;   // bytes per second for one of this unit
    };
    static constexpr unit_factor units[] = {
        {"", 1},           {"B", 1},          {"K", 1e3},          {"KB", 1e3},          {"kB", 1e3},
        {"M", 1e6},        {"MB", 1e6},       {"G", 1e9},          {"GB", 1e9},          {"T", 1e12},
        {"TB", 1e12},      {"KiB", 1024.0},   {"MiB", 1048576.0},  {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
        {"bit", 1.0 / 8},  {"Kbit", 1e3 / 8}, {"kbit", 1e3 / 8},   {"Mbit", 1e6 / 8},    {"Gbit", 1e9 / 8},
        {"Tbit", 1e12 / 8}, {"bps", 1.0 / 8}, {"kbps", 1e3 / 8},   {"Kbps", 1e3 / 8},    {"Mbps", 1e6 / 8},
        {"Gbps", 1e9 / 8}, {"Tbps", 1e12 / 8}};
    for (const auto& u : units)
        if (unit == u.name) {
            double rate = number * u.bytes;
            if (!std::isfinite(rate) || rate > 1e15) throw fail("more than 1PB/s");
            if (rate < 10e3) throw fail("below the smallest cap, 10KB/s (omit the option for no cap)");
            return static_cast<std::uint64_t>(std::llround(rate));
        }
    if (unit == "b" || unit == "Kb" || unit == "kb" || unit == "Mb" || unit == "Gb" || unit == "Tb")
        throw fail("bits or bytes? write " + std::string(unit.substr(0, unit.size() - 1)) + "bit/s or " +
                   std::string(unit.substr(0, unit.size() - 1)) + "B/s");
    throw fail("unknown unit '" + std::string(unit) + "'");
}

std::string format_bytes(double bytes) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000 && u < 4) {
        bytes /= 1000;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return buf;
}

} // namespace hoist::cli
