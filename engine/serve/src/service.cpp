// The presign service. One coroutine per connection, one short function per
// route; S3 calls go through the same pool and request_runner as uploads.
#include "hoist/serve/service.hpp"

#include "browser_routes.hpp"
#include "connection.hpp"
#include "cancel_state.hpp"
#include "request_head.hpp"
#include "request_runner.hpp"
#include "static_assets.hpp"
#include "task_group.hpp"

#include "hoist/protocol/presign/auth.hpp"
#include "hoist/protocol/presign/names.hpp"
#include "hoist/protocol/presign/presigning.hpp"
#include "hoist/protocol/presign/proxy_route.hpp"
#include "hoist/protocol/presign/session.hpp"
#include "hoist/protocol/presign/wire.hpp"
#include "hoist/protocol/s3/requests.hpp"
#include "hoist/protocol/s3/xml.hpp"

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <malloc.h>

#include <cerrno>
#include <cmath>
#include <iostream>
#include <set>
#include <map>
#include <mutex>

namespace hoist::engine {
namespace detail {
namespace {

namespace http = beast::http;
namespace asio = net::asio;
namespace json = boost::json;
using clock = std::chrono::steady_clock;

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Counters for /metrics, in Prometheus text format.
class metrics {
public:
    void request(const std::string& route, unsigned status, double seconds) {
        auto& r = routes_[{route, status}];
        ++r.count;
        auto& l = latency_[route];
        ++l.count;
        l.sum += seconds;
    }
    std::uint64_t started = 0, completed = 0, aborted = 0, proxied_bytes = 0, proxied_parts = 0;
    std::uint64_t connections_open = 0;
    std::map<std::string, std::uint64_t> rejected;          // requests refused before routing, by reason
    std::map<std::string, std::uint64_t> accept_failures;   // failed accept() calls, by errno name

