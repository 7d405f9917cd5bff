// Many files in one command (`cp --recursive`, several sources, --files-from,
// `sync`): which files (filters, shard), and one run on one client with the
// whole job's progress, a JSON line per file, a summary and the exit code.
#pragma once

#include "cli_transfer.hpp"

#include "hoist/engine/batch.hpp"
#include "hoist/engine/bulk.hpp"

#include <chrono>
#include <deque>
#include <memory>

namespace hoist::cli {

struct bulk_options {
    std::vector<std::string> include, exclude;
    std::optional<std::string> shard;
    bool fail_fast = false;
    unsigned transfers = 32;

    void add_to(CLI::App& app);
    // The rules in the order they were given on the command line (aws-cli:
    // the last matching rule decides), whichever option each came from.
    engine::bulk::path_filter filter(const CLI::App& app) const;
    engine::bulk::shard shard_spec() const;   // throws usage_error
};

class bulk_run {
public:
    // Starts a client for the job. `watcher` is put in its engine stage: a
    // signal cancels the batch (its multipart uploads are aborted).
    bulk_run(const transfer_options& transfer, const bulk_options& bulk, signal_watcher& watcher,
             engine::cancel_token& cancel);
    ~bulk_run();

    // Uploads one file (blocks while --transfers run). False once the job is
    // stopping (Ctrl-C, --fail-fast): the caller stops feeding.
    bool upload(const std::string& path, engine::upload_options options, std::uint64_t size);
    // A file counted as failed without an upload (unreadable directory, bad
    // --files-from line): reported like an upload's failure.
    void local_failure(const std::string& path, const std::string& key, const std::string& message);
    // A path skipped on purpose (a symlink to a directory): a notice, not a failure.
    void skipped(const std::string& path, const std::string& message);
    // A file `sync` found unchanged: counted, in --json as "skipped".
    void unchanged(const std::string& path, const std::string& key, std::uint64_t size);
    bool stopping() const;
    engine::client& client() { return *client_; }

    // Waits for the uploads, prints the summary; the exit code (128 + the
    // signal when one interrupted the job, read after the uploads ended).
    int finish(const signal_watcher& signals);

private:
    void on_outcome(const engine::file_outcome& o);
    void report_failure(const std::string& key, const std::string& message);
    void tick(bool final = false);

    const transfer_options& transfer_;
    std::unique_ptr<engine::client> client_;
    std::unique_ptr<engine::batch> batch_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::uint64_t local_failures_ = 0, skipped_ = 0, unchanged_ = 0, unchanged_bytes_ = 0, retries_ = 0;
    std::uint64_t errors_shown_ = 0, cancelled_ = 0;
    std::uint64_t unverified_ = 0;        // uploaded, but the store confirmed no checksum (upload_result::integrity_note)
    std::string first_integrity_note_;
    // Progress: samples of bytes acked over the last seconds, for the rate.
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> samples_;
    std::chrono::steady_clock::time_point last_line_{};
    bool tty_ = false, drawn_ = false;
};

} // namespace hoist::cli
