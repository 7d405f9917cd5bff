#include "upload_job.hpp"

#include "hoist/engine/backoff.hpp"
#include "hoist/engine/integrity.hpp"
#include "hoist/protocol/s3/classify.hpp"
#include "hoist/protocol/s3/part_plan.hpp"

#include <boost/asio/read.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace hoist::engine::detail {

// ---- rate -----------------------------------------------------------------------

void rate_meter::sample(clock::time_point now, std::uint64_t bytes) {
    samples_.push_back({now, bytes});
    while (samples_.size() > 2 && now - samples_.front().first > window) samples_.pop_front();
}

double rate_meter::rate() const {
    if (samples_.size() < 2) return 0;
    auto dt = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
    return dt > 0 ? static_cast<double>(samples_.back().second - samples_.front().second) / dt : 0;
}

// ---- options ----------------------------------------------------------------------

void validate(const upload_options& opt) {
    auto bad = [](const std::string& why) { return upload_error(upload_errc::invalid_argument, why); };
    if (opt.via) {
        if (opt.via->bearer_token.empty()) throw bad("no bearer token for the presign service");
        if (opt.via->file_name.empty()) throw bad("no file name for the presign service");
    } else {
        if (!opt.signer) throw bad("no signer (credentials) given");
        if (opt.region.empty()) throw bad("the region is empty");
    }
    if (opt.concurrency < 1 || opt.concurrency > 1024) throw bad("concurrency must be 1 to 1024");
    if (opt.max_attempts < 1 || opt.max_attempts > 100) throw bad("attempts must be 1 to 100");
    if (opt.slice_size < 4096 || opt.slice_size > 64 * 1024 * 1024) throw bad("slice size must be 4 KiB to 64 MiB");
    if (opt.stall_timeout.count() < 1 || opt.connect_timeout.count() < 1 || opt.response_timeout.count() < 1)
        throw bad("timeouts must be at least 1 second");
    try {
        protocol::validate_part_size(opt.part_size);
    } catch (const protocol::plan_error& e) {
        throw bad(e.what());
    }
}

// ---- the job ----------------------------------------------------------------------

upload_job::upload_job(client_core& core, const upload_options& options, progress_callback on_progress)
    : core_(core), opt_(options), on_progress_(std::move(on_progress)),
      runner_(core.executor(), backoff_policy{opt_.backoff_base, opt_.backoff_cap, 5, opt_.backoff_jitter}, opt_.seed,
              exchange_timeouts{opt_.stall_timeout, opt_.response_timeout}, opt_.slice_size),
      permits_(core.executor(), opt_.concurrency), parts_(core.executor()) {
    validate(opt_);
    try {
        backend_ = opt_.via ? make_via_backend(core_, opt_, runner_) : make_direct_backend(core_, opt_, runner_);
    } catch (const std::runtime_error& e) {   // TLS setup (a CA bundle that does not load)
        throw upload_error(upload_errc::invalid_argument, e.what());
    }
    congestion_control_ = opt_.congestion_control.empty() ? core_.congestion_control() : opt_.congestion_control;
    // This upload's own cap, then the client's (waiting in the shared queue last).
    if (opt_.max_bytes_per_second) runner_.limits.push_back(&own_bandwidth_.emplace(opt_.max_bytes_per_second));
    if (!core_.bandwidth().unlimited()) runner_.limits.push_back(&core_.bandwidth());
    runner_.on_sent = [this](std::size_t n) { sent(n); };
    runner_.on_unsent = [this](std::uint64_t n) { unsent(n); };
    runner_.on_request = opt_.on_request;
    runner_.on_retry = [this] {
        ++retries_;
        report(true);
    };
    ++core_.uploads_started;
    ++core_.uploads_running;
}

upload_job::~upload_job() {
    --core_.uploads_running;
    ++(succeeded_ ? core_.uploads_succeeded : core_.uploads_failed);
    core_.bytes_in_flight -= in_flight_;
}

