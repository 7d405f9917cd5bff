// The upload job: one object, one io_context, one connection pool.
//
// Multipart flow, one short coroutine per protocol step:
//   create_upload -> dispatch parts (a permit from the semaphore is taken
//   *before* a part's coroutine and buffers exist, so memory is O(concurrency))
//   -> wait until no part is in flight -> complete_upload -> verify (HeadObject).
// Any fatal outcome or a cancel() stops the job: in-flight requests are cut by
// closing their connections, backoff sleeps are cancelled, the dispatcher stops,
// and the multipart upload is aborted unless keep_on_failure.
#include "cancel_state.hpp"
#include "connection.hpp"
#include "request_runner.hpp"
#include "semaphore.hpp"
#include "source.hpp"

#include "hoist/engine/backoff.hpp"
#include "hoist/engine/integrity.hpp"
#include "hoist/engine/upload.hpp"
#include "hoist/protocol/s3/classify.hpp"
#include "hoist/protocol/s3/part_plan.hpp"
#include "hoist/protocol/presign/api.hpp"
#include "hoist/protocol/s3/xml.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/post.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <deque>
#include <map>
#include <list>
#include <mutex>

namespace hoist::engine {

// ---- cancel_token -------------------------------------------------------------

cancel_token::cancel_token() : state_(std::make_shared<state>()) {}

void cancel_token::cancel() const {
    state_->flag = true;
    std::lock_guard lock(state_->mutex);
    if (state_->notify) state_->notify();
}

bool cancel_token::cancelled() const noexcept { return state_->flag; }

std::string_view to_string(upload_errc c) {
    switch (c) {
    case upload_errc::rejected: return "rejected";
    case upload_errc::retries_exhausted: return "retries exhausted";
    case upload_errc::cancelled: return "cancelled";
    case upload_errc::source_changed: return "source changed";
    case upload_errc::source_error: return "source error";
    case upload_errc::verification_failed: return "verification failed";
    case upload_errc::invalid_argument: return "invalid argument";
    }
    return "?";
}

namespace detail {
namespace {

using clock = std::chrono::steady_clock;

// Recent transfer rate from samples of (time, bytes sent) over a short window.
class rate_meter {
public:
    void sample(clock::time_point now, std::uint64_t bytes) {
        samples_.push_back({now, bytes});
        while (samples_.size() > 2 && now - samples_.front().first > window) samples_.pop_front();
    }
    double rate() const {
        if (samples_.size() < 2) return 0;
        auto dt = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
        return dt > 0 ? static_cast<double>(samples_.back().second - samples_.front().second) / dt : 0;
    }

private:
    static constexpr auto window = std::chrono::seconds(3);
    std::deque<std::pair<clock::time_point, std::uint64_t>> samples_;
};

class upload_job {
public:
    upload_job(net::asio::io_context& ioc, const upload_options& opt, progress_callback cb)
        : ioc_(ioc), opt_(opt), on_progress_(std::move(cb)),
          permits_(ioc.get_executor(), opt.concurrency), idle_signal_(ioc),
          runner_(ioc.get_executor(), backoff_policy{opt.backoff_base, opt.backoff_cap, 5, opt.backoff_jitter},
                  opt.seed, exchange_timeouts{opt.stall_timeout, opt.response_timeout}, opt.slice_size) {
        // Presigned URLs sign only Host: an x-amz-checksum-* header would be
        // refused as unsigned, Content-MD5 is allowed. So via a service, crc32c
        // becomes md5.
        checksum_ = opt.via && opt.checksum == protocol::integrity::kind::crc32c ? protocol::integrity::kind::md5
                                                                                 : opt.checksum;
        if (opt.via) {
            method_ = "presigned-s3";
            service_pool_ = std::make_unique<connection_pool>(ioc.get_executor(), make_pool_config(opt, opt.via->service));
        } else {
            pool_ = std::make_unique<connection_pool>(ioc.get_executor(), make_pool_config(opt, opt.location.ep));
        }
        congestion_control_ = opt.congestion_control.empty() ? default_congestion_control() : opt.congestion_control;
        runner_.on_sent = [this](std::size_t n) { sent(n); };
        runner_.on_unsent = [this](std::uint64_t n) { unsent(n); };
        runner_.on_retry = [this] {
            ++retries_;
            report(true);
        };
    }

