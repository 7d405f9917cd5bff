#include "cli_bulk.hpp"
#include "json_text.hpp"
#include "cli_units.hpp"
#include "progress_display.hpp"

#include <boost/json.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

namespace hoist::cli {

// ---- bulk_options ---------------------------------------------------------------

void bulk_options::add_to(CLI::App& app) {
    app.add_option("--include", include,
                   "include files matching this glob (relative to the source directory; * and ? match '/'); "
                   "with --exclude, the last matching rule decides, as in aws-cli")
        ->take_all()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--exclude", exclude, "exclude files matching this glob (see --include)")
        ->take_all()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--shard", shard,
                   "K/N: upload only share K (0..N-1) of the keys, by a stable hash: N processes anywhere split "
                   "one tree without coordination");
    app.add_flag("--fail-fast", fail_fast, "stop at the first failed file (default: go on, exit 1 at the end)");
    app.add_option("--transfers", transfers, "files uploaded at once")->capture_default_str()->check(CLI::Range(1, 4096));
}

engine::bulk::path_filter bulk_options::filter(const CLI::App& app) const {
    // CLI11 keeps each option's values apart; parse_order() says how they interleaved.
    std::vector<engine::bulk::filter_rule> rules;
    std::size_t next_include = 0, next_exclude = 0;
    for (const CLI::Option* o : app.parse_order()) {
        if (o->get_name() == "--include" && next_include < include.size())
            rules.push_back({engine::bulk::filter_rule::kind::include, include[next_include++]});
        else if (o->get_name() == "--exclude" && next_exclude < exclude.size())
            rules.push_back({engine::bulk::filter_rule::kind::exclude, exclude[next_exclude++]});
    }
    return engine::bulk::path_filter(std::move(rules));
}

engine::bulk::shard bulk_options::shard_spec() const {
    if (!shard) return {};
    try {
        return engine::bulk::parse_shard(*shard);
    } catch (const std::invalid_argument& e) {
        throw usage_error(e.what());
    }
}

// ---- bulk_run ---------------------------------------------------------------------

namespace {

constexpr std::uint64_t max_errors_shown = 10;

engine::client_options client_options_for(const transfer_options& t, const bulk_options& b) {
    engine::client_options c;
    // Enough connections for every file in flight to have one, and for a
    // large file's parts; never fewer than the client's default.
    c.max_connections = std::max<std::size_t>(c.max_connections, std::size_t(b.transfers) + t.concurrency + 4);
    // --max-bandwidth: one cap for every file and connection of the command.
    c.max_bytes_per_second = t.bytes_per_second();
    return c;
}

} // namespace

bulk_run::bulk_run(const transfer_options& transfer, const bulk_options& bulk, signal_watcher& watcher,
                   engine::cancel_token& cancel)
    : transfer_(transfer), client_(std::make_unique<engine::client>(client_options_for(transfer, bulk))) {
    tty_ = ::isatty(STDERR_FILENO) == 1;
    engine::batch_options b;
    b.files_in_flight = bulk.transfers;
    b.fail_fast = bulk.fail_fast;
    b.cancel = cancel;
    b.tick = std::chrono::milliseconds(tty_ ? 200 : 1000);
    batch_ = std::make_unique<engine::batch>(
        *client_, b, [this](const engine::file_outcome& o) { on_outcome(o); }, [this] { tick(); });
    // The engine may hold multipart uploads from the first file on.
    watcher.set_stage(signal_watcher::stage::engine);
}

bulk_run::~bulk_run() = default;

bool bulk_run::upload(const std::string& path, engine::upload_options options, std::uint64_t size) {
    return batch_->submit(engine::upload_source::file(path), std::move(options), size);
}

bool bulk_run::stopping() const { return batch_->stopping(); }

void bulk_run::report_failure(const std::string& key, const std::string& message) {
    if (errors_shown_ < max_errors_shown) {
        if (drawn_ && tty_) std::cerr << "\r\033[K";
        std::cerr << "hoist: error: " << key << ": " << message << '\n';
        drawn_ = false;
    }
    ++errors_shown_;
}