void upload_job::fail(upload_errc code, std::string message) {
    if (failure_) return;   // the first reason wins; the stop below is done once
    failure_ = std::make_pair(code, std::move(message));
    runner_.stop();          // cuts this upload's requests and backoff sleeps, nobody else's
    permits_.cancel();       // releases the part loop if it waits for a permit
    if (input_) {
        net::error_code ignored;
        input_->cancel(ignored);   // a stream read waiting for its writer
    }
}

net::awaitable<upload_result> upload_job::run(upload_source source) {
    switch (source.type()) {
    case upload_source::kind::memory: {
        memory_source bytes(source.bytes());
        co_return co_await run_positional(bytes);
    }
    case upload_source::kind::generated: {
        generated_source bytes(source.generated_size(), source.generated_seed());
        co_return co_await run_positional(bytes);
    }
    case upload_source::kind::descriptor: co_return co_await run_stream(source.fd());
    case upload_source::kind::file: break;
    }
    if (source.path() == "-") {
        struct stat st {};
        if (::fstat(0, &st) != 0 || !S_ISREG(st.st_mode)) co_return co_await run_stream(0);
        auto file = file_source::adopt(0, "<stdin>");
        co_return co_await run_positional(file);
    }
    auto file = file_source::open(source.path());
    std::optional<resumable_file> resumable;
    if (opt_.resume) {
        std::error_code ec;
        auto absolute = std::filesystem::absolute(source.path(), ec);
        if (!ec) resumable = resumable_file{absolute.lexically_normal().string(), file.identity()};
    }
    co_return co_await run_positional(file, std::move(resumable));
}

// Under BBR an upload of two parts goes one part at a time (protocol::parts_in_flight
// has the reason); not fitted, the congestion control is left out of it. The
// permits above that number are taken now and kept until the job ends.
void upload_job::plan_in_flight(const protocol::part_plan& plan) {
    const auto cc = opt_.fit_parts_in_flight ? protocol::classify_congestion_control(congestion_control_)
                                             : protocol::congestion_response::unknown;
    parts_in_flight_ = protocol::parts_in_flight(opt_.concurrency, plan.part_count, cc);
}

net::awaitable<upload_result> upload_job::run_positional(const positional_source& source,
                                                         std::optional<resumable_file> resumable) {
    const std::uint64_t size = source.size();
    total_ = size;
    std::optional<step_error> failed;
    try {
        if (size < opt_.multipart_threshold || size == 0) {
            co_await put_single(source);
        } else {
            multipart_ = true;
            std::uint64_t part_size = opt_.part_size;
            if (opt_.spread_small_files) part_size = protocol::spread_part_size(size, part_size, opt_.concurrency);
            auto plan = protocol::plan_parts(size, part_size);
            plan_in_flight(plan);
            // Open the connections the first parts will use at once: Create takes
            // the first one ready, the others finish their handshakes meanwhile.
            backend_->warm(parts_in_flight_);
            if (!resumable || !co_await try_resume(*resumable, plan)) {
                if (auto decided = co_await backend_->create(size); decided && *decided != plan.part_size) {
                    plan = protocol::plan_parts(size, *decided);   // the service plans the parts
                    plan_in_flight(plan);
                }
                if (resumable) start_journal(*resumable, plan);
            }
            co_await send_parts(source, plan);
            if (!failure_ && source.changed())
                throw step_error(upload_errc::source_changed,
                                 "'" + source.name() + "' changed during the upload (size or mtime)");
        }
    } catch (const step_error& e) {
        failed = e;
    } catch (const upload_error&) {
        throw;   // before anything exists on the server (the source, the options)
    } catch (const std::exception& e) {
        // Not a step's failure (a bug, a malformed URL from a service): the
        // upload may exist, so it still ends through finish() and its abort.
        failed = step_error(upload_errc::rejected, std::string("internal error: ") + e.what());
    }
    if (failed) fail(failed->code, failed->what());
    co_return co_await finish(size);
}