    std::string render() const {
        std::string out;
        auto counter = [&](const char* name, const char* help, std::uint64_t v) {
            out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
                   std::to_string(v) + "\n";
        };
        counter("hoist_uploads_started_total", "Multipart uploads created.", started);
        counter("hoist_uploads_completed_total", "Multipart uploads completed.", completed);
        counter("hoist_uploads_aborted_total", "Multipart uploads aborted.", aborted);
        counter("hoist_proxied_bytes_total", "Bytes streamed to storage through the part proxy.", proxied_bytes);
        counter("hoist_proxied_parts_total", "Parts streamed to storage through the part proxy.", proxied_parts);
        out += "# HELP hoist_connections_open Client connections being served.\n"
               "# TYPE hoist_connections_open gauge\nhoist_connections_open " +
               std::to_string(connections_open) + "\n";
        auto labelled = [&](const char* name, const char* help, const char* label,
                            const std::map<std::string, std::uint64_t>& values) {
            out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
            for (const auto& [k, v] : values)
                out += std::string(name) + "{" + label + "=\"" + k + "\"} " + std::to_string(v) + "\n";
        };
        labelled("hoist_http_rejected_total",
                 "Requests refused before routing (malformed, too large, header timeout), by reason.", "reason",
                 rejected);
        labelled("hoist_accept_failures_total", "Failed accept() calls (each followed by a 100 ms pause), by error.",
                 "error", accept_failures);
        out += "# HELP hoist_http_requests_total HTTP requests by route and status.\n"
               "# TYPE hoist_http_requests_total counter\n";
        for (const auto& [key, v] : routes_)
            out += "hoist_http_requests_total{route=\"" + key.first + "\",status=\"" + std::to_string(key.second) +
                   "\"} " + std::to_string(v.count) + "\n";
        out += "# HELP hoist_http_request_duration_seconds Request latency by route.\n"
               "# TYPE hoist_http_request_duration_seconds summary\n";
        for (const auto& [route, l] : latency_) {
            out += "hoist_http_request_duration_seconds_sum{route=\"" + route + "\"} " + std::to_string(l.sum) + "\n";
            out += "hoist_http_request_duration_seconds_count{route=\"" + route + "\"} " + std::to_string(l.count) +
                   "\n";
        }
        return out;
    }

private:
    struct count_t {
        std::uint64_t count = 0;
    };
    struct latency_t {
        std::uint64_t count = 0;
        double sum = 0;
    };
    std::map<std::pair<std::string, unsigned>, count_t> routes_;
    std::map<std::string, latency_t> latency_;
};

struct request_info {
    http::verb method;
    std::string method_name;
    std::string origin;
    bool keep_alive;
};

// What one request produced, for the response, the log line and the metrics.
struct reply {
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    bool close = false;          // the request body was not (fully) read: close after answering
    std::string route = "other"; // the route template, never the raw target
    std::string action;
    std::string user;
    std::uint64_t bytes_in = 0;
    std::string error;           // the error code of a failed request, for the log
    std::optional<std::uint64_t> head_length;   // a HEAD's Content-Length (the body it does not send)
};

reply error_reply(const protocol::api_error& e) {
    reply r;
    r.status = static_cast<unsigned>(e.status);
    r.body = protocol::error_json(e);
    r.error = e.code;
    return r;
}

class service {
public:
    service(asio::io_context& ioc, const service_options& opt)
        : ioc_(ioc), opt_(opt), cfg_(opt.config), signer_(opt.storage_credentials),
          pool_(ioc.get_executor(), pool_settings(opt.config)),
          runner_(ioc.get_executor(), backoff_policy{}, 0, exchange_timeouts{}, 128 * 1024), acceptor_(ioc), sessions_(ioc.get_executor()),
          page_policy_(page_security_policy(storage_origin(opt.config))) {
        if (cfg_.tls) {
            tls_.emplace(ssl::context::tls_server);
            beast::error_code ec;
            tls_->use_certificate_chain_file(cfg_.tls->cert, ec);
            if (ec) throw std::runtime_error("cannot load the TLS certificate '" + cfg_.tls->cert + "': " + ec.message());
            tls_->use_private_key_file(cfg_.tls->key, ssl::context::pem, ec);
            if (ec) throw std::runtime_error("cannot load the TLS key '" + cfg_.tls->key + "': " + ec.message());
            // An idle TLS connection otherwise keeps its read and write record
            // buffers (~34 KiB): thousands of idle kept-alive clients add up.
            SSL_CTX_set_mode(tls_->native_handle(), SSL_MODE_RELEASE_BUFFERS);
        }
        beast::error_code ec;
        auto address = asio::ip::make_address(cfg_.listen.host, ec);
        if (ec) throw std::runtime_error("cannot listen on '" + cfg_.listen.host + "': not an IP address");
        tcp::endpoint ep(address, cfg_.listen.port);
        acceptor_.open(ep.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(ep, ec);
        if (ec)
            throw std::runtime_error("cannot listen on " + cfg_.listen.host + ":" + std::to_string(cfg_.listen.port) +
                                     ": " + ec.message());
        acceptor_.listen();
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    void stop() {
        beast::error_code ignored;
        acceptor_.close(ignored);
        stopping_ = true;
        runner_.stop();
        pool_.close_all();
        sessions_.emit(asio::cancellation_type::terminal);   // each session's current read or write
    }

    net::awaitable<void> accept_loop() {
        asio::steady_timer pause(ioc_);
        while (!stopping_) {
            auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow);
            if (ec) {
                if (stopping_ || ec == asio::error::operation_aborted) co_return;
                // Out of descriptors (EMFILE, ENFILE) or kernel memory: the
                // listener stays readable while connections wait, so accepting
                // again at once fails again at once, a busy loop that starves
                // the connections being served (100% CPU, /healthz timing out).
                // Pause instead; the waiting connections stay in the backlog and
                // are accepted once descriptors are free again (closing them, the
                // reserve-descriptor trick, would turn every wait into a failure).
                accept_failed(ec);
                pause.expires_after(std::chrono::milliseconds(100));
                auto [pec] = co_await pause.async_wait(net::use_nothrow);
                (void)pec;
                continue;
            }
            ++metrics_.connections_open;
            peak_connections_ = std::max(peak_connections_, metrics_.connections_open);
            sessions_.spawn(session(std::move(socket)), [this](std::exception_ptr e) {
                session_ended();
                if (!e) return;
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    std::cerr << "hoist serve: session error: " << ex.what() << "\n";
                }
            });
        }
    }

private:
    // Counted in /metrics each time; logged at most once per 10 s with the
    // number since the last line (a full descriptor table fails ten times a
    // second for as long as it lasts).
    void accept_failed(const beast::error_code& ec) {
        std::string name = ec == asio::error::no_descriptors                ? "emfile"
                           : ec.value() == ENFILE && ec.category() == asio::error::get_system_category() ? "enfile"
                           : ec == asio::error::no_buffer_space              ? "enobufs"
                           : ec == asio::error::no_memory                    ? "enomem"
                                                                             : "other";
        ++metrics_.accept_failures[name];
        ++unlogged_accept_failures_;
        auto now = clock::now();
        if (last_accept_log_ && now - *last_accept_log_ < std::chrono::seconds(10)) return;
        last_accept_log_ = now;
        json::object o{{"time", protocol::format_expires_at(unix_now())},
                       {"event", "accept_failed"},
                       {"error", name},
                       {"message", ec.message()},
                       {"failures", unlogged_accept_failures_},
                       {"connections_open", metrics_.connections_open}};
        unlogged_accept_failures_ = 0;
        write_log(json::serialize(o));
    }

    // After a burst of connections has left, give the freed heap back: the
    // per-connection state (coroutine frames, buffers, TLS objects) is made of
    // allocations below glibc's mmap threshold, which free() keeps in the
    // heap, so RSS would stay at the peak. malloc_trim(0) returns whole free
    // pages; it walks the heap, hence only once a burst of 256+ connections
    // has shrunk to a quarter, not on every close.
    void session_ended() {
        --metrics_.connections_open;
        if (peak_connections_ >= 256 && metrics_.connections_open <= peak_connections_ / 4) {
            ::malloc_trim(0);
            peak_connections_ = metrics_.connections_open;
        }
    }

    static pool_config pool_settings(const protocol::service_config& cfg) {
        pool_config c;
        c.host = cfg.storage.ep.host;
        c.port = cfg.storage.ep.port;
        c.use_tls = cfg.storage.ep.tls();
        if (cfg.storage.ca_bundle) c.tls.ca_file = *cfg.storage.ca_bundle;
        return c;
    }