void bulk_run::local_failure(const std::string& path, const std::string& key, const std::string& message) {
    ++local_failures_;
    report_failure(key.empty() ? path : key, message);
    if (transfer_.json) {
        boost::json::object o{{"key", key}, {"path", path}, {"bytes", 0}, {"error", message}, {"code", "source error"}};
        std::cout << to_json_text(o) << '\n';
    }
}

void bulk_run::skipped(const std::string& path, const std::string& message) {
    ++skipped_;
    if (!transfer_.quiet) {
        if (drawn_ && tty_) std::cerr << "\r\033[K";
        std::cerr << "hoist: notice: " << message << '\n';
        drawn_ = false;
    }
    if (transfer_.json) {
        boost::json::object o{{"path", path}, {"skipped", message}};
        std::cout << to_json_text(o) << '\n';
    }
}

void bulk_run::unchanged(const std::string& path, const std::string& key, std::uint64_t size) {
    ++unchanged_;
    unchanged_bytes_ += size;
    if (transfer_.json) {
        boost::json::object o{{"key", key}, {"path", path}, {"bytes", size}, {"method", "unchanged"}};
        std::cout << to_json_text(o) << '\n';
    }
}

void bulk_run::on_outcome(const engine::file_outcome& o) {
    if (o.ok) {
        retries_ += o.result.retries;
        if (!o.result.integrity_note.empty() && unverified_++ == 0) first_integrity_note_ = o.key + ": " + o.result.integrity_note;
    } else if (o.code == engine::upload_errc::cancelled && batch_->stopping()) ++cancelled_;
    else
        // The engine's message already says "(multipart upload aborted)"
        // when it aborted, so only the id is added then; an upload left
        // open is named by the engine's message too ("upload id X is left on
        // the server", "kept multipart upload X for reuse").
        report_failure(o.key, o.error + (o.upload_id.empty() ? ""
                                         : o.aborted ? " (upload id " + o.upload_id + ")"
                                         : o.error.find(o.upload_id) == std::string::npos
                                             ? " (upload " + o.upload_id + " left on the server)"
                                             : ""));
    if (!transfer_.json) return;
    boost::json::object j{{"key", o.key}, {"path", o.path}, {"seconds", o.seconds}};
    if (o.ok) {
        j["bytes"] = o.result.bytes;
        j["etag"] = o.result.etag;
        j["method"] = o.result.method;
        j["checksum"] = o.result.checksum;
        j["parts"] = o.result.parts;
        j["retries"] = o.result.retries;
        if (!o.result.upload_id.empty()) j["upload_id"] = o.result.upload_id;
        if (!o.result.integrity_note.empty()) j["integrity_note"] = o.result.integrity_note;
        if (o.result.parts_resumed > 0) {
            j["bytes_resumed"] = o.result.bytes_resumed;
            j["parts_resumed"] = o.result.parts_resumed;
        }
    } else {
        j["bytes"] = 0;
        j["error"] = o.error;
        j["code"] = std::string(engine::to_string(o.code));
        if (!o.upload_id.empty()) {
            j["upload_id"] = o.upload_id;
            j["aborted"] = o.aborted;
        }
    }
    std::cout << to_json_text(j) << '\n';
}

