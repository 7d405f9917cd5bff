// The presign-service backend (`hoist cp --via`): the service (`hoist serve`)
// holds the credentials. It creates the upload and presigns part URLs; parts
// go straight to the storage with them; when presigned PUTs are refused or
// blocked, the parts go through the service's proxy route instead (the
// product's fallback), for that part and the rest. The wire format is
// protocol/presign/wire.hpp, the same one the service speaks.
#include "backend.hpp"
#include "client_core.hpp"

#include "hoist/protocol/presign/proxy_route.hpp"
#include "hoist/protocol/presign/wire.hpp"
#include "hoist/protocol/s3/xml.hpp"

#include <map>

namespace hoist::engine::detail {
namespace {

using wall_clock = std::chrono::system_clock;

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(wall_clock::now().time_since_epoch()).count();
}

class via_backend final : public upload_backend {
public:
    via_backend(client_core& core, const upload_options& opt, request_runner& runner)
        : core_(core), opt_(opt), runner_(runner), service_(core.pool(opt.via->service, opt)), service_usage_(service_) {}

    // Presigned URLs sign only Host: an x-amz-checksum-* header would be refused
    // as unsigned; Content-MD5 is allowed. So through a service, crc32c becomes md5.
    protocol::integrity::kind checksum() const override {
        return opt_.checksum == protocol::integrity::kind::crc32c ? protocol::integrity::kind::md5 : opt_.checksum;
    }
    std::string multipart_method() const override { return fallback_ ? "chunked-s3" : "presigned-s3"; }
    std::string single_method() const override { return "single-put"; }
    const std::string& upload_id() const override { return upload_.upload_id; }
    std::string key() const override { return upload_.s3_key; }
    std::string fallback_reason() const override { return fallback_reason_; }
    void count_connections(upload_result& r) const override {
        service_usage_.add_to(r);
        if (storage_usage_) storage_usage_->add_to(r);
    }

    net::awaitable<std::optional<std::uint64_t>> create(std::optional<std::uint64_t> size) override {
        protocol::start_request request{opt_.via->file_name, size.value_or(0), opt_.content_type, std::nullopt};
        auto body = co_await service_call("start", protocol::request_json(request));
        auto answer = parse("start", [&] { return protocol::parse_start_response(body); });
        upload_.upload_id = answer.upload_id;
        upload_.s3_key = answer.s3_key;
        upload_.upload_token = answer.upload_token;
        remember(answer.presigned_urls, answer.expires_at);
        // The service presigns at most its url_batch parts a call, and start
        // hands out that many (or the whole plan): later batches stay within it.
        batch_ = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(answer.presigned_urls.size()));
        co_return answer.part_size;
    }

    net::awaitable<stored_body> upload_part(std::uint32_t number, body_source& body, const protocol::integrity& check,
                                            std::optional<std::uint32_t> parts_total) override {
        call_result r;
        if (!fallback_) {
            r = co_await presigned_part(number, body, check, parts_total);
            bool refused = !r.ok && (r.code == upload_errc::rejected || r.code == upload_errc::retries_exhausted);
            if (refused && !runner_.stopping()) {
                // Presigned PUTs refused or blocked: the service's own proxy, for
                // this part and the rest.
                if (!fallback_) fallback_reason_ = r.error;
                fallback_ = true;
            }
        }
        if (fallback_ && !r.ok && !runner_.stopping()) r = co_await proxied_part(number, body, check);
        if (!r.ok) throw step_error::from(r);
        auto etag = r.response.header("ETag");
        if (!etag || etag->empty())
            throw step_error(upload_errc::rejected, "part " + std::to_string(number) + ": the response has no ETag");
        co_return stored_body{*etag, std::nullopt};
    }

    net::awaitable<std::string> complete(const std::vector<protocol::completed_part>& parts) override {
        protocol::complete_request request{upload_, parts};
        auto body = co_await service_call("complete", protocol::request_json(request), /*cancellable=*/false);
        auto answer = parse("complete", [&] { return protocol::parse_complete_response(body); });
        confirmed_size_ = answer.size;
        co_return answer.etag;
    }

    net::awaitable<upload_state> state() override {
        protocol::list_parts_request request{upload_};
        std::string text = protocol::request_json(request);
        auto r = co_await call_service("list-parts", text, false);
        if (r.ok) co_return upload_state::open;
        if (r.status == 404) co_return upload_state::gone;   // the service's no_such_upload
        throw failure("list-parts", r);
    }

