// Bucket-level operations (bucket.hpp): ListMultipartUploads (+ ListParts),
// AbortMultipartUpload and ListObjectsV2, each a coroutine on the client's
// executor driven by a request_runner of its own over the client's pools, and
// waited for by the calling thread.
#include "client_core.hpp"
#include "request_runner.hpp"
#include "task_group.hpp"

#include "hoist/engine/bucket.hpp"
#include "hoist/engine/client.hpp"
#include "hoist/protocol/s3/requests.hpp"
#include "hoist/protocol/s3/xml.hpp"

#include <boost/asio/co_spawn.hpp>

#include <future>
#include <set>
#include <type_traits>
#include <utility>

namespace hoist::engine {
namespace {

using detail::call_result;
using detail::call_spec;
using detail::client_core;
using detail::request_runner;

// Bounds on paging, so that a server whose markers never end cannot keep a
// listing going forever: S3 has at most 10,000 parts per upload (10 pages).
constexpr unsigned max_part_pages = 10;
// ListParts calls in flight when counting parts: a bucket with thousands of
// orphaned uploads would otherwise cost thousands of round trips in a row.
constexpr std::size_t part_counters = 8;

void require_bucket(const upload_options& bucket, const char* what) {
    if (!bucket.location.key.empty())
        throw std::invalid_argument(std::string(what) + ": the location must be a bucket (empty key), not an object");
    if (!bucket.signer) throw std::invalid_argument(std::string(what) + ": no signer (credentials) given");
}

// " (request id R1)": what S3 support asks for. From the <Error> body (or
// `id` when the caller has it), else the x-amz-request-id header; "" if none.
std::string request_id_suffix(const call_result& r, std::string id = {}) {
    if (id.empty())
        if (auto err = protocol::parse_error(r.response.body)) id = err->request_id;
    if (id.empty()) id = r.response.header("x-amz-request-id").value_or("");
    return id.empty() ? std::string() : " (request id " + id + ")";
}

// A failed call: the runner's line names the call, the status and the S3
// code ("ListObjectsV2: 403 AccessDenied: Access Denied"); the id is added.
upload_error failed(const call_result& r) { return upload_error(r.code, r.error + request_id_suffix(r)); }

// A 2xx whose body is not the expected document: an <Error> in it, or not S3's XML.
template <class T>
T value_or_throw(protocol::parsed<T> parsed, const call_result& r, const std::string& what) {
    if (auto* v = std::get_if<T>(&parsed)) return std::move(*v);
    if (auto* e = std::get_if<protocol::s3_error>(&parsed))
        throw upload_error(upload_errc::rejected,
                           what + ": " + e->code + ": " + e->message + request_id_suffix(r, e->request_id));
    throw upload_error(upload_errc::rejected, what + ": unexpected answer: " +
                                                  std::get<protocol::xml_problem>(parsed).what + request_id_suffix(r));
}

// One signed call with the options' retry policy, on the client's pool for
// the endpoint. The runner lives in the caller's coroutine frame.
net::awaitable<call_result> signed_call(client_core& core, request_runner& runner, const upload_options& opt,
                                        std::string what, std::function<protocol::s3_request()> build) {
    // A named spec, not a braced temporary (g++ 12, see direct_backend.cpp).
    call_spec spec{std::move(what), detail::signed_each_attempt(std::move(build), *opt.signer, opt.region), nullptr,
                   true, opt.max_attempts};
    co_return co_await runner.call(core.pool(opt.location.ep, opt), std::move(spec));
}

std::unique_ptr<request_runner> runner_for(client_core& core, const upload_options& opt) {
    return std::make_unique<request_runner>(
        core.executor(), backoff_policy{opt.backoff_base, opt.backoff_cap, 5, opt.backoff_jitter}, opt.seed,
        detail::exchange_timeouts{opt.stall_timeout, opt.response_timeout}, opt.slice_size);
}

protocol::object_location with_key(protocol::object_location bucket_location, const std::string& key) {
    // The same endpoint and addressing as the bucket's location: only the path grows.
    bucket_location.key = key;
    bucket_location.path += (bucket_location.path.ends_with('/') ? "" : "/") + key;
    return bucket_location;
}

struct part_count {
    std::uint32_t parts = 0;
    std::uint64_t bytes = 0;
};

// Counts the parts and bytes of one upload (all ListParts pages); nullopt
// when the upload is gone.
net::awaitable<std::optional<part_count>> count_parts(client_core& core, request_runner& runner,
                                                      const upload_options& bucket, const std::string& key,
                                                      const std::string& upload_id) {
    auto object = with_key(bucket.location, key);
    std::uint32_t parts = 0;
    std::uint64_t bytes = 0;
    std::uint32_t marker = 0;
    for (unsigned page = 0;; ++page) {
        if (page == max_part_pages)
            throw upload_error(upload_errc::rejected, "ListParts " + key + ": more than " +
                                                          std::to_string(max_part_pages) + " pages of parts");
        auto r = co_await signed_call(core, runner, bucket, "ListParts " + key,
                                      [&] { return protocol::list_parts(object, upload_id, marker); });
        if (!r.ok && r.s3_code == "NoSuchUpload") co_return std::nullopt;
        if (!r.ok) throw failed(r);
        auto listed = value_or_throw(protocol::parse_list_parts(r.response.body), r, "ListParts " + key);
        for (const auto& p : listed.parts) {
            ++parts;
            bytes += p.size;
        }
        if (!listed.is_truncated) break;
        if (listed.next_part_number_marker <= marker)
            throw upload_error(upload_errc::rejected, "ListParts " + key + ": the part marker did not advance");
        marker = listed.next_part_number_marker;
    }
    co_return part_count{parts, bytes};
}

// One of list_uploads_on's workers: counts uploads[next++] until none is
// left. The references are the awaiting coroutine's locals, which outlive
// every worker (it joins them).
net::awaitable<void> count_parts_worker(client_core& core, request_runner& runner, const upload_options& bucket,
                                        const std::vector<multipart_upload>& uploads,
                                        std::vector<std::optional<part_count>>& counts, std::size_t& next) {
    while (next < uploads.size()) {
        const std::size_t i = next++;
        counts[i] = co_await count_parts(core, runner, bucket, uploads[i].key, uploads[i].upload_id);
    }
}

net::awaitable<std::vector<multipart_upload>> list_uploads_on(client_core& core, upload_options bucket,
                                                              std::string prefix, list_uploads_options options) {
    auto runner = runner_for(core, bucket);
    std::vector<multipart_upload> out;
    std::string key_marker, id_marker;
    for (;;) {
        auto r = co_await signed_call(core, *runner, bucket, "ListMultipartUploads", [&] {
            return protocol::list_multipart_uploads(bucket.location, prefix, key_marker, id_marker);
        });
        if (!r.ok) throw failed(r);
        auto page = value_or_throw(protocol::parse_list_uploads(r.response.body), r, "ListMultipartUploads");
        for (auto& u : page.uploads) {
            if (out.size() == options.max_uploads)
                throw upload_error(upload_errc::rejected, "ListMultipartUploads: more than " +
                                                              std::to_string(options.max_uploads) +
                                                              " uploads in progress under the prefix");
            out.push_back({std::move(u.key), std::move(u.upload_id), std::move(u.initiated), {}, {}});
        }
        if (!page.is_truncated) break;
        // A page that does not move the markers forward would be asked for again forever.
        if (std::tie(page.next_key_marker, page.next_upload_id_marker) <= std::tie(key_marker, id_marker))
            throw upload_error(upload_errc::rejected, "ListMultipartUploads: the markers did not advance (key " +
                                                          page.next_key_marker + ")");
        key_marker = std::move(page.next_key_marker);
        id_marker = std::move(page.next_upload_id_marker);
    }
    if (!options.count_parts) co_return out;

    // Up to part_counters workers take the next upload until none is left.
    // The first failure stops the runner, which cuts the others' calls.
    std::vector<std::optional<part_count>> counts(out.size());
    std::size_t next = 0;
    std::exception_ptr first_failure;
    detail::task_group workers(core.executor());
    for (std::size_t i = 0; i < std::min(part_counters, out.size()); ++i) {
        auto on_done = [&first_failure, &runner](std::exception_ptr e) {
            if (!e || first_failure) return;
            first_failure = e;
            runner->stop();
        };
        workers.spawn(count_parts_worker(core, *runner, bucket, out, counts, next), on_done);
    }
    co_await workers.join();
    if (first_failure) std::rethrow_exception(first_failure);

    std::vector<multipart_upload> counted;
    counted.reserve(out.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (!counts[i]) continue;   // completed or aborted meanwhile
        out[i].parts = counts[i]->parts;
        out[i].bytes = counts[i]->bytes;
        counted.push_back(std::move(out[i]));
    }
    co_return counted;
}

net::awaitable<void> abort_on(client_core& core, upload_options object, std::string upload_id) {
    auto runner = runner_for(core, object);
    auto r = co_await signed_call(core, *runner, object, "AbortMultipartUpload " + object.location.key,
                                  [&] { return protocol::abort_multipart_upload(object.location, upload_id); });
    if (!r.ok && r.s3_code != "NoSuchUpload") throw failed(r);
}

net::awaitable<protocol::list_objects_page> list_objects_on(client_core& core, upload_options bucket, std::string prefix,
                                                            std::string token, std::uint32_t page_size) {
    auto runner = runner_for(core, bucket);
    auto r = co_await signed_call(core, *runner, bucket, "ListObjectsV2",
                                  [&] { return protocol::list_objects_v2(bucket.location, prefix, token, page_size); });
    if (!r.ok) throw failed(r);
    co_return value_or_throw(protocol::parse_list_objects(r.response.body), r, "ListObjectsV2");
}

// One of delete_on's workers: sends batches[next++] until none is left.
net::awaitable<void> delete_worker(client_core& core, request_runner& runner, const upload_options& bucket,
                                   const std::vector<std::vector<std::string>>& batches, std::size_t& next,
                                   delete_outcome& out) {
    while (next < batches.size()) {
        const auto& keys = batches[next++];
        auto r = co_await signed_call(core, runner, bucket, "DeleteObjects",
                                      [&] { return protocol::delete_objects(bucket.location, keys); });
        if (!r.ok) throw failed(r);
        auto result = value_or_throw(protocol::parse_delete_result(r.response.body), r, "DeleteObjects");
        out.deleted += keys.size() - std::min(keys.size(), result.errors.size());
        for (auto& f : result.errors) out.failures.push_back(std::move(f));
    }
}

net::awaitable<delete_outcome> delete_on(client_core& core, upload_options bucket, std::vector<std::string> keys,
                                         std::size_t in_flight) {
    auto runner = runner_for(core, bucket);
    std::vector<std::vector<std::string>> batches;
    for (std::size_t i = 0; i < keys.size(); i += 1000)
        batches.emplace_back(keys.begin() + static_cast<std::ptrdiff_t>(i),
                             keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + 1000)));
    delete_outcome out;
    std::size_t next = 0;
    std::exception_ptr first_failure;
    detail::task_group workers(core.executor());
    for (std::size_t i = 0; i < std::min(std::max<std::size_t>(in_flight, 1), batches.size()); ++i) {
        auto on_done = [&first_failure, &runner](std::exception_ptr e) {
            if (!e || first_failure) return;
            first_failure = e;
            runner->stop();
        };
        workers.spawn(delete_worker(core, *runner, bucket, batches, next, out), on_done);
    }
    co_await workers.join();
    if (first_failure) std::rethrow_exception(first_failure);
    co_return out;
}