void bulk_run::tick(bool final) {
    auto now = std::chrono::steady_clock::now();
    auto stats = client_->stats();
    samples_.emplace_back(now, stats.bytes_acked);
    while (samples_.size() > 2 && now - samples_.front().first > std::chrono::seconds(3)) samples_.pop_front();
    if (transfer_.quiet) return;
    if (!final && !tty_ && now - last_line_ < std::chrono::seconds(2)) return;
    if (!final && !tty_ && now - started_ < std::chrono::seconds(2)) return;   // short jobs: the summary only
    last_line_ = now;
    double rate = 0;
    if (samples_.size() >= 2) {
        double dt = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
        if (dt > 0) rate = static_cast<double>(samples_.back().second - samples_.front().second) / dt;
    }
    auto t = batch_->totals();
    std::uint64_t failed = t.failed - cancelled_ + local_failures_;
    std::string line = "files " + std::to_string(t.succeeded) + "/" + std::to_string(t.submitted) +
                       (failed ? " (" + std::to_string(failed) + " failed)" : "") + "  " +
                       format_bytes(static_cast<double>(stats.bytes_acked)) + " / " +
                       format_bytes(static_cast<double>(t.bytes_submitted)) + "  " +
                       format_bytes(rate) + "/s";
    if (rate > 0 && t.bytes_submitted > stats.bytes_acked) {
        char eta[32];
        std::snprintf(eta, sizeof eta, "  ETA %.0fs",
                      std::ceil(static_cast<double>(t.bytes_submitted - stats.bytes_acked) / rate));
        line += eta;
    }
    if (unchanged_) line += "  unchanged " + std::to_string(unchanged_);
    if (tty_) {
        std::cerr << "\r\033[K" << line << std::flush;
        drawn_ = true;
    } else {
        std::cerr << "hoist: " << line << '\n';
    }
}

int bulk_run::finish(const signal_watcher& signals) {
    batch_->finish();
    const int signal_number = signals.signal_number();
    if (drawn_ && tty_) std::cerr << "\r\033[K" << std::flush;
    auto t = batch_->totals();
    auto stats = client_->stats();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    // Files cut by a Ctrl-C or --fail-fast are "cancelled", not failures of their own.
    std::uint64_t failed = t.failed - cancelled_ + local_failures_;
    if (transfer_.json) {
        boost::json::object s{{"summary", true},
                              {"files", t.submitted + local_failures_ + unchanged_},
                              {"uploaded", t.succeeded},
                              {"failed", failed},
                              {"unchanged", unchanged_},
                              {"skipped", skipped_},
                              {"cancelled", cancelled_},
                              {"bytes", t.bytes_succeeded},
                              {"seconds", seconds},
                              {"mb_per_s", seconds > 0 ? static_cast<double>(t.bytes_succeeded) / 1e6 / seconds : 0.0},
                              {"files_per_s", seconds > 0 ? static_cast<double>(t.succeeded) / seconds : 0.0},
                              {"retries", retries_},
                              {"unverified", unverified_},
                              {"connections_peak", stats.connections_peak}};
        std::cout << to_json_text(s) << '\n';
    }
    if (!transfer_.quiet || failed) {
        char line[256];
        std::snprintf(line, sizeof line, "hoist: uploaded %llu file%s, %s in %.2f s (%s/s, %.0f files/s)",
                      static_cast<unsigned long long>(t.succeeded), t.succeeded == 1 ? "" : "s",
                      format_bytes(static_cast<double>(t.bytes_succeeded)).c_str(), seconds,
                      format_bytes(seconds > 0 ? static_cast<double>(t.bytes_succeeded) / seconds : 0)
                          .c_str(),
                      seconds > 0 ? static_cast<double>(t.succeeded) / seconds : 0.0);
        std::cerr << line;
        if (unchanged_) std::cerr << ", " << unchanged_ << " unchanged";
        if (skipped_) std::cerr << ", " << skipped_ << " skipped";
        if (failed) std::cerr << ", " << failed << " FAILED";
        if (cancelled_) std::cerr << ", " << cancelled_ << " cancelled (their multipart uploads aborted, unless kept)";
        std::cerr << '\n';
        if (unverified_)
            std::cerr << "hoist: warning: " << unverified_ << " file" << (unverified_ == 1 ? "" : "s")
                      << " uploaded with no checksum the store confirmed; the first: " << first_integrity_note_ << '\n';
        if (errors_shown_ > max_errors_shown)
            std::cerr << "hoist: (" << errors_shown_ - max_errors_shown << " more errors not shown; --json lists all)\n";
    }
    if (signal_number > 0) return 128 + signal_number;
    return failed || cancelled_ ? exit_failed : exit_ok;
}

} // namespace hoist::cli