    // One connection, a child of sessions_: stop() cancels its current
    // operation, which then completes with operation_aborted as a value (not
    // thrown: the session ends the way a closed connection does).
    net::awaitable<void> session(tcp::socket socket) {
        co_await asio::this_coro::throw_if_cancelled(false);
        beast::tcp_stream stream(std::move(socket));
        if (!tls_) {
            co_await serve(stream);
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream&> tls(stream, *tls_);
        stream.expires_after(std::chrono::seconds(15));
        auto [ec] = co_await tls.async_handshake(ssl::stream_base::server, net::use_nothrow);
        if (ec) co_return;
        co_await serve(tls);
    }

    // One kept-alive connection: read a header, route, answer, repeat.
    template <class Stream>
    net::awaitable<void> serve(Stream& stream) {
        beast::flat_buffer buffer;
        while (!stopping_) {
            http::request_parser<http::empty_body> header;
            header.header_limit(static_cast<std::uint32_t>(opt_.limits.header_bytes));
            header.body_limit(boost::none);
            beast::get_lowest_layer(stream).expires_after(opt_.limits.request_head);
            auto [ec, n] = co_await http::async_read_header(stream, buffer, header, net::use_nothrow);
            auto started = clock::now();
            if (ec) {
                // A head cut by the deadline after it began (a slowloris client):
                // the stream closed the socket, so it is counted, not answered.
                if (ec == beast::error::timeout && (header.got_some() || buffer.size() > 0))
                    note_refusal({408, "header_timeout", protocol::api_code::request_timeout, ""}, "", started);
                // Closed, reset or idle: nothing to answer. A head the parser
                // refused: answer why, then close (the buffer's state is lost).
                if (auto refusal = refusal_for_read_error(ec)) co_await refuse(stream, *refusal, "", started);
                co_return;
            }
            if (auto refusal = check_head(header, n, opt_.limits.header_bytes)) {
                co_await refuse(stream, *refusal, std::string(header.get().method_string()), started);
                co_return;
            }
            // route() may move the parser on to read the body: keep what the
            // answer and the log need first.
            request_info info{header.get().method(), std::string(header.get().method_string()),
                              std::string(header.get()[http::field::origin]), header.get().keep_alive()};
            reply r = co_await route(stream, buffer, header);
            add_cors(info, r);
            auto keep_alive = info.keep_alive && !r.close && !stopping_;
            http::response<http::string_body> res(static_cast<http::status>(r.status), 11);
            res.set(http::field::server, "hoist");
            res.set(http::field::content_type, r.content_type);
            for (const auto& [k, v] : r.headers) res.set(k, v);
            res.body() = std::move(r.body);
            res.keep_alive(keep_alive);
            res.prepare_payload();
            if (r.head_length) res.content_length(*r.head_length);
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
            auto [wec, wn] = co_await http::async_write(stream, res, net::use_nothrow);
            (void)wn;
            double seconds = std::chrono::duration<double>(clock::now() - started).count();
            metrics_.request(r.route, r.status, seconds);
            log(info, r, seconds);
            if (wec) co_return;
            if (!keep_alive) {
                co_await linger(stream);
                co_return;
            }
        }
    }

    // A request refused before routing: counted by reason, logged, answered
    // with the JSON error and Connection: close, then a lingering close.
    void note_refusal(const head_refusal& refusal, std::string method, clock::time_point started) {
        ++metrics_.rejected[std::string(refusal.reason)];
        double seconds = std::chrono::duration<double>(clock::now() - started).count();
        metrics_.request("rejected", refusal.status, seconds);
        reply r;
        r.status = refusal.status;
        r.route = "rejected";
        r.error = std::string(refusal.reason);
        log({http::verb::unknown, std::move(method), {}, false}, r, seconds);
    }

    template <class Stream>
    net::awaitable<void> refuse(Stream& stream, const head_refusal& refusal, std::string method,
                                clock::time_point started) {
        http::response<http::string_body> res(static_cast<http::status>(refusal.status), 11);
        res.set(http::field::server, "hoist");
        res.set(http::field::content_type, "application/json");
        res.body() = protocol::error_json(
            protocol::api_error(static_cast<int>(refusal.status), std::string(refusal.code), std::string(refusal.message)));
        res.keep_alive(false);
        res.prepare_payload();
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
        auto [wec, wn] = co_await http::async_write(stream, res, net::use_nothrow);
        (void)wn;
        note_refusal(refusal, std::move(method), started);
        if (!wec) co_await linger(stream);
    }

    // A lingering close (as Apache and nginx do): after answering a request
    // whose body we refused, stop sending and drain what the client is still
    // sending for a moment, so it reads our answer instead of a reset.
    template <class Stream>
    net::awaitable<void> linger(Stream& stream) {
        auto& tcp = beast::get_lowest_layer(stream);
        beast::error_code ignored;
        tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
        tcp.expires_after(std::chrono::seconds(2));
        for (std::uint64_t drained = 0; drained < 64 * 1024 * 1024;) {
            // What is drained is thrown away: every lingering connection reads
            // into one shared buffer (one thread) instead of 64 KiB each.
            auto [ec, n] = co_await tcp.async_read_some(asio::buffer(drain_), net::use_nothrow);
            if (ec) break;
            drained += n;
        }
        tcp.socket().close(ignored);
    }

    template <class Stream>
    net::awaitable<reply> route(Stream& stream, beast::flat_buffer& buffer, http::request_parser<http::empty_body>& header) {
        const auto& req = header.get();
        std::string_view target = req.target();
        reply r;
        const auto match = match_route(req.method(), target, cfg_.api_path);
        try {
            switch (match.kind) {
            case route_kind::preflight: r = preflight(req); break;
            case route_kind::healthz:
                r.body = protocol::response_json(protocol::health_response{});
                r.route = "/healthz";
                break;
            case route_kind::metrics:
                r.body = metrics_.render();
                r.content_type = "text/plain; version=0.0.4";
                r.route = "/metrics";
                break;
            case route_kind::presigned_upload:
                co_await json_route(stream, buffer, header, r);   // fills r, also when it throws
                break;
            case route_kind::proxy_part: co_await proxy_route(stream, buffer, header, r); break;
            case route_kind::static_file: r = static_reply(req, match.name); break;
            case route_kind::browser: co_await browser_route(stream, buffer, header, r, match); break;
            case route_kind::method_not_allowed:
                r = error_reply(protocol::api_error(405, std::string(protocol::api_code::method_not_allowed),
                                                    "this path takes " + std::string(match.allow)));
                r.route = std::string(match.name);
                r.headers.emplace_back("Allow", std::string(match.allow));
                break;
            case route_kind::not_found:
                r = error_reply(protocol::api_error(404, std::string(protocol::api_code::not_found), "no such route"));
                break;
            }
            // A body the route did not read would be taken for the next head.
            if (match.kind != route_kind::presigned_upload && match.kind != route_kind::proxy_part &&
                match.kind != route_kind::browser &&
                (header.chunked() || header.content_length().value_or(0) > 0))
                r.close = true;
        } catch (const protocol::api_error& e) {
            // What was learnt before the error stays in the log line.
            auto failed = error_reply(e);
            failed.route = std::move(r.route);
            failed.action = std::move(r.action);
            failed.user = std::move(r.user);
            failed.bytes_in = r.bytes_in;
            r = std::move(failed);
            r.close = true;  // the body may be unread
        }
        co_return r;
    }

    // "Expect: 100-continue" (curl, many SDKs): say so before reading the body,
    // or the client waits a second for it on every request.
    template <class Stream>
    net::awaitable<void> send_continue(Stream& stream, const http::request<http::empty_body>& req) {
        if (!beast::iequals(req[http::field::expect], "100-continue")) co_return;
        http::response<http::empty_body> cont(http::status::continue_, 11);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
        auto [ec, n] = co_await http::async_write(stream, cont, net::use_nothrow);
        (void)ec;
        (void)n;
    }

    // A JSON route's whole body, at most max_body_bytes (413 above it, also
    // when Content-Length promised less), read within 60 s (400 otherwise),
    // after a 100 Continue if the client asked for one.
    template <class Stream>
    net::awaitable<http::request<http::string_body>> read_json_body(Stream& stream, beast::flat_buffer& buffer,
                                                                    http::request_parser<http::empty_body>& header) {
        if (auto len = header.content_length()) protocol::check_body_size(*len, cfg_);
        co_await send_continue(stream, header.get());
        http::request_parser<http::string_body> parser(std::move(header));
        parser.body_limit(cfg_.max_body_bytes);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, net::use_nothrow);
        (void)n;
        if (ec == http::error::body_limit) protocol::check_body_size(cfg_.max_body_bytes + 1, cfg_);
        if (ec)
            throw protocol::api_error(400, std::string(protocol::api_code::invalid_request),
                                      "the request body could not be read");
        co_return parser.release();
    }