net::awaitable<bool> upload_job::try_resume(const resumable_file& file, protocol::part_plan& plan) {
    const std::string entry = entry_identity(backend_->destination(), file.absolute_path);
    std::string why;
    auto getenv = [](const std::string& name) {
        const char* v = std::getenv(name.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
    };
    journal_ = journal_file::open(opt_.state_dir.empty() ? default_state_dir(getenv) : opt_.state_dir, entry, &why);
    if (!journal_) {
        resume_note_ = "this upload cannot be resumed: " + why;
        co_return false;
    }
    const auto journal = journal_->load();
    journal_disposable_ = !journal.header;   // an empty or unusable entry names no upload
    const std::string checksum(protocol::to_string(backend_->checksum()));
    // Through a service the part size is the service's, learnt at start: the journal's is taken.
    std::optional<std::uint64_t> part_size;
    if (!opt_.via) part_size = plan.part_size;
    auto match = match_journal(journal, entry, file.identity, part_size, checksum);
    resume_note_ = match.reason;
    auto abort_stale = [&](const std::string& why_stale) -> net::awaitable<void> {
        const auto& h = *journal.header;
        backend_->adopt({h.upload_id, h.s3_key, h.upload_token});
        std::string outcome = " (upload " + h.upload_id + " aborted)";
        try {
            co_await backend_->abort();
        } catch (const step_error& e) {
            outcome = "; its upload " + h.upload_id + " could not be aborted: " + e.what();
            journal_disposable_ = false;   // the entry still names it, until a new upload replaces it
        }
        if (outcome.front() == ' ') journal_disposable_ = true;
        backend_->adopt({});
        resume_note_ = "started over: " + why_stale + outcome;
    };
    if (!match.resume) {
        if (!match.stale_upload_id.empty()) co_await abort_stale(match.reason);
        co_return false;
    }
    const auto& h = *journal.header;
    backend_->adopt({h.upload_id, h.s3_key, h.upload_token});
    // From here an upload exists for a cancel to handle (hoist cp's signal
    // watcher waits for the engine after its first report).
    report(true);
    if (opt_.via && h.part_size != plan.part_size) {
        plan = protocol::plan_parts(file.identity.size, h.part_size);
        plan_in_flight(plan);
    }
    std::optional<std::vector<protocol::part_info>> listed;
    std::optional<std::string> refused;
    try {
        listed = co_await backend_->list_parts();
    } catch (const step_error& e) {
        // A refusal (ListParts not allowed, a service token expired): the
        // upload cannot be continued from here. Anything else (no answer) is
        // the upload's failure, as for any step.
        if (e.status < 400 || e.status >= 500) throw;
        refused = e.what();
    }
    if (refused) {
        co_await abort_stale("ListParts was refused (" + *refused + ")");
        co_return false;
    }
    auto decision = decide_resume(journal, plan, listed);
    if (decision.start_over) {
        backend_->adopt({});
        journal_disposable_ = true;
        resume_note_ = "started over: the interrupted upload " + h.upload_id + " is no longer on the server";
        co_return false;
    }
    keep_ = std::move(decision.keep);
    journal_live_ = true;
    co_return true;
}

void upload_job::start_journal(const resumable_file& file, const protocol::part_plan& plan) {
    if (!journal_) return;
    auto handle = backend_->handle();
    journal_live_ = journal_->start({journal_->identity(), handle.upload_id, handle.s3_key, handle.upload_token,
                                     plan.part_size, std::string(protocol::to_string(backend_->checksum())),
                                     file.identity});
}

void upload_job::confirmed(const protocol::integrity& sent, const stored_body& answer) {
    backend_->learn(sent, answer);
    switch (protocol::integrity_confirmed_by(sent, answer.echoed_crc32c, answer.etag)) {
    case protocol::integrity::kind::crc32c: ++confirmed_crc32c_; break;
    case protocol::integrity::kind::md5: ++confirmed_md5_; break;
    case protocol::integrity::kind::none: ++unconfirmed_; break;
    }
}

protocol::integrity::kind upload_job::verified_by() const {
    // Nothing sent in this run (every part resumed): what was asked for, as
    // the earlier run's answers are not kept.
    if (unconfirmed_ + confirmed_crc32c_ + confirmed_md5_ == 0) return backend_->checksum();
    if (unconfirmed_ > 0) return protocol::integrity::kind::none;
    return confirmed_md5_ > 0 ? protocol::integrity::kind::md5 : protocol::integrity::kind::crc32c;
}

bool upload_job::still_matches(const journal_part& kept, const protocol::integrity& now) const {
    // Without a checksum the server's and the journal's ETags are all there is.
    return now.type == protocol::integrity::kind::none || now.base64 == kept.checksum;
}

net::awaitable<void> upload_job::put_single(const positional_source& source) {
    const std::uint64_t size = source.size();
    parts_total_ = 1;
    integrity_builder check(backend_->checksum(), backend_->wants_content_md5());
    if (auto ec = source.scan(0, size, [&](const char* p, std::size_t len) { check.update(p, len); }))
        throw step_error(upload_errc::source_changed, "cannot read '" + source.name() + "': " + ec.message());
    file_part_body body(source, 0, size);
    auto sent = check.finish();
    auto answer = co_await backend_->put_object(body, sent);
    confirmed(sent, answer);
    etag_ = answer.etag;
    if (source.changed())
        throw step_error(upload_errc::source_changed, "'" + source.name() + "' changed during the upload");
    ++parts_done_;
    acked(size);
}

net::awaitable<void> upload_job::send_parts(const positional_source& source, const protocol::part_plan& plan) {
    parts_total_ = plan.part_count;
    planned_part_size_ = plan.part_size;
    completed_parts_.resize(plan.part_count);
    std::vector<async_semaphore::permit> unused;   // permits above parts_in_flight, held to the end
    for (unsigned held = parts_in_flight_; held < opt_.concurrency; ++held)
        if (auto p = permits_.try_acquire()) unused.push_back(std::move(*p));
    report(true);
    for (std::uint32_t n = 1; n <= plan.part_count && !stopping(); ++n) {
        if (auto kept = keep_.find(n); kept != keep_.end()) {
            // Stored by an earlier run: skipped if the file still holds those
            // bytes (a same-size, same-mtime rewrite is caught here), else resent.
            integrity_builder check(backend_->checksum());
            net::error_code rec;
            if (backend_->checksum() != protocol::integrity::kind::none)
                rec = source.scan(plan.offset(n), plan.size(n), [&](const char* p, std::size_t len) { check.update(p, len); });
            if (!rec && still_matches(kept->second, check.finish())) {
                completed_parts_[n - 1] = {n, kept->second.etag,
                                           backend_->checksum() == protocol::integrity::kind::crc32c
                                               ? kept->second.checksum
                                               : ""};
                ++parts_done_;
                ++parts_resumed_;
                bytes_resumed_ += plan.size(n);
                acked_ += plan.size(n);
                continue;
            }
        }
        // The permit comes first: no part's coroutine or buffer exists without one.
        auto [ec, permit] = co_await permits_.acquire();
        if (ec || stopping()) break;
        // The part's integrity value, computed once and reused on every attempt.
        integrity_builder check(backend_->checksum(), backend_->wants_content_md5());
        net::error_code rec;
        if (backend_->checksum() != protocol::integrity::kind::none)
            rec = source.scan(plan.offset(n), plan.size(n), [&](const char* p, std::size_t len) { check.update(p, len); });
        if (rec || source.changed()) {
            fail(upload_errc::source_changed, "'" + source.name() + "' changed during the upload (size or mtime)");
            break;
        }
        spawn_part(n, std::make_unique<file_part_body>(source, plan.offset(n), plan.size(n)), check.finish(),
                   part_hold{std::move(permit), {}});
    }
    co_await parts_.join();
}

void upload_job::spawn_part(std::uint32_t number, std::unique_ptr<body_source> body, protocol::integrity check,
                            part_hold hold) {
    auto on_done = [this](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            fail(upload_errc::rejected, std::string("internal error: ") + ex.what());
        }
    };
    parts_.spawn(send_part(number, std::move(body), std::move(check), std::move(hold)), on_done);
}