    // Stops the job at once with `error` (the first reason wins).
    void fail(upload_errc code, std::string error) {
        if (!failure_) failure_ = std::make_pair(code, std::move(error));
        if (stopping_) return;
        stopping_ = true;
        runner_.stop();
        permits_.cancel();
        if (pool_) pool_->close_all();
        if (service_pool_) service_pool_->close_all();
    }

    net::awaitable<upload_result> run_file(const file_source& file);
    net::awaitable<upload_result> run_stream(int fd);

private:
    static pool_config make_pool_config(const upload_options& opt, const protocol::endpoint& ep) {
        pool_config c;
        c.host = ep.host;
        c.port = ep.port;
        c.use_tls = ep.tls();
        c.tls = opt.tls;
        c.connect_timeout = opt.connect_timeout;
        c.idle_timeout = opt.idle_timeout;
        c.max_idle = std::max<std::size_t>(opt.concurrency + 2, 4);
        c.pace = opt.tcp_pacing;
        return c;
    }

    // ---- one S3 call with retries ----------------------------------------------

    // An S3 call signed with our credentials at each attempt.
    net::awaitable<call_result> call(std::string what, std::function<protocol::s3_request()> build,
                                     body_source* body, bool cancellable, unsigned max_attempts) {
        auto signed_build = signed_each_attempt(std::move(build), *opt_.signer, opt_.region);
        // A named spec, not a braced temporary: g++ 12 destroys a braced
        // by-value argument of a co_awaited coroutine call twice.
        call_spec spec{std::move(what), signed_build, body, cancellable, max_attempts};
        co_return co_await runner_.call(*pool_, std::move(spec));
    }

    // ---- through a presign service (opt_.via) ---------------------------------------

    // POST /v1/presigned-upload with a JSON body; the answer's JSON, or the
    // failure (with the service's own error message when it sent one). Callers
    // build the body as a named object first: g++ 12 rejects a braced
    // json::object temporary as the argument of a co_awaited call.
    net::awaitable<std::optional<boost::json::object>> service_call(std::string what, boost::json::object body,
                                                                    bool cancellable = true);
    // The storage pool for presigned URLs: created for the first URL's host.
    connection_pool& storage_pool(const protocol::endpoint& ep);
    net::awaitable<std::optional<std::string>> part_url(std::uint32_t number);
    net::awaitable<bool> service_start(std::uint64_t size);
    net::awaitable<call_result> presigned_part(std::uint32_t number, body_source& body, const protocol::integrity& check);
    net::awaitable<call_result> proxied_part(std::uint32_t number, body_source& body, const protocol::integrity& check);

    // ---- protocol steps ------------------------------------------------------------

    net::awaitable<bool> create_upload();
    net::awaitable<void> upload_part(std::uint32_t number, std::unique_ptr<body_source> body,
                                     protocol::integrity check);
    net::awaitable<bool> complete_upload();
    net::awaitable<bool> verify(std::uint64_t size);
    net::awaitable<void> abort_upload();
    net::awaitable<bool> put_object(body_source& body, protocol::integrity check);
    net::awaitable<void> wait_idle();
    void spawn_part(std::uint32_t number, std::unique_ptr<body_source> body, protocol::integrity check);

    net::awaitable<upload_result> finish(std::uint64_t size);
    upload_result result(std::uint64_t size) const;

    // ---- progress -------------------------------------------------------------------

    void sent(std::size_t n) {
        in_flight_ += n;
        sent_total_ += n;
        report();
    }
    void unsent(std::uint64_t n) { in_flight_ -= std::min(in_flight_, n); }
    void acked(std::uint64_t n) {
        unsent(n);
        acked_ += n;
        report(true);
    }
    void report(bool force = false) {
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
        p.rate_bytes_per_s = meter_.rate();
        p.elapsed = now - started_;
        p.method = method_;
        on_progress_(p);
    }

    net::asio::io_context& ioc_;
    const upload_options& opt_;
    progress_callback on_progress_;
    std::unique_ptr<connection_pool> pool_;          // storage (direct, or presigned URLs' host)
    std::unique_ptr<connection_pool> service_pool_;  // the presign service (via)
    async_semaphore permits_;
    net::asio::steady_timer idle_signal_;  // woken when the last in-flight part ends
    request_runner runner_;