    // ---- POST api_path (default /v1/presigned-upload) ----------------------------

    template <class Stream>
    net::awaitable<void> json_route(Stream& stream, beast::flat_buffer& buffer,
                                    http::request_parser<http::empty_body>& header, reply& r) {
        r.route = cfg_.api_path;
        // Read the (bounded) body before answering, so the connection stays usable.
        const auto req = co_await read_json_body(stream, buffer, header);
        r.bytes_in = req.body().size();
        auto user = std::optional(caller(req));   // the bearer token or the session cookie
        if (!user) throw protocol::unauthorized_error();
        r.user = *user;
        auto request = protocol::parse_api_request(req.body(), cfg_);
        r.action = std::string(protocol::action_name(request));
        auto handle = [&](auto& typed) -> net::awaitable<std::string> { co_return co_await act(*user, typed); };
        r.body = co_await std::visit(handle, request);
        co_return;
    }

    net::awaitable<call_result> s3(std::string what, std::function<protocol::s3_request()> build,
                                   body_source* body = nullptr, unsigned attempts = 3) {
        auto signed_build = signed_each_attempt(std::move(build), signer_, cfg_.storage.region);
        call_spec spec{std::move(what), signed_build, body, true, attempts};
        co_return co_await runner_.call(pool_, std::move(spec));
    }