net::awaitable<void> upload_job::send_part(std::uint32_t number, std::unique_ptr<body_source> body,
                                           protocol::integrity check, part_hold hold) {
    std::optional<step_error> failed;
    try {
        std::optional<std::uint32_t> total;
        if (total_) total = parts_total_;
        auto answer = co_await backend_->upload_part(number, *body, check, total);
        confirmed(check, answer);
        if (number > completed_parts_.size()) completed_parts_.resize(number);
        auto& part = completed_parts_[number - 1];
        part = {number, std::move(answer.etag), check.type == protocol::integrity::kind::crc32c ? check.base64 : ""};
        if (!part.etag.empty() && part.etag.front() != '"') part.etag = "\"" + part.etag + "\"";
        if (journal_live_) journal_->record({number, part.etag, check.base64, body->size()});
        ++parts_done_;
        acked(body->size());
    } catch (const step_error& e) {
        failed = e;
    } catch (const std::exception& e) {
        failed = step_error(upload_errc::rejected, std::string("internal error: ") + e.what());
    }
    if (failed) fail(failed->code, failed->what());
    (void)hold;   // released here, after the part's bytes are confirmed or given up
}

// Complete, then confirm. A Complete is never cut by a stop; when its answer
// is lost the server's state decides (aws-c-s3 never aborts while a Complete
// is in flight: an Abort could race the Complete that did succeed).
net::awaitable<void> upload_job::complete_and_verify(std::uint64_t size) {
    std::optional<step_error> refused;
    try {
        etag_ = co_await backend_->complete(completed_parts_);
        completed_ = true;
    } catch (const step_error& e) {
        refused = e;
    }
    if (refused) {
        // NoSuchUpload after a retry: an earlier attempt succeeded and its answer
        // was lost. A refusal (4xx with a code) leaves the upload open. Anything
        // else (no answer, 5xx until the end) is asked of the server.
        bool gone = refused->s3_code == "NoSuchUpload";
        bool rejected = !gone && refused->code == upload_errc::rejected && refused->status >= 400 &&
                        refused->status < 500;
        if (!gone && !rejected) {
            try {
                gone = co_await backend_->state() == upload_state::gone;
            } catch (const step_error& e) {
                // Neither the Complete's outcome nor the upload's state is known:
                // an Abort could not be justified, so the upload is named instead.
                completed_ = true;   // nothing to abort
                throw step_error(refused->code, std::string(refused->what()) +
                                                    "; its outcome is unknown (ListParts: " + e.what() +
                                                    "): upload id " + backend_->upload_id() +
                                                    " may be left on the server");
            }
        }
        if (!gone) throw *refused;
        completed_ = true;
    }
    if (auto etag = co_await backend_->verify(size); etag_.empty()) etag_ = etag;
}