// Runs `op` on the client's executor and waits for it; its exception is
// rethrown here.
template <class T>
T wait_for(client& c, net::awaitable<T> op) {
    std::promise<T> done;
    auto future = done.get_future();
    auto ex = detail::client_access::core(c).executor();
    if constexpr (std::is_void_v<T>) {
        auto on_done = [&done](std::exception_ptr e) {
            if (e) done.set_exception(e);
            else done.set_value();
        };
        net::asio::co_spawn(ex, std::move(op), on_done);
    } else {
        auto on_done = [&done](std::exception_ptr e, T value) {
            if (e) done.set_exception(e);
            else done.set_value(std::move(value));
        };
        net::asio::co_spawn(ex, std::move(op), on_done);
    }
    return future.get();
}

} // namespace

std::vector<multipart_upload> list_multipart_uploads(client& c, const upload_options& bucket, const std::string& prefix,
                                                     list_uploads_options options) {
    detail::client_access::require_blocking(c, "list_multipart_uploads");
    require_bucket(bucket, "list_multipart_uploads");
    auto& core = detail::client_access::core(c);
    return wait_for(c, list_uploads_on(core, bucket, prefix, options));
}

void abort_multipart_upload(client& c, const upload_options& object, const std::string& upload_id) {
    detail::client_access::require_blocking(c, "abort_multipart_upload");
    if (object.location.key.empty())
        throw std::invalid_argument("abort_multipart_upload: the location must name the upload's key");
    if (upload_id.empty()) throw std::invalid_argument("abort_multipart_upload: the upload id is empty");
    if (!object.signer) throw std::invalid_argument("abort_multipart_upload: no signer (credentials) given");
    auto& core = detail::client_access::core(c);
    wait_for(c, abort_on(core, object, upload_id));
}