    // CreateMultipartUpload for `key`; completes with the upload id, throws
    // api_error 502 when the storage refuses or answers nonsense.
    net::awaitable<std::string> create_upload(std::string key, std::string content_type) {
        auto loc = protocol::storage_location(cfg_, key);
        auto r = co_await s3("CreateMultipartUpload", [&] {
            return protocol::create_multipart_upload(loc, protocol::integrity::kind::none, content_type);
        });
        if (!r.ok) throw storage_error(r);
        auto parsed = protocol::parse_initiate(r.response.body);
        auto* init = std::get_if<protocol::initiate_result>(&parsed);
        if (!init) throw protocol::api_error(502, std::string(protocol::api_code::storage_error),
                                            "storage: unexpected CreateMultipartUpload answer");
        ++metrics_.started;
        co_return init->upload_id;
    }

    net::awaitable<std::string> act(const std::string& user, const protocol::start_req& q) {
        auto key = protocol::make_object_key(cfg_.key_prefix, user, unix_ms_now(), q.file_name);
        auto upload_id = co_await create_upload(key, q.content_type);
        auto now = unix_now();
        protocol::start_response out;
        out.upload_id = upload_id;
        out.s3_key = key;
        out.unique_file_name = std::string(protocol::key_file_name(key));
        out.presigned_urls = protocol::presign_parts(cfg_, signer_, key, upload_id,
                                                     protocol::initial_part_numbers(q.plan, cfg_.url_batch),
                                                     sigv4::amz_date::from(std::chrono::system_clock::now()));
        out.upload_token = protocol::issue_upload_token(cfg_, user, key, upload_id, now);
        out.part_size = q.plan.part_size;
        out.expires_at = now + cfg_.presign_expiry.count();
        co_return protocol::response_json(out);
    }

    // Start without fileSize (the product's form): the client's own layout,
    // every part presigned at once (the product has no "presign more" step;
    // wire.hpp says why the answer's size is bounded). The signing runs on the
    // service's one thread: at 10,000 parts the whole test case (start,
    // signing, rendering and parsing a 6 MB answer) took 0.22-0.34 s here,
    // 2026-12-03, so other requests wait that long at worst.
    net::awaitable<std::string> act(const std::string& user, const protocol::start_parts_req& q) {
        auto key = protocol::make_object_key(cfg_.key_prefix, user, unix_ms_now(), q.file_name);
        auto upload_id = co_await create_upload(key, q.content_type);
        auto now = unix_now();
        protocol::start_parts_response out;
        out.upload_id = upload_id;
        out.s3_key = key;
        out.unique_file_name = std::string(protocol::key_file_name(key));
        std::vector<std::uint32_t> numbers(q.total_parts);
        for (std::uint32_t i = 0; i < q.total_parts; ++i) numbers[i] = i + 1;
        auto parts = protocol::presign_parts(cfg_, signer_, key, upload_id, numbers,
                                             sigv4::amz_date::from(std::chrono::system_clock::now()));
        out.presigned_urls.reserve(parts.size());
        for (auto& p : parts) out.presigned_urls.push_back(std::move(p.url));
        out.upload_token = protocol::issue_upload_token(cfg_, user, key, upload_id, now);
        out.expires_at = now + cfg_.presign_expiry.count();
        co_return protocol::response_json(out);
    }

    net::awaitable<std::string> act(const std::string& user, const protocol::complete_req& q) {
        protocol::authorize_upload(cfg_, user, q.upload, unix_now());
        auto loc = protocol::storage_location(cfg_, q.upload.s3_key);
        auto r = co_await s3("CompleteMultipartUpload", [&] {
            return protocol::complete_multipart_upload(loc, q.upload.upload_id, q.parts);
        });
        if (!r.ok) throw storage_error(r);
        protocol::complete_response out;
        out.unique_file_name = std::string(protocol::key_file_name(q.upload.s3_key));
        auto parsed = protocol::parse_complete(r.response.body);
        if (auto* c = std::get_if<protocol::complete_result>(&parsed)) {
            out.etag = c->etag;
            out.location = c->location;
        }
        if (out.location.empty()) out.location = loc.ep.scheme + "://" + loc.host + sigv4::canonical_uri(loc.path, false);
        auto head = co_await s3("HeadObject", [&] { return protocol::head_object(loc); });
        // Not storage_error: the upload did complete, so a 404 NoSuchKey here is
        // the storage failing, not "no such upload".
        if (!head.ok)
            throw protocol::api_error(502, std::string(protocol::api_code::storage_error), "storage: " + head.error);
        out.size = std::stoull(head.response.header("Content-Length").value_or("0"));
        if (out.etag.empty()) out.etag = head.response.header("ETag").value_or("");
        ++metrics_.completed;
        co_return protocol::response_json(out);
    }

    net::awaitable<std::string> act(const std::string& user, const protocol::abort_req& q) {
        protocol::authorize_upload(cfg_, user, q.upload, unix_now(), protocol::upload_call::abort);
        auto loc = protocol::storage_location(cfg_, q.upload.s3_key);
        auto r = co_await s3("AbortMultipartUpload",
                             [&] { return protocol::abort_multipart_upload(loc, q.upload.upload_id); });
        if (!r.ok && r.s3_code != "NoSuchUpload") throw storage_error(r);
        ++metrics_.aborted;
        co_return protocol::abort_response_json();
    }