// After the parts: complete and verify, or abort and throw.
net::awaitable<upload_result> upload_job::finish(std::uint64_t size) {
    co_await parts_.join();
    std::optional<step_error> failed;
    if (!failure_) {
        try {
            if (multipart_) co_await complete_and_verify(size);
            else if (auto etag = co_await backend_->verify(size); etag_.empty()) etag_ = etag;
        } catch (const step_error& e) {
            failed = e;
        }
    }
    // A cancel that came while the Complete was in flight was too late: the
    // object is stored, and that is the outcome.
    if (!failed && (!failure_ || (multipart_ && completed_))) {
        succeeded_ = true;
        if (journal_) journal_->remove();
        co_return result(size);
    }
    if (failed) fail(failed->code, failed->what());
    auto [code, message] = *failure_;
    const std::string id = backend_->upload_id();
    const bool open = multipart_ && !id.empty() && !completed_;
    bool aborted = false;
    if (open && !opt_.keep_on_failure) {
        std::optional<std::string> abort_error;
        try {
            co_await backend_->abort();
            aborted = true;
        } catch (const step_error& e) {
            abort_error = e.what();
        }
        if (aborted)
            message += " (multipart upload aborted)";
        else
            message += "; the abort failed too (" + *abort_error + "): upload id " + id + " is left on the server";
    } else if (open) {
        message += " (kept multipart upload " + id + " for reuse)";
    }
    // The entry goes with its upload; it stays while the upload can go on.
    if (journal_ && (aborted || (journal_live_ && completed_) || (!journal_live_ && journal_disposable_)))
        journal_->remove();
    else if (open && journal_live_)
        message += "; uploading the same file to the same destination again resumes it";
    throw upload_error(code, message, open ? id : "", aborted);
}