    bool stopping_ = false;
    bool completed_ok_ = false;   // CompleteMultipartUpload succeeded: nothing left to abort
    bool aborted_ = false;
    std::string abort_error_;
    // via: what the service handed out.
    std::string s3_key_, upload_token_;
    std::map<std::uint32_t, std::string> part_urls_;
    clock::time_point urls_fetched_{};
    std::uint64_t part_size_ = 0;
    std::optional<std::uint64_t> confirmed_size_;
    bool fallback_ = false;   // presigned PUTs refused: parts go through the service's proxy
    std::string fallback_reason_;
    std::uint64_t planned_part_size_ = 0;
    std::uint32_t parts_in_flight_ = 0;
    std::string congestion_control_;
    bool multipart_ = true;
    protocol::integrity::kind checksum_ = protocol::integrity::kind::crc32c;   // as sent (md5 via a service)
    std::optional<std::pair<upload_errc, std::string>> failure_;
    std::string upload_id_;
    std::vector<protocol::completed_part> completed_;
    std::string etag_;
    std::string method_ = "multipart";
    unsigned in_flight_parts_ = 0;

    clock::time_point started_ = clock::now(), last_report_{};
    rate_meter meter_;
    std::optional<std::uint64_t> total_;
    std::uint64_t acked_ = 0, in_flight_ = 0, sent_total_ = 0;
    std::uint32_t parts_done_ = 0, parts_total_ = 0, retries_ = 0;
};

// ---- steps -------------------------------------------------------------------

net::awaitable<bool> upload_job::create_upload() {
    if (opt_.via) co_return co_await service_start(total_.value_or(0));
    auto r = co_await call(
        "CreateMultipartUpload",
        [&] { return protocol::create_multipart_upload(opt_.location, opt_.checksum, opt_.content_type); }, nullptr,
        true, opt_.max_attempts);
    if (!r.ok) {
        fail(r.code, r.error);
        co_return false;
    }
    auto parsed = protocol::parse_initiate(r.response.body);
    if (auto* v = std::get_if<protocol::initiate_result>(&parsed)) {
        upload_id_ = v->upload_id;
        co_return true;
    }
    fail(upload_errc::rejected, "CreateMultipartUpload: unexpected answer: " +
                                    (std::holds_alternative<protocol::xml_problem>(parsed)
                                         ? std::get<protocol::xml_problem>(parsed).what
                                         : std::get<protocol::s3_error>(parsed).code));
    co_return false;
}

net::awaitable<void> upload_job::upload_part(std::uint32_t number, std::unique_ptr<body_source> body,
                                             protocol::integrity check) {
    std::uint64_t size = body->size();
    call_result r;
    if (!opt_.via) {
        r = co_await call(
            "part " + std::to_string(number),
            [&] { return protocol::upload_part(opt_.location, upload_id_, number, size, check); }, body.get(), true,
            opt_.max_attempts);
    } else {
        if (!fallback_) {
            r = co_await presigned_part(number, *body, check);
            bool refused = !r.ok && (r.code == upload_errc::rejected || r.code == upload_errc::retries_exhausted);
            if (refused && !stopping_) {
                // Presigned PUTs refused or blocked: the product's fallback, the
                // service's own proxy, for this part and the rest.
                if (!fallback_) fallback_reason_ = r.error;
                fallback_ = true;
                method_ = "chunked-s3";
            }
        }
        if (fallback_ && !r.ok && !stopping_) r = co_await proxied_part(number, *body, check);
    }
    if (!r.ok) {
        fail(r.code, r.error);
        co_return;
    }
    auto etag = r.response.header("ETag");
    if (!etag || etag->empty()) {
        fail(upload_errc::rejected, "part " + std::to_string(number) + ": the response has no ETag");
        co_return;
    }
    completed_[number - 1] = {number, *etag, check.type == protocol::integrity::kind::crc32c ? check.base64 : ""};
    if (etag->front() != '"') completed_[number - 1].etag = "\"" + *etag + "\"";
    ++parts_done_;
    acked(size);
}

void upload_job::spawn_part(std::uint32_t number, std::unique_ptr<body_source> body, protocol::integrity check) {
    ++in_flight_parts_;
    auto done = [this](std::exception_ptr e) {
        permits_.release();
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                fail(upload_errc::rejected, std::string("internal error: ") + ex.what());
            }
        }
        if (--in_flight_parts_ == 0) idle_signal_.cancel();
    };
    net::asio::co_spawn(ioc_, upload_part(number, std::move(body), std::move(check)), done);
}

net::awaitable<void> upload_job::wait_idle() {
    while (in_flight_parts_ > 0) {
        idle_signal_.expires_at(clock::time_point::max());
        auto [ec] = co_await idle_signal_.async_wait(net::use_nothrow);
        (void)ec;
    }
}

net::awaitable<bool> upload_job::complete_upload() {
    if (opt_.via) {
        boost::json::array parts;
        for (const auto& p : completed_) parts.push_back({{"PartNumber", p.part_number}, {"ETag", p.etag}});
        boost::json::object request{{"action", "complete"},
                                    {"uploadId", upload_id_},
                                    {"s3Key", s3_key_},
                                    {"uploadToken", upload_token_},
                                    {"parts", std::move(parts)}};
        auto r = co_await service_call("complete", std::move(request));
        if (!r) co_return false;
        completed_ok_ = true;
        if (auto* e = r->if_contains("etag"); e && e->is_string()) etag_ = std::string(e->as_string());
        if (auto* n = r->if_contains("size"); n && n->is_number()) confirmed_size_ = n->to_number<std::uint64_t>();
        co_return true;
    }
    auto r = co_await call(
        "CompleteMultipartUpload",
        [&] { return protocol::complete_multipart_upload(opt_.location, upload_id_, completed_); }, nullptr, true,
        opt_.max_attempts);
    if (!r.ok) {
        // A retried Complete can find the upload gone because an earlier attempt
        // succeeded and only its answer was lost: the object decides.
        if (r.s3_code == "NoSuchUpload" && r.attempts > 1) {
            completed_ok_ = true;
            co_return true;
        }
        fail(r.code, r.error);
        co_return false;
    }
    completed_ok_ = true;
    auto parsed = protocol::parse_complete(r.response.body);
    if (auto* v = std::get_if<protocol::complete_result>(&parsed)) etag_ = v->etag;
    co_return true;
}

net::awaitable<bool> upload_job::verify(std::uint64_t size) {
    if (opt_.via) {
        // The service checked the stored object (HeadObject) and reports its size;
        // a single presigned PUT's 200 with Content-MD5 is its own confirmation.
        if (multipart_ && confirmed_size_ != size) {
            fail(upload_errc::verification_failed,
                 "verification failed: the service reports " +
                     (confirmed_size_ ? std::to_string(*confirmed_size_) : std::string("no")) + " bytes, expected " +
                     std::to_string(size));
            co_return false;
        }
        co_return true;
    }
    auto r = co_await call(
        "HeadObject", [&] { return protocol::head_object(opt_.location); }, nullptr, true, opt_.max_attempts);
    if (!r.ok) {
        fail(upload_errc::verification_failed, "verification failed: " + r.error);
        co_return false;
    }
    auto length = r.response.header("Content-Length");
    if (!length || *length != std::to_string(size)) {
        fail(upload_errc::verification_failed, "verification failed: the stored object has " +
                                                   length.value_or("no") + " bytes, expected " +
                                                   std::to_string(size));
        co_return false;
    }
    if (etag_.empty()) etag_ = r.response.header("ETag").value_or("");
    co_return true;
}

net::awaitable<void> upload_job::abort_upload() {
    // Not cancellable: the abort is what cleans up after a cancel.
    if (opt_.via) {
        boost::json::object request{{"action", "abort"}, {"uploadId", upload_id_}, {"s3Key", s3_key_},
                                    {"uploadToken", upload_token_}};
        auto r = co_await service_call("abort", std::move(request), false);
        aborted_ = r.has_value();
        if (!aborted_) abort_error_ = "the service's abort failed";
        co_return;
    }
    auto r = co_await call(
        "AbortMultipartUpload", [&] { return protocol::abort_multipart_upload(opt_.location, upload_id_); },
        nullptr, false, 3);
    aborted_ = r.ok || r.s3_code == "NoSuchUpload";
    if (!aborted_) abort_error_ = r.error;
}

net::awaitable<bool> upload_job::put_object(body_source& body, protocol::integrity check) {
    multipart_ = false;
    method_ = opt_.via ? "single-put" : "put";
    parts_total_ = 1;
    std::uint64_t size = body.size();
    if (opt_.via) {
        boost::json::object request{{"action", "single"},
                                    {"fileName", opt_.via->file_name},
                                    {"fileSize", size},
                                    {"contentType", opt_.content_type}};
        auto r = co_await service_call("single", std::move(request));
        if (!r) co_return false;
        if (auto* k = r->if_contains("s3Key"); k && k->is_string()) s3_key_ = std::string(k->as_string());
        auto* url = r->if_contains("url");
        if (!url || !url->is_string()) {
            fail(upload_errc::rejected, "the service's single answer has no url");
            co_return false;
        }
        auto target = protocol::parse_presigned_url(url->as_string());
        auto build = [&] { return protocol::presigned_put(target, size, check); };
        call_spec spec{"single PUT", build, &body, true, opt_.max_attempts};
        auto put = co_await runner_.call(storage_pool(target.ep), std::move(spec));
        if (!put.ok) {
            fail(put.code, put.error);
            co_return false;
        }
        etag_ = put.response.header("ETag").value_or("");
        parts_done_ = 1;
        acked(size);
        co_return true;
    }
    auto r = co_await call(
        "PutObject", [&] { return protocol::put_object(opt_.location, size, check, opt_.content_type); }, &body, true,
        opt_.max_attempts);
    if (!r.ok) {
        fail(r.code, r.error);
        co_return false;
    }
    etag_ = r.response.header("ETag").value_or("");
    parts_done_ = 1;
    acked(size);
    co_return true;
}

// ---- via a presign service -------------------------------------------------------

connection_pool& upload_job::storage_pool(const protocol::endpoint& ep) {
    if (!pool_) pool_ = std::make_unique<connection_pool>(ioc_.get_executor(), make_pool_config(opt_, ep));
    return *pool_;
}

net::awaitable<std::optional<boost::json::object>> upload_job::service_call(std::string what, boost::json::object body,
                                                                            bool cancellable) {
    std::string text = boost::json::serialize(body);
    auto build = [&] {
        protocol::s3_request req;
        req.method = "POST";
        req.host = opt_.via->service.authority();
        req.raw_target = std::string(protocol::presigned_upload_path);
        req.headers = {{"Authorization", "Bearer " + opt_.via->bearer_token.reveal()},
                       {"Content-Type", "application/json"}};
        req.body = text;
        req.content_length = text.size();
        return req;
    };
    call_spec spec{"service " + what, build, nullptr, cancellable, opt_.max_attempts};
    auto r = co_await runner_.call(*service_pool_, std::move(spec));
    boost::system::error_code ec;
    auto answer = boost::json::parse(r.response.body, ec);
    if (!r.ok) {
        std::string message = r.error;
        if (!ec && answer.is_object())
            if (auto* e = answer.as_object().if_contains("error"); e && e->is_object())
                if (auto* m = e->as_object().if_contains("message"); m && m->is_string())
                    message = "service " + what + ": " + std::string(m->as_string()) + " (HTTP " +
                              std::to_string(r.status) + ")";
        if (cancellable) fail(r.code, message);
        co_return std::nullopt;
    }
    if (ec || !answer.is_object()) {
        if (cancellable) fail(upload_errc::rejected, "service " + what + ": the answer is not a JSON object");
        co_return std::nullopt;
    }
    co_return std::move(answer.as_object());
}

net::awaitable<bool> upload_job::service_start(std::uint64_t size) {
    boost::json::object request{{"action", "start"},
                                {"fileName", opt_.via->file_name},
                                {"fileSize", size},
                                {"contentType", opt_.content_type}};
    auto r = co_await service_call("start", std::move(request));
    if (!r) co_return false;
    try {
        upload_id_ = std::string(r->at("uploadId").as_string());
        s3_key_ = std::string(r->at("s3Key").as_string());
        upload_token_ = std::string(r->at("uploadToken").as_string());
        part_size_ = r->at("partSize").to_number<std::uint64_t>();
        for (const auto& u : r->at("presignedUrls").as_array())
            part_urls_[static_cast<std::uint32_t>(u.at("partNumber").to_number<std::uint64_t>())] =
                std::string(u.at("url").as_string());
    } catch (const std::exception& e) {
        fail(upload_errc::rejected, std::string("service start: unexpected answer: ") + e.what());
        co_return false;
    }
    urls_fetched_ = clock::now();
    co_return true;
}

net::awaitable<std::optional<std::string>> upload_job::part_url(std::uint32_t number) {
    // URLs live presign_expiry (an hour by default); refresh well before.
    bool stale = clock::now() - urls_fetched_ > std::chrono::minutes(30);
    if (stale) part_urls_.clear();
    if (auto it = part_urls_.find(number); it != part_urls_.end()) co_return it->second;
    boost::json::array numbers;
    for (std::uint32_t n = number; n < number + 100 && n <= parts_total_; ++n)
        if (!part_urls_.count(n)) numbers.push_back(n);
    boost::json::object request{{"action", "presign"},
                                {"uploadId", upload_id_},
                                {"s3Key", s3_key_},
                                {"uploadToken", upload_token_},
                                {"partNumbers", std::move(numbers)}};
    auto r = co_await service_call("presign", std::move(request));
    if (!r) co_return std::nullopt;
    if (stale) urls_fetched_ = clock::now();
    try {
        for (const auto& u : r->at("presignedUrls").as_array())
            part_urls_[static_cast<std::uint32_t>(u.at("partNumber").to_number<std::uint64_t>())] =
                std::string(u.at("url").as_string());
    } catch (const std::exception& e) {
        fail(upload_errc::rejected, std::string("service presign: unexpected answer: ") + e.what());
        co_return std::nullopt;
    }
    if (auto it = part_urls_.find(number); it != part_urls_.end()) co_return it->second;
    fail(upload_errc::rejected, "service presign: no URL for part " + std::to_string(number));
    co_return std::nullopt;
}

net::awaitable<call_result> upload_job::presigned_part(std::uint32_t number, body_source& body,
                                                       const protocol::integrity& check) {
    call_result r;
    for (int refresh = 0; refresh < 2; ++refresh) {
        auto url = co_await part_url(number);
        if (!url) {
            r.code = upload_errc::cancelled;
            r.error = "no URL";
            co_return r;
        }
        auto target = protocol::parse_presigned_url(*url);
        auto build = [&] { return protocol::presigned_put(target, body.size(), check); };
        call_spec spec{"part " + std::to_string(number), build, &body, true, opt_.max_attempts};
        r = co_await runner_.call(storage_pool(target.ep), std::move(spec));
        // An expired URL is not a refusal: get a fresh one and try again.
        bool expired = !r.ok && r.status == 403 && r.response.body.find("expired") != std::string::npos;
        if (!expired) break;
        part_urls_.erase(number);
        urls_fetched_ = {};
    }
    co_return r;
}

net::awaitable<call_result> upload_job::proxied_part(std::uint32_t number, body_source& body,
                                                     const protocol::integrity& check) {
    auto build = [&] {
        protocol::s3_request req;
        req.method = "PUT";
        req.host = opt_.via->service.authority();
        req.raw_target = "/v1/uploads/" + sigv4::uri_encode(upload_id_, false) + "/parts/" + std::to_string(number) +
                         "?key=" + sigv4::uri_encode(s3_key_, false);
        req.headers = {{"Authorization", "Bearer " + opt_.via->bearer_token.reveal()},
                       {"X-Upload-Token", upload_token_}};
        if (check.type == protocol::integrity::kind::md5) req.headers.push_back({"Content-MD5", check.base64});
        req.content_length = body.size();
        return req;
    };
    call_spec spec{"part " + std::to_string(number) + " (through the service)", build, &body, true,
                   opt_.max_attempts};
    co_return co_await runner_.call(*service_pool_, std::move(spec));
}

upload_result upload_job::result(std::uint64_t size) const {
    upload_result out;
    out.bytes = size;
    out.seconds = std::chrono::duration<double>(clock::now() - started_).count();
    out.parts = parts_done_;
    out.retries = retries_;
    for (const auto* p : {pool_.get(), service_pool_.get()}) {
        if (!p) continue;
        out.connections_opened += p->opened();
        out.connections_reused += p->reused();
        out.tls_resumed += p->resumed();
    }
    out.method = method_;
    out.etag = etag_;
    out.upload_id = upload_id_;
    out.checksum = std::string(protocol::to_string(checksum_));
    out.key = opt_.via ? s3_key_ : opt_.location.key;
    out.part_size = planned_part_size_;
    out.parts_in_flight = parts_in_flight_;
    out.congestion_control = congestion_control_;
    out.fallback_reason = fallback_reason_;
    return out;
}

// After the parts: complete and verify, or abort and throw.
net::awaitable<upload_result> upload_job::finish(std::uint64_t size) {
    co_await wait_idle();
    if (!failure_ && multipart_ && co_await complete_upload()) {
        if (co_await verify(size)) co_return result(size);
    } else if (!failure_ && !multipart_) {
        if (co_await verify(size)) co_return result(size);
    }
    if (!failure_) fail(upload_errc::rejected, "upload failed");
    auto [code, message] = *failure_;
    bool multipart_open = multipart_ && !upload_id_.empty() && !completed_ok_;
    if (multipart_open && !opt_.keep_on_failure) {
        co_await abort_upload();
        if (aborted_)
            message += " (multipart upload aborted)";
        else
            message += "; the abort failed too (" + abort_error_ + "): upload id " + upload_id_ +
                       " is left on the server";
    } else if (multipart_open) {
        message += " (kept multipart upload " + upload_id_ + " for reuse)";
    }
    throw upload_error(code, message, multipart_open ? upload_id_ : "", aborted_);
}

net::awaitable<upload_result> upload_job::run_file(const file_source& file) {
    std::uint64_t size = file.size();
    total_ = size;
    if (size < opt_.multipart_threshold || size == 0) {
        file_part_body body(file, 0, size);
        auto check = integrity_builder(checksum_);
        if (auto ec = file.scan(0, size, [&](const char* p, std::size_t len) { check.update(p, len); }))
            throw upload_error(upload_errc::source_changed, "cannot read '" + file.name() + "': " + ec.message());
        if (co_await put_object(body, check.finish()) && file.changed())
            fail(upload_errc::source_changed, "'" + file.name() + "' changed during the upload");
        co_return co_await finish(size);
    }

    // Via a service, the service chooses the part size (and presigns for it):
    // create first, then plan with its answer.
    protocol::part_plan plan;
    if (opt_.via) {
        if (!co_await create_upload()) co_return co_await finish(size);
        plan = protocol::plan_parts(size, part_size_);
    } else {
        std::uint64_t part_size = opt_.part_size;
        if (opt_.spread_small_files) part_size = protocol::spread_part_size(size, part_size, opt_.concurrency);
        plan = protocol::plan_parts(size, part_size);
    }
    parts_total_ = plan.part_count;
    planned_part_size_ = plan.part_size;
    completed_.resize(plan.part_count);
    // Parts in flight: fewer than --concurrency where more flows cannot help
    // (protocol::parts_in_flight; not fitted, the congestion control is left
    // out of it). The permits above that number are taken now and kept until
    // the job ends, so the part loop below runs unchanged.
    const auto cc = opt_.fit_parts_in_flight ? protocol::classify_congestion_control(congestion_control_)
                                             : protocol::congestion_response::unknown;
    parts_in_flight_ = protocol::parts_in_flight(opt_.concurrency, plan.part_count, cc);
    for (unsigned held = parts_in_flight_; held < opt_.concurrency; ++held)
        if (!permits_.try_acquire()) throw std::logic_error("permits taken before the first part");
    if (!opt_.via) {
        // Open the connections the first parts will use at once: Create takes
        // the first one ready, the others finish their handshakes meanwhile.
        pool_->warm(parts_in_flight_);
        if (!co_await create_upload()) co_return co_await finish(size);
    }
    report(true);

    for (std::uint32_t n = 1; n <= plan.part_count && !stopping_; ++n) {
        // The permit comes first: no part's coroutine or buffer exists without one.
        if (co_await permits_.acquire()) break;
        if (stopping_) {
            permits_.release();
            break;
        }
        // The part's integrity value, computed once and reused on every attempt.
        integrity_builder check(checksum_);
        net::error_code ec;
        if (checksum_ != protocol::integrity::kind::none)
            ec = file.scan(plan.offset(n), plan.size(n), [&](const char* p, std::size_t len) { check.update(p, len); });
        if (ec || file.changed()) {
            permits_.release();
            fail(upload_errc::source_changed, "'" + file.name() + "' changed during the upload (size or mtime)");
            break;
        }
        spawn_part(n, std::make_unique<file_part_body>(file, plan.offset(n), plan.size(n)), check.finish());
    }
    co_await wait_idle();
    if (!failure_ && file.changed())
        fail(upload_errc::source_changed, "'" + file.name() + "' changed during the upload (size or mtime)");
    co_return co_await finish(size);
}

net::awaitable<upload_result> upload_job::run_stream(int fd) {
    net::asio::posix::stream_descriptor in(ioc_, ::dup(fd));
    auto stream_plan = protocol::plan_stream(opt_.part_size);

    // Reads up to `want` bytes (less only at EOF).
    auto read_part = [&](std::uint64_t want) -> net::awaitable<std::tuple<net::error_code, std::string>> {
        std::string buf(want, '\0');
        auto [ec, n] = co_await net::asio::async_read(in, net::asio::buffer(buf), net::use_nothrow);
        buf.resize(n);
        if (ec == net::asio::error::eof) ec = {};
        co_return std::make_tuple(ec, std::move(buf));
    };

    std::uint64_t total = 0;
    if (co_await permits_.acquire()) co_return co_await finish(0);
    auto [ec, first] = co_await read_part(stream_plan.part_size(1));
    if (ec) throw upload_error(upload_errc::source_error, "cannot read the input stream: " + ec.message());
    total += first.size();
    if (first.size() < stream_plan.part_size(1) && first.size() < opt_.multipart_threshold) {
        permits_.release();
        total_ = first.size();
        memory_body body(std::move(first));
        co_await put_object(body, compute_integrity(checksum_, body.data()));
        co_return co_await finish(total);
    }
    if (!co_await create_upload()) {
        permits_.release();
        co_return co_await finish(total);
    }
    completed_.reserve(64);
    // A stream's part count is unknown until its end: every permit is used.
    parts_in_flight_ = opt_.concurrency;
    auto spawn_buffer = [&](std::uint32_t n, std::string data) {
        if (completed_.size() < n) completed_.resize(n);
        auto check = compute_integrity(checksum_, data);
        spawn_part(n, std::make_unique<memory_body>(std::move(data)), std::move(check));
    };
    spawn_buffer(1, std::move(first));
    for (std::uint32_t n = 2; !stopping_; ++n) {
        if (n > protocol::max_parts) {
            fail(upload_errc::invalid_argument, "the stream is longer than 10,000 parts can carry (" +
                                                    std::to_string(stream_plan.max_stream_size()) +
                                                    " bytes at this part size); use a larger --part-size");
            break;
        }
        if (co_await permits_.acquire()) break;
        auto [rec, data] = co_await read_part(stream_plan.part_size(n));
        if (rec) {
            permits_.release();
            fail(upload_errc::source_error, "cannot read the input stream: " + rec.message());
            break;
        }
        if (data.empty()) {
            permits_.release();
            break;
        }
        total += data.size();
        bool last = data.size() < stream_plan.part_size(n);
        spawn_buffer(n, std::move(data));
        if (last) break;
    }
    parts_total_ = static_cast<std::uint32_t>(completed_.size());
    total_ = total;
    co_return co_await finish(total);
}

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

template <class Run>
upload_result run_job(const upload_options& opt, progress_callback cb, cancel_token cancel, Run run) {
    validate(opt);
    net::asio::io_context ioc(1);
    std::unique_ptr<upload_job> job;
    try {
        job = std::make_unique<upload_job>(ioc, opt, std::move(cb));
    } catch (const std::runtime_error& e) {  // TLS setup (CA bundle)
        throw upload_error(upload_errc::invalid_argument, e.what());
    }
    cancel_binding binding(cancel, ioc.get_executor(),
                           [j = job.get()] { j->fail(upload_errc::cancelled, "cancelled"); });
    if (cancel.cancelled()) job->fail(upload_errc::cancelled, "cancelled");

    std::optional<upload_result> result;
    std::exception_ptr error;
    auto main = run(*job);
    net::asio::co_spawn(ioc, std::move(main), [&](std::exception_ptr e, upload_result r) {
        if (e) error = e;
        else result = std::move(r);
    });
    ioc.run();
    if (error) std::rethrow_exception(error);
    if (!result) throw upload_error(upload_errc::rejected, "internal error: the upload did not finish");
    return *result;
}

} // namespace
} // namespace detail

upload_result upload_file(const std::string& path, const upload_options& options, progress_callback on_progress,
                          cancel_token cancel) {
    if (path == "-") {
        struct stat st {};
        if (::fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {
            auto file = std::make_shared<detail::file_source>(detail::file_source::adopt(0, "<stdin>"));
            return detail::run_job(options, std::move(on_progress), cancel,
                                   [file](detail::upload_job& job) { return job.run_file(*file); });
        }
        return upload_stream(0, options, std::move(on_progress), cancel);
    }
    detail::validate(options);
    auto file = std::make_shared<detail::file_source>(detail::file_source::open(path));
    return detail::run_job(options, std::move(on_progress), cancel,
                           [file](detail::upload_job& job) { return job.run_file(*file); });
}

upload_result upload_stream(int fd, const upload_options& options, progress_callback on_progress,
                            cancel_token cancel) {
    return detail::run_job(options, std::move(on_progress), cancel,
                           [fd](detail::upload_job& job) { return job.run_stream(fd); });
}

} // namespace hoist::engine