    net::awaitable<std::string> act(const std::string& user, const protocol::presign_req& q) {
        protocol::authorize_upload(cfg_, user, q.upload, unix_now());
        protocol::presign_response out;
        out.presigned_urls = protocol::presign_parts(cfg_, signer_, q.upload.s3_key, q.upload.upload_id,
                                                     q.part_numbers,
                                                     sigv4::amz_date::from(std::chrono::system_clock::now()));
        out.expires_at = unix_now() + cfg_.presign_expiry.count();
        co_return protocol::response_json(out);
    }

    net::awaitable<std::string> act(const std::string& user, const protocol::list_parts_req& q) {
        protocol::authorize_upload(cfg_, user, q.upload, unix_now());
        auto loc = protocol::storage_location(cfg_, q.upload.s3_key);
        protocol::list_parts_response out;
        std::uint32_t marker = 0;
        for (int page = 0; page < 11; ++page) {  // 10,000 parts at 1,000 a page, plus slack
            auto r = co_await s3("ListParts", [&] { return protocol::list_parts(loc, q.upload.upload_id, marker); });
            if (!r.ok) throw storage_error(r);
            auto parsed = protocol::parse_list_parts(r.response.body);
            auto* p = std::get_if<protocol::list_parts_page>(&parsed);
            if (!p) throw protocol::api_error(502, std::string(protocol::api_code::storage_error),
                                                "storage: unexpected ListParts answer");
            out.parts.insert(out.parts.end(), p->parts.begin(), p->parts.end());
            if (!p->is_truncated) break;
            marker = p->next_part_number_marker;
        }
        co_return protocol::response_json(out);
    }

    net::awaitable<std::string> act(const std::string& user, const protocol::single_req& q) {
        auto key = protocol::make_object_key(cfg_.key_prefix, user, unix_ms_now(), q.file_name);
        auto now = unix_now();
        protocol::single_response out;
        out.url = protocol::presign_single_put(cfg_, signer_, key, sigv4::amz_date::from(std::chrono::system_clock::now()));
        out.s3_key = key;
        out.unique_file_name = std::string(protocol::key_file_name(key));
        out.upload_token = protocol::issue_upload_token(cfg_, user, key, "", now);
        out.expires_at = now + cfg_.presign_expiry.count();
        co_return protocol::response_json(out);
    }

    // ---- PUT /v1/uploads/{uploadId}/parts/{n}?key=KEY --------------------------

    // The client's part body, read straight from its connection in slices: the
    // service never holds more than one slice of a proxied part.
    //
    // The idle rule is "no byte for body_idle", per read, not "a slice within
    // the deadline": a client sending 1 KB/s is slow, not gone. The deadline is
    // a timer racing the read, not the stream's expiry, because the stream
    // closes its socket when it expires and a 408 could no longer be sent.
    template <class Stream>
    class client_body final : public body_source {
    public:
        client_body(Stream& s, beast::flat_buffer& b, http::request_parser<http::buffer_body>& p, std::uint64_t n,
                    std::chrono::milliseconds idle)
            : stream_(s), buffer_(b), parser_(p), size_(n), idle_(idle) {}
        std::uint64_t size() const override { return size_; }
        bool replayable() const override { return false; }
        std::uint64_t received() const { return received_; }   // body bytes read from the client
        bool went_silent() const { return went_silent_; }
        net::awaitable<net::error_code> read(std::uint64_t, std::span<char> out) override {
            std::size_t filled = 0;
            auto& tcp = beast::get_lowest_layer(stream_);
            asio::steady_timer idle(tcp.get_executor());
            while (filled < out.size()) {
                if (parser_.is_done()) co_return net::error_code(EIO, boost::system::system_category());
                parser_.get().body().data = out.data() + filled;
                parser_.get().body().size = out.size() - filled;
                tcp.expires_never();
                idle.expires_after(idle_);
                auto [order, ec, n, timer_ec] =
                    co_await asio::experimental::make_parallel_group(
                        http::async_read_some(stream_, buffer_, parser_, asio::deferred),
                        idle.async_wait(asio::deferred))
                        .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
                (void)n;
                (void)timer_ec;
                std::size_t now_filled = out.size() - parser_.get().body().size;
                received_ += now_filled - filled;
                filled = now_filled;
                if (order[0] == 1) {   // the timer first: the read was cancelled, the socket is open
                    went_silent_ = true;
                    co_return net::error_code(asio::error::timed_out);
                }
                if (ec && ec != http::error::need_buffer) co_return ec;
            }
            co_return net::error_code{};
        }

    private:
        Stream& stream_;
        beast::flat_buffer& buffer_;
        http::request_parser<http::buffer_body>& parser_;
        std::uint64_t size_;
        std::chrono::milliseconds idle_;
        std::uint64_t received_ = 0;
        bool went_silent_ = false;
    };

