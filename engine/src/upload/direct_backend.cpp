// The direct backend: every request signed with our own credentials (SigV4,
// UNSIGNED-PAYLOAD, a fresh X-Amz-Date per attempt) and sent to the storage.
#include "backend.hpp"
#include "client_core.hpp"

#include "hoist/protocol/s3/xml.hpp"

namespace hoist::engine::detail {
namespace {

class direct_backend final : public upload_backend {
public:
    direct_backend(client_core& core, const upload_options& opt, request_runner& runner)
        : opt_(opt), runner_(runner), pool_(core.pool(opt.location.ep, opt)), usage_(pool_),
          check_(core.crc32c_check_of(opt.location.ep)) {}

    protocol::integrity::kind checksum() const override { return opt_.checksum; }
    std::string multipart_method() const override { return "multipart"; }
    std::string single_method() const override { return "put"; }
    const std::string& upload_id() const override { return upload_id_; }
    std::string key() const override { return opt_.location.key; }
    void warm(std::size_t n) override { pool_.warm(n); }
    void count_connections(upload_result& r) const override { usage_.add_to(r); }

    net::awaitable<std::optional<std::uint64_t>> create(std::optional<std::uint64_t>) override {
        auto r = co_await call(
            "CreateMultipartUpload",
            [&] { return protocol::create_multipart_upload(opt_.location, opt_.checksum, opt_.content_type); });
        auto parsed = protocol::parse_initiate(r.response.body);
        if (auto* v = std::get_if<protocol::initiate_result>(&parsed)) {
            upload_id_ = v->upload_id;
            co_return std::nullopt;
        }
        throw step_error(upload_errc::rejected, "CreateMultipartUpload: unexpected answer: " +
                                                    (std::holds_alternative<protocol::xml_problem>(parsed)
                                                         ? std::get<protocol::xml_problem>(parsed).what
                                                         : std::get<protocol::s3_error>(parsed).code));
    }

    // Until an answer shows the endpoint checks CRC32C, Content-MD5 rides
    // beside it: the first parts of the first upload to a store that ignores
    // CRC32C are checked too, not only those sent after we learnt it.
    bool wants_content_md5() const override { return check_ != client_core::crc32c_check::echoed; }
    void learn(const protocol::integrity& sent, const stored_body& answer) override {
        if (sent.type != protocol::integrity::kind::crc32c || check_ == client_core::crc32c_check::echoed) return;
        // An echo of a different value is a store that computed something else:
        // not a check we can rely on either.
        check_ = answer.echoed_crc32c && *answer.echoed_crc32c == sent.base64 ? client_core::crc32c_check::echoed
                                                                              : client_core::crc32c_check::ignored;
    }

    net::awaitable<stored_body> upload_part(std::uint32_t number, body_source& body, const protocol::integrity& check,
                                            std::optional<std::uint32_t>) override {
        const std::uint64_t size = body.size();
        auto r = co_await call(
            "part " + std::to_string(number),
            [&] { return protocol::upload_part(opt_.location, upload_id_, number, size, check); }, &body);
        co_return stored_body{etag_of(r, "part " + std::to_string(number)), r.response.header("x-amz-checksum-crc32c")};
    }

    net::awaitable<std::string> complete(const std::vector<protocol::completed_part>& parts) override {
        auto r = co_await call(
            "CompleteMultipartUpload",
            [&] { return protocol::complete_multipart_upload(opt_.location, upload_id_, parts); }, nullptr,
            /*cancellable=*/false);
        auto parsed = protocol::parse_complete(r.response.body);
        if (auto* v = std::get_if<protocol::complete_result>(&parsed)) co_return v->etag;
        co_return std::string();
    }

    net::awaitable<upload_state> state() override {
        auto r = co_await attempt("ListParts", [&] { return protocol::list_parts(opt_.location, upload_id_, 0); },
                                  nullptr, false, 3);
        if (r.ok) co_return upload_state::open;
        if (r.s3_code == "NoSuchUpload") co_return upload_state::gone;
        throw step_error::from(r);
    }

