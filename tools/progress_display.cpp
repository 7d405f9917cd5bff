#include "progress_display.hpp"
#include "cli_units.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace hoist::cli {

progress_display::progress_display(mode m) {
    enabled_ = m != mode::off;
    tty_ = ::isatty(STDERR_FILENO) == 1;
}

std::string progress_display::format_line(const engine::progress& p, bool bar, int width) {
    std::string out;
    double sent = static_cast<double>(p.bytes_acked + p.bytes_in_flight);
    if (bar && p.bytes_total && *p.bytes_total > 0) {
        int cells = std::max(10, std::min(30, width - 70));
        double frac = std::min(1.0, sent / static_cast<double>(*p.bytes_total));
        int full = static_cast<int>(frac * cells);
        out += "[" + std::string(full, '=') + (full < cells ? ">" : "") +
               std::string(std::max(0, cells - full - 1), ' ') + "] ";
        char pct[16];
        std::snprintf(pct, sizeof pct, "%3.0f%% ", frac * 100);
        out += pct;
    }
    out += format_bytes(sent);
    if (p.bytes_total) out += " / " + format_bytes(static_cast<double>(*p.bytes_total));
    out += "  " + format_bytes(p.rate_bytes_per_s) + "/s";
    if (p.bytes_total && p.rate_bytes_per_s > 0) {
        double left = (static_cast<double>(*p.bytes_total) - sent) / p.rate_bytes_per_s;
        char eta[32];
        std::snprintf(eta, sizeof eta, "  ETA %.0fs", std::max(0.0, std::ceil(left)));
        out += eta;
    }
    out += "  parts " + std::to_string(p.parts_done) + "/" + (p.parts_total ? std::to_string(p.parts_total) : "?");
    out += "  retries " + std::to_string(p.retries);
    out += "  " + p.method;
    return out;
}

void progress_display::update(const engine::progress& p) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    auto interval = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(2000);
    if (drawn_ && now - last_ < interval) return;
    if (!drawn_ && !tty_ && p.elapsed < std::chrono::seconds(2)) return;  // short uploads: summary only
    last_ = now;
    if (tty_) {
        winsize ws{};
        int width = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 100;
        std::cerr << "\r\033[K" << format_line(p, true, width) << std::flush;
    } else {
        std::cerr << "hoist: " << format_line(p, false, 0) << '\n';
    }
    drawn_ = true;
}

void progress_display::finish() {
    if (enabled_ && tty_ && drawn_) std::cerr << '\n';
    drawn_ = false;
}

void progress_display::finish(const engine::upload_result& r) {
    finish();
    if (!enabled_) return;
    char line[256];
    std::snprintf(line, sizeof line, "hoist: uploaded %s in %.2f s (%s/s), %u part%s, %u retr%s, %s\n",
                  format_bytes(static_cast<double>(r.bytes)).c_str(), r.seconds,
                  format_bytes(r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds : 0).c_str(), r.parts,
                  r.parts == 1 ? "" : "s", r.retries, r.retries == 1 ? "y" : "ies", r.method.c_str());
    std::cerr << line;
}

} // namespace hoist::cli
