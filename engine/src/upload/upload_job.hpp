// The upload driver: one object, on a client's executor, through a backend
// (direct or through a presign service).
//
//   plan -> create -> parts (a permit, and for streams the read-ahead bytes,
//   are taken *before* a part's coroutine and buffer exist: memory is
//   O(concurrency)) -> join -> complete -> verify; or, on any failure, abort.
//
// Failures are one typed error (step_error) thrown by a step; the first one
// stops the upload: its requests are cut (request_runner::stop), waiting parts
// are released, and the multipart upload is aborted unless keep_on_failure.
// Nothing is aborted while a CompleteMultipartUpload is in flight; a Complete
// whose answer never came is resolved (ListParts, then HeadObject) before
// anything is reported.
#pragma once

#include "backend.hpp"
#include "client_core.hpp"
#include "journal.hpp"
#include "request_runner.hpp"
#include "semaphore.hpp"
#include "source.hpp"
#include "task_group.hpp"

#include "hoist/engine/client.hpp"
#include "hoist/protocol/s3/part_plan.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <deque>
#include <optional>

namespace hoist::engine::detail {

// Recent transfer rate from samples of (time, bytes sent) over a short window.
class rate_meter {
public:
    using clock = std::chrono::steady_clock;
    void sample(clock::time_point now, std::uint64_t bytes);
    double rate() const;

private:
    static constexpr auto window = std::chrono::seconds(3);
    std::deque<std::pair<clock::time_point, std::uint64_t>> samples_;
};

class upload_job {
public:
    // Throws upload_error(invalid_argument) for options that cannot work.
    upload_job(client_core& core, const upload_options& options, progress_callback on_progress);
    ~upload_job();

    // Stops the upload with `code` (the first reason wins). Safe to call more than once.
    void fail(upload_errc code, std::string message);

    // Runs the upload to its end: the result, or upload_error.
    net::awaitable<upload_result> run(upload_source source);

private:
    using clock = std::chrono::steady_clock;

    // Bookkeeping one part holds while it is sent: its permit and, for a
    // stream, its read-ahead bytes.
    struct part_hold {
        async_semaphore::permit permit;
        byte_budget::lease buffered;
    };

    // A regular file that may resume: its absolute path and identity.
    struct resumable_file {
        std::string absolute_path;
        file_identity identity;
    };

    net::awaitable<upload_result> run_positional(const positional_source& source,
                                                 std::optional<resumable_file> resumable = std::nullopt);
    // Looks up the journal and, when an earlier run's upload can go on, adopts
    // it and fills keep_ from ListParts; `plan` becomes the earlier run's
    // (through a service, whose part size the journal holds). False: create a
    // new upload (a stale one was aborted first, if the file changed).
    net::awaitable<bool> try_resume(const resumable_file& file, protocol::part_plan& plan);
    // Starts the journal entry of a newly created upload.
    void start_journal(const resumable_file& file, const protocol::part_plan& plan);
    // A kept part is skipped only if the file still holds what was sent.
    bool still_matches(const journal_part& kept, const protocol::integrity& now) const;
    net::awaitable<upload_result> run_stream(int fd);
    net::awaitable<void> put_single(const positional_source& source);
    net::awaitable<void> send_parts(const positional_source& source, const protocol::part_plan& plan);
    void spawn_part(std::uint32_t number, std::unique_ptr<body_source> body, protocol::integrity check, part_hold hold);
    net::awaitable<void> send_part(std::uint32_t number, std::unique_ptr<body_source> body, protocol::integrity check,
                                   part_hold hold);
    net::awaitable<void> complete_and_verify(std::uint64_t size);
    net::awaitable<upload_result> finish(std::uint64_t size);
    // Counts what a body's answer proved the store checked (and lets the
    // backend learn whether the endpoint checks CRC32C).
    void confirmed(const protocol::integrity& sent, const stored_body& answer);
    // upload_result::checksum: what the store verified for every body sent.
    protocol::integrity::kind verified_by() const;
    void plan_in_flight(const protocol::part_plan& plan);
    upload_result result(std::uint64_t size) const;

    void sent(std::size_t n);
    void unsent(std::uint64_t n);
    void acked(std::uint64_t n);
    void report(bool force = false);

    client_core& core_;
    const upload_options opt_;
    progress_callback on_progress_;
    std::optional<bandwidth_limit> own_bandwidth_;   // upload_options::max_bytes_per_second (before runner_: outlives its calls)
    request_runner runner_;
    std::unique_ptr<upload_backend> backend_;
    async_semaphore permits_;
    task_group parts_;
    std::optional<net::asio::posix::stream_descriptor> input_;   // a stream being read (cancelled by fail())

    bool succeeded_ = false;          // counted in the client's stats when the job ends
    std::optional<std::pair<upload_errc, std::string>> failure_;   // the first reason; set: the upload is stopping
    bool stopping() const noexcept { return failure_.has_value(); }
    bool multipart_ = false;
    bool completed_ = false;          // CompleteMultipartUpload succeeded (or the upload is known gone)
    std::vector<protocol::completed_part> completed_parts_;
    std::string etag_;
    std::uint64_t planned_part_size_ = 0;
    std::uint32_t parts_in_flight_ = 0;
    std::string congestion_control_;

    // Resume (upload_options::resume)
    std::optional<journal_file> journal_;          // held (locked) while the upload runs
    bool journal_live_ = false;                    // the entry describes this upload
    bool journal_disposable_ = false;              // ... or no upload that may still exist
    std::map<std::uint32_t, journal_part> keep_;   // parts an earlier run stored
    std::uint64_t bytes_resumed_ = 0;
    std::uint32_t parts_resumed_ = 0;
    std::string resume_note_;

    clock::time_point started_ = clock::now(), last_report_{};
    rate_meter meter_;
    std::optional<std::uint64_t> total_;
    std::uint64_t acked_ = 0, in_flight_ = 0, sent_total_ = 0;
    std::uint32_t parts_done_ = 0, parts_total_ = 0, retries_ = 0;
    std::uint32_t confirmed_crc32c_ = 0, confirmed_md5_ = 0, unconfirmed_ = 0;   // bodies sent in this run
};

void validate(const upload_options& options);

} // namespace hoist::engine::detail