    net::awaitable<std::optional<std::vector<protocol::part_info>>> list_parts() override {
        std::vector<protocol::part_info> parts;
        std::uint32_t marker = 0;
        // 10,000 parts at S3's 1,000 a page, plus slack for a server with smaller pages;
        // a marker that does not advance ends the walk.
        for (int page = 0; page < 10'001; ++page) {
            auto r = co_await attempt(
                "ListParts", [&] { return protocol::list_parts(opt_.location, upload_id_, marker); }, nullptr, true,
                opt_.max_attempts);
            if (!r.ok && r.s3_code == "NoSuchUpload") co_return std::nullopt;
            if (!r.ok) throw step_error::from(r);
            auto parsed = protocol::parse_list_parts(r.response.body);
            auto* p = std::get_if<protocol::list_parts_page>(&parsed);
            if (!p) throw step_error(upload_errc::rejected, "ListParts: unexpected answer");
            parts.insert(parts.end(), p->parts.begin(), p->parts.end());
            if (!p->is_truncated || p->next_part_number_marker <= marker) break;
            marker = p->next_part_number_marker;
        }
        co_return parts;
    }

    std::string destination() const override {
        return "s3\n" + opt_.location.ep.origin() + "\n" + opt_.location.bucket + "\n" + opt_.location.key;
    }
    upload_handle handle() const override { return {upload_id_, opt_.location.key, {}}; }
    void adopt(const upload_handle& h) override { upload_id_ = h.upload_id; }

    net::awaitable<std::string> verify(std::uint64_t size) override {
        // A PutObject whose answer proved the server checked our checksum
        // needs no HeadObject: for many small files that is half the requests.
        if (put_confirmed_) co_return put_etag_;
        // Not cancellable: it runs after the object is stored (a cancel then is too late).
        auto r = co_await attempt("HeadObject", [&] { return protocol::head_object(opt_.location); }, nullptr, false,
                                  opt_.max_attempts);
        if (!r.ok) throw step_error(upload_errc::verification_failed, "verification failed: " + r.error);
        auto length = r.response.header("Content-Length");
        if (!length || *length != std::to_string(size))
            throw step_error(upload_errc::verification_failed, "verification failed: the stored object has " +
                                                                   length.value_or("no") + " bytes, expected " +
                                                                   std::to_string(size));
        co_return r.response.header("ETag").value_or("");
    }

    net::awaitable<void> abort() override {
        // Not cancellable: the abort is what cleans up after a cancel.
        auto r = co_await attempt(
            "AbortMultipartUpload", [&] { return protocol::abort_multipart_upload(opt_.location, upload_id_); },
            nullptr, false, 3);
        if (!r.ok && r.s3_code != "NoSuchUpload") throw step_error::from(r);
    }

    net::awaitable<stored_body> put_object(body_source& body, const protocol::integrity& check) override {
        const std::uint64_t size = body.size();
        auto r = co_await call(
            "PutObject", [&] { return protocol::put_object(opt_.location, size, check, opt_.content_type); }, &body);
        put_etag_ = r.response.header("ETag").value_or("");
        auto echoed = r.response.header("x-amz-checksum-crc32c");
        put_confirmed_ = protocol::integrity_confirmed(check, echoed, put_etag_);
        co_return stored_body{put_etag_, std::move(echoed)};
    }

private:
    // One signed call (each attempt signed at its own time); failures are values.
    net::awaitable<call_result> attempt(std::string what, std::function<protocol::s3_request()> build,
                                        body_source* body, bool cancellable, unsigned attempts) {
        // A named spec, not a braced temporary: g++ 12 destroys a braced
        // by-value argument of a co_awaited coroutine call twice.
        call_spec s{std::move(what), signed_each_attempt(std::move(build), *opt_.signer, opt_.region), body,
                    cancellable, attempts};
        co_return co_await runner_.call(pool_, std::move(s));
    }

    // One signed call whose failure is the step's failure.
    net::awaitable<call_result> call(std::string what, std::function<protocol::s3_request()> build,
                                     body_source* body = nullptr, bool cancellable = true) {
        auto r = co_await attempt(std::move(what), std::move(build), body, cancellable, opt_.max_attempts);
        if (!r.ok) throw step_error::from(r);
        co_return r;
    }

    static std::string etag_of(const call_result& r, const std::string& what) {
        auto etag = r.response.header("ETag");
        if (!etag || etag->empty()) throw step_error(upload_errc::rejected, what + ": the response has no ETag");
        return *etag;
    }

    const upload_options& opt_;
    request_runner& runner_;
    connection_pool& pool_;
    pool_usage usage_;
    std::string upload_id_;
    client_core::crc32c_check& check_;   // the client's knowledge of this endpoint, shared by its uploads
    bool put_confirmed_ = false;   // the PutObject's answer proved our checksum (integrity_confirmed)
    std::string put_etag_;
};

} // namespace

std::unique_ptr<upload_backend> make_direct_backend(client_core& core, const upload_options& options,
                                                    request_runner& runner) {
    return std::make_unique<direct_backend>(core, options, runner);
}

} // namespace hoist::engine::detail