    template <class Stream>
    net::awaitable<void> proxy_route(Stream& stream, beast::flat_buffer& buffer,
                                     http::request_parser<http::empty_body>& header, reply& r) {
        r.route = std::string(protocol::proxy_route_pattern);
        r.action = "proxy";
        const auto& req = header.get();
        // Everything is checked before a byte of the body is read or sent on.
        auto user = std::optional(caller(req));   // the bearer token or the session cookie
        if (!user) throw protocol::unauthorized_error();
        r.user = *user;
        const auto part = protocol::parse_proxy_part_target(req.target());
        const std::uint32_t number = part.part_number;
        const protocol::upload_ref ref{part.upload_id, part.key, std::string(req["X-Upload-Token"])};
        protocol::require_upload_token(cfg_, *user, ref, unix_now());
        auto length = header.content_length();
        if (!length)
            throw protocol::api_error(411, std::string(protocol::api_code::length_required), "Content-Length is required");
        if (*length > protocol::max_part_size)
            throw protocol::api_error(413, std::string(protocol::api_code::payload_too_large), "a part is at most 5 GiB");

        protocol::integrity check;
        if (auto md5 = req["Content-MD5"]; !md5.empty()) check = {protocol::integrity::kind::md5, std::string(md5)};
        co_await send_continue(stream, req);
        http::request_parser<http::buffer_body> body_parser(std::move(header));
        body_parser.body_limit(protocol::max_part_size);
        client_body<Stream> body(stream, buffer, body_parser, *length, opt_.limits.body_idle);
        auto loc = protocol::storage_location(cfg_, ref.s3_key);
        auto result = co_await s3(
            "UploadPart", [&] { return protocol::upload_part(loc, ref.upload_id, number, *length, check); }, &body, 1);
        r.bytes_in = body.received();
        if (!result.ok) {
            r.close = !body_parser.is_done();
            if (body.went_silent())
                throw protocol::api_error(408, std::string(protocol::api_code::request_timeout),
                                          "no byte of the part's body for " +
                                              std::to_string(opt_.limits.body_idle.count()) + " ms (received " +
                                              std::to_string(body.received()) + " of " + std::to_string(*length) +
                                              " bytes)");
            // The client's body ended early (it reset, timed out or sent less
            // than Content-Length): the client's fault, not the storage's, and
            // the log and the metrics must say so. (It rarely sees the answer.)
            if (result.code == upload_errc::source_changed)
                throw protocol::api_error(400, std::string(protocol::api_code::incomplete_body),
                                          "the part's body ended before its Content-Length (" +
                                              std::to_string(*length) + " bytes)");
            if (result.status >= 400 && result.status < 500 && !result.s3_code.empty())
                throw protocol::api_error(static_cast<int>(result.status), result.s3_code, "storage: " + result.error);
            throw storage_error(result);
        }
        auto etag = result.response.header("ETag").value_or("");
        metrics_.proxied_bytes += *length;
        ++metrics_.proxied_parts;
        r.body = protocol::response_json(protocol::proxied_part_response{number, etag});
        r.headers.emplace_back("ETag", etag);
        co_return;
    }

    // ---- GET / and /assets/... (the upload page, static_assets.hpp) ----------------

    reply static_reply(const http::request<http::empty_body>& req, std::string_view route) {
        const bool head = req.method() == http::verb::head;
        page_settings settings{cfg_.api_path};   // the page calls the configured JSON API path
        auto a = answer_static(web_files(), req.target(), req[http::field::if_none_match], head, settings);
        reply r;
        if (a.status == 404)
            r = error_reply(protocol::api_error(404, std::string(protocol::api_code::not_found), "no such file"));
        r.route = std::string(route);
        if (a.status == 404) return r;
        r.status = a.status;
        r.content_type = std::string(a.content_type);
        r.headers = {{"Cache-Control", std::string(a.cache_control)},
                     {"ETag", a.etag},
                     {"X-Content-Type-Options", "nosniff"}};
        // The page takes a bearer token: no other site may frame it, and it
        // runs only the service's own scripts (page_security_policy).
        if (a.content_type.starts_with("text/html")) {
            r.headers.emplace_back("X-Frame-Options", "DENY");
            r.headers.emplace_back("Content-Security-Policy", page_policy_);
        }
        r.body = std::move(a.body);
        if (head && a.status == 200) r.head_length = a.content_length;
        return r;
    }

    // The caller's user, from the bearer token or the session cookie (see
    // protocol/presign/session.hpp). Throws api_error 401 or 403.
    std::string caller(const http::request_header<>& req) const {
        return protocol::authenticate(cfg_,
                                      {req[http::field::authorization], req[http::field::cookie],
                                       req[http::field::origin], req[http::field::host], cfg_.tls.has_value()},
                                      unix_now())
            .user;
    }

    // ---- /v1/session, /v1/sign-request, /s3/* (browser_routes.cpp) -------------------

