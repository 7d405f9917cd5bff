// The progress of `hoist cp` on stderr: a redrawn bar on a terminal, a plain
// line every few seconds otherwise (logs, CI), nothing when quiet.
#pragma once

#include "hoist/engine/upload.hpp"

#include <chrono>
#include <string>

namespace hoist::cli {

class progress_display {
public:
    enum class mode { automatic, off };
    explicit progress_display(mode m);

    void update(const engine::progress& p);
    void finish();                                  // after a failure: end the bar's line
    void finish(const engine::upload_result& r);    // after success: a summary line

    // Pure formatting, public for the tests.
    static std::string format_line(const engine::progress& p, bool bar, int width);

private:
    bool enabled_ = false;
    bool tty_ = false;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
};

} // namespace hoist::cli