net::awaitable<upload_result> upload_job::run_stream(int fd) {
    input_.emplace(core_.executor(), ::dup(fd));
    auto stream_plan = protocol::plan_stream(opt_.part_size);
    if (stream_plan.part_size(1) > core_.read_ahead().limit())
        throw upload_error(upload_errc::invalid_argument,
                           "the part size (" + std::to_string(stream_plan.part_size(1)) +
                               " bytes) is above the client's read-ahead budget (" +
                               std::to_string(core_.read_ahead().limit()) + " bytes)");

    // Reads one part (less only at EOF) into memory held against the read-ahead budget.
    auto read_part = [&](std::uint64_t want)
        -> net::awaitable<std::tuple<net::error_code, std::string, byte_budget::lease>> {
        auto [bec, held] = co_await core_.read_ahead().acquire(want);
        if (bec) co_return std::make_tuple(bec, std::string(), byte_budget::lease{});
        std::string buf(want, '\0');
        auto [ec, n] = co_await net::asio::async_read(*input_, net::asio::buffer(buf), net::use_nothrow);
        buf.resize(n);
        if (ec == net::asio::error::eof) ec = {};
        co_return std::make_tuple(ec, std::move(buf), std::move(held));
    };
    auto read_error = [&](net::error_code ec) {
        return step_error(upload_errc::source_error, "cannot read the input stream: " + ec.message());
    };

    std::uint64_t total = 0;
    std::optional<step_error> failed;
    try {
        auto [pec, first_permit] = co_await permits_.acquire();
        if (pec) co_return co_await finish(0);
        auto [ec, first, first_held] = co_await read_part(stream_plan.part_size(1));
        if (ec) {
            if (stopping()) co_return co_await finish(0);
            throw upload_error(upload_errc::source_error, "cannot read the input stream: " + ec.message());
        }
        total = first.size();
        if (first.size() < stream_plan.part_size(1) && first.size() < opt_.multipart_threshold) {
            first_permit.release();
            auto bytes = std::make_shared<const std::string>(std::move(first));
            memory_source single(bytes);
            total_ = total;
            co_await put_single(single);
            co_return co_await finish(total);
        }
        multipart_ = true;
        // A stream's part count is unknown until its end: every permit is used.
        parts_in_flight_ = opt_.concurrency;
        planned_part_size_ = stream_plan.part_size(1);
        co_await backend_->create(std::nullopt);
        auto spawn_buffer = [&](std::uint32_t n, std::string data, part_hold hold) {
            auto check = compute_integrity(backend_->checksum(), data, backend_->wants_content_md5());
            spawn_part(n, std::make_unique<memory_body>(std::move(data)), std::move(check), std::move(hold));
        };
        spawn_buffer(1, std::move(first), part_hold{std::move(first_permit), std::move(first_held)});
        for (std::uint32_t n = 2; !stopping(); ++n) {
            if (n > protocol::max_parts)
                throw step_error(upload_errc::invalid_argument,
                                 "the stream is longer than 10,000 parts can carry (" +
                                     std::to_string(stream_plan.max_stream_size()) +
                                     " bytes at this part size); use a larger --part-size");
            auto [aec, permit] = co_await permits_.acquire();
            if (aec || stopping()) break;
            auto [rec, data, held] = co_await read_part(stream_plan.part_size(n));
            if (rec) {
                if (stopping()) break;
                throw read_error(rec);
            }
            if (data.empty()) break;
            total += data.size();
            bool last = data.size() < stream_plan.part_size(n);
            spawn_buffer(n, std::move(data), part_hold{std::move(permit), std::move(held)});
            if (last) break;
        }
    } catch (const step_error& e) {
        failed = e;
    } catch (const upload_error&) {
        throw;   // before anything exists on the server (the first read, the options)
    } catch (const std::exception& e) {
        failed = step_error(upload_errc::rejected, std::string("internal error: ") + e.what());
    }
    if (failed) fail(failed->code, failed->what());
    co_await parts_.join();
    parts_total_ = static_cast<std::uint32_t>(completed_parts_.size());
    total_ = total;
    co_return co_await finish(total);
}