    template <class Stream>
    net::awaitable<void> browser_route(Stream& stream, beast::flat_buffer& buffer,
                                       http::request_parser<http::empty_body>& header, reply& r,
                                       const route_match& match) {
        r.route = std::string(match.name);
        browser_request b;
        b.route = protocol::match_browser_route(header.get().method_string(),
                                                header.get().target().substr(0, header.get().target().find('?')))
                      .route;
        auto req = co_await read_json_body(stream, buffer, header);
        r.bytes_in = req.body().size();
        b.target = std::string(req.target());
        b.body = std::move(req.body());
        b.authorization = std::string(req[http::field::authorization]);
        b.cookie = std::string(req[http::field::cookie]);
        b.origin = std::string(req[http::field::origin]);
        b.host = std::string(req[http::field::host]);
        browser_reply out;
        auto call = [this](std::string what, std::function<protocol::s3_request()> build) {
            return s3(std::move(what), std::move(build));
        };
        std::exception_ptr failed;
        try {
            co_await handle_browser_route(cfg_, signer_, call, std::move(b), out);
        } catch (const protocol::api_error&) {
            failed = std::current_exception();
        }
        r.action = std::move(out.action);
        r.user = std::move(out.user);
        if (failed) std::rethrow_exception(failed);
        r.body = std::move(out.body);
        for (auto& h : out.headers) r.headers.push_back(std::move(h));
        metrics_.started += out.started;
        metrics_.completed += out.completed;
        metrics_.aborted += out.aborted;
    }

    // ---- CORS, logging -------------------------------------------------------------

    reply preflight(const http::request<http::empty_body>& req) {
        reply r;
        if (!protocol::origin_allowed(cfg_, req[http::field::origin])) {
            // The origin is not quoted back: the answer says which rule refused it.
            r = error_reply(protocol::api_error(403, std::string(protocol::api_code::origin_not_allowed),
                                                req[http::field::origin].empty()
                                                    ? "a CORS preflight needs an Origin header"
                                                    : "this origin is not in the service's cors_origins"));
        } else {
            r.status = 204;
            r.content_type = "text/plain";
        }
        r.route = "preflight";
        return r;
    }

    void add_cors(const request_info& req, reply& r) {
        const auto& origin = req.origin;
        if (origin.empty() || !protocol::origin_allowed(cfg_, origin)) return;
        r.headers.emplace_back("Access-Control-Allow-Origin", origin);
        r.headers.emplace_back("Vary", "Origin");
        r.headers.emplace_back("Access-Control-Expose-Headers", "ETag");
        // A configured origin may use the session cookie (fetch with
        // credentials: "include"); the cookie is SameSite=Strict, so only
        // same-site origins ever send it.
        r.headers.emplace_back("Access-Control-Allow-Credentials", "true");
        if (req.method == http::verb::options) {
            r.headers.emplace_back("Access-Control-Allow-Methods", "POST, PUT, GET, DELETE, OPTIONS");
            r.headers.emplace_back("Access-Control-Allow-Headers",
                                   "Authorization, Content-Type, Content-MD5, X-Upload-Token");
            r.headers.emplace_back("Access-Control-Max-Age", "600");
        }
    }

    void log(const request_info& req, const reply& r, double seconds) {
        if (!opt_.log_probes && (r.route == "/healthz" || r.route == "/metrics") && r.status < 400) return;
        json::object o{{"time", protocol::format_expires_at(unix_now())},
                       {"method", req.method_name},
                       {"route", r.route},
                       {"status", r.status},
                       {"ms", std::round(seconds * 1e6) / 1e3},
                       {"bytes_in", r.bytes_in}};
        if (!r.action.empty()) o["action"] = r.action;
        if (!r.user.empty()) o["user"] = r.user;
        if (!r.error.empty()) o["error"] = r.error;   // the code only: messages may quote input
        write_log(json::serialize(o));
    }

    void write_log(const std::string& line) {
        if (opt_.log) opt_.log(line);
        else std::cerr << line << '\n';
    }

    asio::io_context& ioc_;
    const service_options& opt_;
    const protocol::service_config& cfg_;
    // scheme://host[:port] of the presigned URLs, which the page PUTs to
    // (virtual-hosted: the bucket's own host).
    static std::string storage_origin(const protocol::service_config& config) {
        const auto loc = protocol::storage_location(config, "");
        return loc.ep.scheme + "://" + loc.host;
    }
    sigv4::signer signer_;
    connection_pool pool_;
    request_runner runner_;
    tcp::acceptor acceptor_;
    std::optional<ssl::context> tls_;
    metrics metrics_;
    bool stopping_ = false;
    std::uint64_t peak_connections_ = 0;                 // since the last malloc_trim
    std::uint64_t unlogged_accept_failures_ = 0;
    std::optional<clock::time_point> last_accept_log_;
    std::vector<char> drain_ = std::vector<char>(16 * 1024);   // lingering closes' shared scratch
    task_group sessions_;   // the connections being served
    const std::string page_policy_;   // the upload page's Content-Security-Policy
};

} // namespace
} // namespace detail

void run_service(const service_options& options, cancel_token cancel) {
    net::asio::io_context ioc(1);
    detail::service svc(ioc, options);
    cancel_binding binding(cancel, ioc.get_executor(), [&svc] { svc.stop(); });
    if (cancel.cancelled()) return;
    if (options.on_listening) options.on_listening(svc.port());
    net::asio::co_spawn(ioc, svc.accept_loop(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);  // a bug in the accept loop: let run() throw it
    });
    ioc.run();
}

} // namespace hoist::engine