    net::awaitable<std::optional<std::vector<protocol::part_info>>> list_parts() override {
        protocol::list_parts_request request{upload_};
        auto r = co_await call_service("list-parts", protocol::request_json(request), true);
        if (!r.ok && r.status == 404) co_return std::nullopt;   // the service's no_such_upload
        if (!r.ok) throw failure("list-parts", r);
        auto answer = parse("list-parts", [&] { return protocol::parse_list_parts_response(r.response.body); });
        co_return std::move(answer.parts);
    }

    std::string destination() const override {
        return "via\n" + opt_.via->service.origin() + "\n" + opt_.via->file_name;
    }
    upload_handle handle() const override { return {upload_.upload_id, upload_.s3_key, upload_.upload_token}; }
    void adopt(const upload_handle& h) override {
        upload_.upload_id = h.upload_id;
        upload_.s3_key = h.s3_key;
        upload_.upload_token = h.upload_token;
        part_urls_.clear();
        // The service's url_batch is learnt from start's answer only, and a
        // presign call above it is refused: one URL a call is always accepted.
        batch_ = 1;
    }

    // The service checked the stored object (HeadObject) and reported its size
    // at Complete; a single presigned PUT's 200 with Content-MD5 is its own
    // confirmation.
    net::awaitable<std::string> verify(std::uint64_t size) override {
        if (!upload_.upload_id.empty() && confirmed_size_ != size)
            throw step_error(upload_errc::verification_failed,
                             "verification failed: the service reports " +
                                 (confirmed_size_ ? std::to_string(*confirmed_size_) : std::string("no")) +
                                 " bytes, expected " + std::to_string(size));
        co_return std::string();
    }

    net::awaitable<void> abort() override {
        protocol::abort_request request{upload_};
        co_await service_call("abort", protocol::request_json(request), /*cancellable=*/false);
    }

    net::awaitable<stored_body> put_object(body_source& body, const protocol::integrity& check) override {
        const std::uint64_t size = body.size();
        protocol::single_request request{opt_.via->file_name, size, opt_.content_type};
        auto text = co_await service_call("single", protocol::request_json(request));
        auto answer = parse("single", [&] { return protocol::parse_single_response(text); });
        upload_.s3_key = answer.s3_key;
        auto target = protocol::parse_presigned_url(answer.url);
        auto build = [&] { return protocol::presigned_put(target, size, check); };
        call_spec spec{"single PUT", build, &body, true, opt_.max_attempts};
        auto r = co_await runner_.call(storage(target.ep), std::move(spec));
        if (!r.ok) throw step_error::from(r);
        co_return stored_body{r.response.header("ETag").value_or(""), std::nullopt};
    }

private:
    // ---- the service's JSON calls -------------------------------------------------

    net::awaitable<call_result> call_service(std::string what, const std::string& json, bool cancellable) {
        auto build = [&] {
            protocol::s3_request req;
            req.method = "POST";
            req.host = opt_.via->service.authority();
            req.raw_target = std::string(protocol::presigned_upload_path);
            req.headers = {{"Authorization", "Bearer " + opt_.via->bearer_token.reveal()},
                           {"Content-Type", "application/json"}};
            req.body = json;
            req.content_length = json.size();
            return req;
        };
        call_spec spec{"service " + what, build, nullptr, cancellable, opt_.max_attempts};
        co_return co_await runner_.call(service_, std::move(spec));
    }

    // The failure of a service call, with the service's own message when it sent one.
    static step_error failure(const std::string& what, const call_result& r) {
        if (auto e = protocol::parse_error_response(r.response.body, static_cast<int>(r.status)))
            return step_error(r.code, "service " + what + ": " + e->message + " (HTTP " + std::to_string(r.status) + ")",
                              e->code, r.status, r.attempts);
        return step_error::from(r);
    }

    // POSTs one action; the answer's body, or the step's failure.
    net::awaitable<std::string> service_call(std::string what, std::string json, bool cancellable = true) {
        auto r = co_await call_service(what, json, cancellable);
        if (!r.ok) throw failure(what, r);
        co_return std::move(r.response.body);
    }

    template <class Parse>
    static auto parse(const std::string& what, Parse&& parse_answer) -> decltype(parse_answer()) {
        try {
            return parse_answer();
        } catch (const protocol::wire_error& e) {
            throw step_error(upload_errc::rejected, "service " + what + ": unexpected answer: " + e.what());
        }
    }

    // ---- part URLs ------------------------------------------------------------------

    void remember(const std::vector<protocol::presigned_part>& urls, std::int64_t expires_at) {
        for (const auto& u : urls) part_urls_[u.part_number] = {u.url, expires_at};
    }