upload_result upload_job::result(std::uint64_t size) const {
    upload_result out;
    out.bytes = size;
    out.seconds = std::chrono::duration<double>(clock::now() - started_).count();
    out.parts = parts_done_;
    out.retries = retries_;
    backend_->count_connections(out);
    out.method = multipart_ ? backend_->multipart_method() : backend_->single_method();
    out.etag = etag_;
    out.upload_id = multipart_ ? backend_->upload_id() : "";
    out.checksum = std::string(protocol::to_string(verified_by()));
    if (unconfirmed_ > 0 && backend_->checksum() != protocol::integrity::kind::none)
        out.integrity_note = "the store confirmed no checksum for " + std::to_string(unconfirmed_) + " of " +
                             std::to_string(unconfirmed_ + confirmed_crc32c_ + confirmed_md5_) +
                             (multipart_ ? " parts" : " bodies") +
                             " (no x-amz-checksum-crc32c echo, and an ETag that is not the MD5 sent): only TLS "
                             "checked those bytes on the way";
    out.key = backend_->key();
    out.part_size = planned_part_size_;
    out.parts_in_flight = multipart_ ? parts_in_flight_ : 0;
    out.congestion_control = congestion_control_;
    out.fallback_reason = backend_->fallback_reason();
    out.bytes_resumed = bytes_resumed_;
    out.parts_resumed = parts_resumed_;
    out.resume_note = resume_note_;
    return out;
}

// ---- progress -------------------------------------------------------------------

void upload_job::sent(std::size_t n) {
    in_flight_ += n;
    core_.bytes_in_flight += n;
    sent_total_ += n;
    report();
}

void upload_job::unsent(std::uint64_t n) {
    n = std::min(in_flight_, n);
    in_flight_ -= n;
    core_.bytes_in_flight -= n;
}

void upload_job::acked(std::uint64_t n) {
    unsent(n);
    acked_ += n;
    core_.bytes_acked += n;
    report(true);
}

void upload_job::report(bool force) {
    auto now = clock::now();
    meter_.sample(now, sent_total_);
    if (!on_progress_ || (!force && now - last_report_ < std::chrono::milliseconds(50))) return;
    last_report_ = now;
    progress p;
    p.bytes_total = total_;
    p.bytes_acked = acked_;
    p.bytes_in_flight = in_flight_;
    p.parts_done = parts_done_;
    p.parts_total = parts_total_;
    p.retries = retries_;
    p.bytes_resumed = bytes_resumed_;
    p.rate_bytes_per_s = meter_.rate();
    p.elapsed = now - started_;
    p.method = multipart_ ? backend_->multipart_method() : backend_->single_method();
    on_progress_(p);
}

} // namespace hoist::engine::detail
