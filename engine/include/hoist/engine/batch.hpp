// Many uploads through one client, fed by the caller one file at a time: at
// most `files_in_flight` run at once (the caller's feed -- a directory walk, a
// list of paths -- is paused meanwhile, so nothing about the files waiting is
// held in memory), every outcome is handed back on the caller's thread, and one
// failed file does not stop the others unless fail_fast.
//
//   hoist::engine::client client;
//   hoist::engine::batch batch(client, {.files_in_flight = 32}, [](const file_outcome& o) { ... });
//   for (...) if (!batch.submit(upload_source::file(path), options_for(path))) break;
//   batch.finish();
//
// Files of every size share the client's connections and budgets (client.hpp):
// a large file's parts and many small files take turns for connections.
#pragma once

#include "hoist/engine/client.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>

namespace hoist::engine {

struct batch_options {
    // Uploads at once. Small files are latency-bound (a PutObject each), so
    // many in flight keep the connections busy; each large file still sends at
    // most its own upload_options::concurrency parts at once, and the client's
    // max_connections caps the requests of all of them together.
    unsigned files_in_flight = 32;
    bool fail_fast = false;      // the first failed file cancels the rest
    // How often `on_tick` is called while the caller waits in submit/finish.
    std::chrono::milliseconds tick{250};
    // Cancelling it (from any thread: a signal watcher) is cancel().
    std::optional<cancel_token> cancel;
};

// One file's end.
struct file_outcome {
    std::string path;           // as submitted (a file source's path)
    std::string key;            // the destination key (upload_options::location.key, or the service's)
    std::uint64_t size = 0;     // as the caller said when submitting
    bool ok = false;
    upload_result result;       // when ok
    upload_errc code = upload_errc::rejected;   // when !ok
    std::string error;          // when !ok: one line
    std::string upload_id;      // when !ok: a multipart upload left behind or aborted
    bool aborted = false;
    double seconds = 0;         // from submit to end
};

class batch {
public:
    using outcome_handler = std::function<void(const file_outcome&)>;

    // `on_outcome` and `on_tick` are called on the thread that calls submit()
    // and finish(), never concurrently. The client must outlive the batch.
    batch(client& c, batch_options options, outcome_handler on_outcome, std::function<void()> on_tick = {});
    // Cancels what still runs and waits for it (their multipart uploads are aborted).
    ~batch();
    batch(const batch&) = delete;
    batch& operator=(const batch&) = delete;

    // Starts one upload; first waits while files_in_flight run. Returns false,
    // starting nothing, once the batch is stopping (cancel(), or a failure with
    // fail_fast): the caller then stops feeding and calls finish().
    bool submit(upload_source source, upload_options options, std::uint64_t size);
    // Waits for every upload started. Outcomes are delivered as they come.
    void finish();
    // Any thread (a signal watcher's): cancels every running upload and makes
    // submit() refuse more.
    void cancel();
    bool stopping() const;

    struct counts {
        std::uint64_t submitted = 0, succeeded = 0, failed = 0, bytes_submitted = 0, bytes_succeeded = 0;
    };
    counts totals() const { return totals_; }   // caller's thread

private:
    struct shared;
    void deliver(std::unique_lock<std::mutex>& lock);
    void wait_until(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done);

    client& client_;
    batch_options options_;
    outcome_handler on_outcome_;
    std::function<void()> on_tick_;
    std::shared_ptr<shared> shared_;
    std::shared_ptr<void> cancel_binding_;   // options_.cancel routed to cancel()
    counts totals_;
};

} // namespace hoist::engine