    // A part's URL: cached while it has some life left, else presigned again
    // together with the next ones. The life left must cover the request's
    // start (S3 checks the expiry when the request arrives): a minute, or a
    // quarter of a short lifetime.
    net::awaitable<std::string> part_url(std::uint32_t number, std::optional<std::uint32_t> parts_total) {
        if (auto it = part_urls_.find(number); it != part_urls_.end() && !stale(it->second)) co_return it->second.url;
        // The batch: this part and the next ones, within the plan when it is
        // known (a stream's part count is not: up to S3's 10,000).
        const std::uint32_t last = parts_total.value_or(protocol::max_parts);
        protocol::presign_request request{upload_, {}};
        for (std::uint32_t n = number; n < number + batch_ && n <= last; ++n) {
            auto it = part_urls_.find(n);
            if (it == part_urls_.end() || stale(it->second)) request.part_numbers.push_back(n);
        }
        auto body = co_await service_call("presign", protocol::request_json(request));
        auto answer = parse("presign", [&] { return protocol::parse_presign_response(body); });
        remember(answer.presigned_urls, answer.expires_at);
        auto it = part_urls_.find(number);
        if (it == part_urls_.end())
            throw step_error(upload_errc::rejected, "service presign: no URL for part " + std::to_string(number));
        co_return it->second.url;
    }

    struct cached_url {
        std::string url;
        std::int64_t expires_at = 0;   // unix seconds
    };
    static bool stale(const cached_url& u) {
        auto now = unix_now();
        std::int64_t margin = std::min<std::int64_t>(60, std::max<std::int64_t>(0, u.expires_at - now) / 4);
        return now + margin >= u.expires_at;
    }

    static bool expired(const call_result& r) {
        if (r.ok || r.status != 403) return false;
        auto err = protocol::parse_error(r.response.body);
        return err && err->code == "AccessDenied" && err->message == "Request has expired";
    }

    net::awaitable<call_result> presigned_part(std::uint32_t number, body_source& body, const protocol::integrity& check,
                                               std::optional<std::uint32_t> parts_total) {
        call_result r;
        for (int refresh = 0; refresh < 2; ++refresh) {
            auto url = co_await part_url(number, parts_total);
            auto target = protocol::parse_presigned_url(url);
            auto build = [&] { return protocol::presigned_put(target, body.size(), check); };
            call_spec spec{"part " + std::to_string(number), build, &body, true, opt_.max_attempts};
            r = co_await runner_.call(storage(target.ep), std::move(spec));
            // An expired URL (clock skew, a long stall) is not a refusal: get a fresh one.
            if (!expired(r)) break;
            part_urls_.erase(number);
        }
        co_return r;
    }

    net::awaitable<call_result> proxied_part(std::uint32_t number, body_source& body, const protocol::integrity& check) {
        auto target = protocol::proxy_part_target({upload_.upload_id, number, upload_.s3_key});
        auto build = [&] {
            protocol::s3_request req;
            req.method = "PUT";
            req.host = opt_.via->service.authority();
            req.raw_target = target;
            req.headers = {{"Authorization", "Bearer " + opt_.via->bearer_token.reveal()},
                           {"X-Upload-Token", upload_.upload_token}};
            if (check.type == protocol::integrity::kind::md5) req.headers.push_back({"Content-MD5", check.base64});
            req.content_length = body.size();
            return req;
        };
        call_spec spec{"part " + std::to_string(number) + " (through the service)", build, &body, true,
                       opt_.max_attempts};
        co_return co_await runner_.call(service_, std::move(spec));
    }

    // The storage pool for presigned URLs: the host of the first URL.
    connection_pool& storage(const protocol::endpoint& ep) {
        if (!storage_) {
            storage_ = &core_.pool(ep, opt_);
            storage_usage_.emplace(*storage_);
        }
        return *storage_;
    }

    client_core& core_;
    const upload_options& opt_;
    request_runner& runner_;
    connection_pool& service_;
    pool_usage service_usage_;
    connection_pool* storage_ = nullptr;
    std::optional<pool_usage> storage_usage_;
    protocol::upload_ref upload_;
    std::map<std::uint32_t, cached_url> part_urls_;
    std::optional<std::uint64_t> confirmed_size_;
    std::uint32_t batch_ = 1;   // part URLs per presign call
    bool fallback_ = false;
    std::string fallback_reason_;
};

} // namespace

std::unique_ptr<upload_backend> make_via_backend(client_core& core, const upload_options& options,
                                                 request_runner& runner) {
    return std::make_unique<via_backend>(core, options, runner);
}

} // namespace hoist::engine::detail