delete_outcome delete_objects(client& c, const upload_options& bucket, const std::vector<std::string>& keys,
                              std::size_t requests_in_flight) {
    detail::client_access::require_blocking(c, "delete_objects");
    require_bucket(bucket, "delete_objects");
    if (keys.empty()) return {};
    auto& core = detail::client_access::core(c);
    return wait_for(c, delete_on(core, bucket, keys, requests_in_flight));
}

object_lister::object_lister(client& c, upload_options bucket, std::string prefix, std::uint32_t page_size)
    : client_(c), bucket_(std::move(bucket)), prefix_(std::move(prefix)), page_size_(page_size) {
    require_bucket(bucket_, "object_lister");
    if (page_size_ < 1 || page_size_ > 1000) throw std::invalid_argument("object_lister: page size outside 1..1000");
}

std::optional<protocol::object_info> object_lister::next() {
    // An empty page that is not the last (S3 may send one) moves on to the next.
    while (position_ == page_.size()) {
        if (last_page_) return std::nullopt;
        fetch();
    }
    return std::move(page_[position_++]);
}

void object_lister::fetch() {
    detail::client_access::require_blocking(client_, "object_lister::next");
    auto& core = detail::client_access::core(client_);
    auto page = wait_for(client_, list_objects_on(core, bucket_, prefix_, token_, page_size_));
    ++pages_;
    // A token that does not change would be asked for again forever.
    if (page.is_truncated && page.next_continuation_token == token_)
        throw upload_error(upload_errc::rejected, "ListObjectsV2: the continuation token did not change");
    page_ = std::move(page.objects);
    position_ = 0;
    token_ = std::move(page.next_continuation_token);
    last_page_ = !page.is_truncated;
}

} // namespace hoist::engine
