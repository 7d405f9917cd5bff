#include "s3_test_server.hpp"

#include "test_certificate.hpp"

#include "net.hpp"
#include "hoist/protocol/s3/xml.hpp"
#include "hoist/sigv4/signer.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <isa-l/crc.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pugixml.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <list>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>

namespace hoist::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace sv4 = hoist::sigv4;
using tcp = asio::ip::tcp;
using hoist::net::awaitable;
using hoist::net::error_code;
using hoist::net::use_nothrow;
using namespace std::chrono_literals;

// Large enough for a 5 MiB part and then some; the tests never need more, and a
// cap keeps a broken client from making the server allocate gigabytes.
constexpr std::uint64_t max_request_body = 64ull * 1024 * 1024;
constexpr auto max_clock_skew = 15min;
constexpr auto handshake_timeout = 10s;
constexpr auto body_timeout = 60s;
constexpr auto write_timeout = 60s;
constexpr auto shutdown_timeout = 2s;
constexpr std::uint32_t max_part_number = 10000;
constexpr std::string_view s3_xmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

// ---- small pure helpers ------------------------------------------------------

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        auto end = s.find(sep, start);
        out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

// A decimal number in [lo, hi], digits only (no sign, no spaces).
std::optional<std::uint64_t> parse_number(std::string_view s, std::uint64_t lo, std::uint64_t hi) {
    if (s.empty() || s.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v < lo || v > hi) return std::nullopt;
    return v;
}

bool is_sha256_hex(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
}

bool same_secret_text(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string md5_raw(std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), out, &size, EVP_md5(), nullptr) != 1)
        throw std::runtime_error("s3_test_server: EVP_Digest(MD5) failed");
    return std::string(reinterpret_cast<const char*>(out), size);
}

std::string to_hex(std::string_view raw) {
    return sv4::hex(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
}

std::string to_base64(std::string_view raw) {
    return sv4::base64_encode(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
}

std::string big_endian(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string strip_quotes(std::string_view etag) {
    etag = trim(etag);
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
    return std::string(etag);
}

std::string format_time(std::chrono::system_clock::time_point t, const char* fmt) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, fmt, &tm);
    return buf;
}

std::string http_date(std::chrono::system_clock::time_point t) { return format_time(t, "%a, %d %b %Y %H:%M:%S GMT"); }
std::string iso_time(std::chrono::system_clock::time_point t) { return format_time(t, "%Y-%m-%dT%H:%M:%S.000Z"); }

std::string xml_element(std::string_view name, std::string_view text) {
    return "<" + std::string(name) + ">" + protocol::xml_escape(text) + "</" + std::string(name) + ">";
}

std::string local_name(const char* name) {
    std::string_view n(name);
    auto colon = n.find(':');
    return std::string(colon == std::string_view::npos ? n : n.substr(colon + 1));
}

pugi::xml_node child(pugi::xml_node parent, std::string_view name) {
    for (auto node : parent.children())
        if (node.type() == pugi::node_element && local_name(node.name()) == name) return node;
    return {};
}

// ---- request model -----------------------------------------------------------

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

struct request_info {
    std::string method;
    std::string op_name = "Other";
    s3_op op = s3_op::other;
    bool target_ok = true;               // path and query decoded
    std::string bucket, key;             // decoded
    std::string path;                    // decoded, "/bucket/key"
    std::vector<sv4::query_param> query; // decoded, wire order
    std::optional<std::uint32_t> part_number;
    std::string request_id;

    const std::string* query_value(std::string_view name) const {
        for (const auto& [n, v] : query)
            if (n == name) return &v;
        return nullptr;
    }
    bool has_query(std::string_view name) const { return query_value(name) != nullptr; }
    std::string resource() const { return path; }
};

bool is_auth_param(std::string_view name) { return name.size() > 6 && iequals(name.substr(0, 6), "x-amz-"); }

request_info analyze(const request& req) {
    request_info info;
    info.method = std::string(req.method_string());
    std::string_view target = req.target();
    auto qpos = target.find('?');
    std::string_view raw_path = target.substr(0, qpos);
    std::string_view raw_query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);

    // The path is decoded once and never normalised: "/b/a/../k" is key "a/../k".
    auto decoded = sv4::uri_decode(raw_path);
    if (raw_path.empty() || raw_path.front() != '/' || !decoded) {
        info.target_ok = false;
    } else {
        info.path = *decoded;
        std::string_view rest = std::string_view(info.path).substr(1);
        auto slash = rest.find('/');
        info.bucket = std::string(rest.substr(0, slash));
        if (slash != std::string_view::npos) info.key = std::string(rest.substr(slash + 1));
    }
    if (!raw_query.empty()) {
        for (auto item : split(raw_query, '&')) {
            if (item.empty()) continue;
            auto eq = item.find('=');
            auto name = sv4::uri_decode(item.substr(0, eq));
            auto value = sv4::uri_decode(eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1));
            if (!name || !value) {
                info.target_ok = false;
                continue;
            }
            info.query.emplace_back(std::move(*name), std::move(*value));
        }
    }

    if (auto pn = info.query_value("partNumber"))
        if (auto n = parse_number(*pn, 1, max_part_number)) info.part_number = static_cast<std::uint32_t>(*n);

    // A sub-resource is any query parameter that is not presigned-URL auth.
    bool subresource = std::any_of(info.query.begin(), info.query.end(),
                                   [](const sv4::query_param& q) { return !is_auth_param(q.first); });
    const auto m = req.method();
    const bool has_key = !info.key.empty();
    auto set = [&](s3_op op, const char* name) {
        info.op = op;
        info.op_name = name;
    };
    if (m == http::verb::post && info.has_query("uploads") && has_key) set(s3_op::create, "CreateMultipartUpload");
    else if (m == http::verb::put && info.has_query("partNumber") && info.has_query("uploadId") && has_key)
        set(s3_op::upload_part, "UploadPart");
    else if (m == http::verb::post && info.has_query("uploadId") && has_key) set(s3_op::complete, "CompleteMultipartUpload");
    else if (m == http::verb::delete_ && info.has_query("uploadId") && has_key) set(s3_op::abort, "AbortMultipartUpload");
    else if (m == http::verb::get && info.has_query("uploadId") && has_key) set(s3_op::list_parts, "ListParts");
    else if (m == http::verb::post && info.has_query("delete") && !has_key && !info.bucket.empty())
        set(s3_op::delete_objects, "DeleteObjects");
    else if (m == http::verb::put && !subresource && has_key) set(s3_op::put_object, "PutObject");
    else if (m == http::verb::head && has_key) set(s3_op::head_object, "HeadObject");
    else if (m == http::verb::get && info.has_query("uploads") && !has_key && !info.bucket.empty())
        set(s3_op::list_uploads, "ListMultipartUploads");
    else if (m == http::verb::get && !has_key && !info.bucket.empty() && info.query_value("list-type") &&
             *info.query_value("list-type") == "2")
        set(s3_op::list_objects, "ListObjectsV2");
    return info;
}

// An S3 error outcome before it becomes a response.
struct failure {
    enum class counter { none, signature, integrity };
    http::status status;
    std::string code;
    std::string message;
    counter counts = counter::none;
};

failure sig_fail(http::status s, std::string code, std::string message) {
    return {s, std::move(code), std::move(message), failure::counter::signature};
}
failure integrity_fail(http::status s, std::string code, std::string message) {
    return {s, std::move(code), std::move(message), failure::counter::integrity};
}

// What the connection loop writes back, plus what it logs.
struct reply {
    response res;
    std::string code;           // the S3 error code, for the log; empty on success
    bool fault_applied = false; // a status fault answered instead of the real handler
};

// ---- state -------------------------------------------------------------------

struct part_record {
    std::string data;
    std::string md5;        // raw 16 bytes
    std::string crc32c;     // raw 4 bytes, when the upload declared CRC32C
    std::string last_modified;
};

struct upload_record {
    std::string bucket, key;
    bool crc32c = false;
    std::string initiated;
    std::map<std::uint32_t, part_record> parts;
    std::uint64_t sequence = 0;   // creation order: ListMultipartUploads orders a key's uploads by it
};

struct completed_record {
    std::string bucket, key;
    std::string result_xml;   // answered again to a retried Complete, as S3 does
};

struct object_record {
    std::string data;
    std::string etag;         // with quotes
    std::string last_modified;      // HTTP date (HeadObject)
    std::string last_modified_iso;  // ISO 8601 (ListObjectsV2)
};

struct pending_fault {
    match when;
    fault what;
    int seen = 0;
};

} // namespace

// ---- the server ----------------------------------------------------------------

class s3_test_server::impl {
public:
    explicit impl(options o);
    ~impl();

    options opt_;
    std::uint16_t port_ = 0;
    std::string ca_file_;
    std::filesystem::path temp_dir_;

    // Guards everything below up to the I/O section. handle() and before_body()
    // hold it throughout, so the handlers and error() below run with it held.
    mutable std::mutex mu_;
    std::set<std::string> buckets_;
    std::map<std::pair<std::string, std::string>, object_record> objects_;
    std::map<std::string, upload_record> uploads_;
    std::map<std::string, completed_record> completed_;
    std::vector<std::string> aborted_;
    std::uint64_t next_upload_sequence_ = 0;
    std::list<pending_fault> faults_;
    stats stats_;
    std::vector<std::string> log_;
    std::mt19937_64 rng_{std::random_device{}()};

    sv4::signer signer_;

    // I/O: touched on the server thread only (and by the destructor after join).
    std::optional<asio::io_context> ioc_;
    std::optional<ssl::context> tls_;
    std::optional<tcp::acceptor> acceptor_;
    std::map<std::uint64_t, std::function<void()>> closers_;
    std::uint64_t next_closer_ = 0;
    bool stopping_ = false;
    std::promise<void> finished_;
    std::thread thread_;

    // Registers how to close one connection's socket and timer, for the
    // destructor; unregisters when the session's frame ends.
    class closer_guard {
    public:
        closer_guard(impl& s, std::function<void()> close) : s_(s), id_(s.next_closer_++) {
            s_.closers_.emplace(id_, std::move(close));
        }
        ~closer_guard() { s_.closers_.erase(id_); }
        closer_guard(const closer_guard&) = delete;
        closer_guard& operator=(const closer_guard&) = delete;

    private:
        impl& s_;
        std::uint64_t id_;
    };

    void report(const char* where, std::exception_ptr e);
    void append_log(std::string line);
    std::optional<fault> admit(request_info& info);

    awaitable<void> accept_loop();
    awaitable<void> session(tcp::socket socket);
    template <class Stream>
    awaitable<void> serve(Stream& stream, beast::flat_buffer& buffer, asio::steady_timer& timer);
    template <class Stream>
    awaitable<void> close_gracefully(Stream& stream);

    std::optional<reply> before_body(const request_info& info, const http::request_parser<http::string_body>& parser);
    reply handle(const request_info& info, request& req, const std::optional<fault>& f);
    reply process(const request_info& info, request& req);
    std::optional<failure> authenticate(const request_info& info, const request& req);
    std::optional<failure> header_auth(const request_info& info, const request& req, std::string_view authorization);
    std::optional<failure> query_auth(const request_info& info, const request& req);
    std::optional<failure> check_scope(std::string_view credential, const sv4::amz_date& date, bool query_mode);
    std::optional<failure> check_payload_hash(const request& req, std::string_view claimed);
    std::optional<failure> check_crc32c(const request& req, bool declared, bool is_part, std::string* raw_out);

    reply do_create(const request_info& info, request& req);
    reply do_upload_part(const request_info& info, request& req);
    reply do_complete(const request_info& info, request& req);
    reply do_abort(const request_info& info);
    reply do_list_parts(const request_info& info);
    reply do_list_uploads(const request_info& info);
    reply do_list_objects(const request_info& info);
    reply do_delete_objects(const request_info& info, request& req);
    reply do_put_object(const request_info& info, request& req);
    reply do_head_object(const request_info& info);

    reply ok(const request_info& info, http::status status = http::status::ok, std::string xml = {});
    reply error(const request_info& info, const failure& f);
    std::string error_xml(const request_info& info, std::string_view code, std::string_view message);
    upload_record* find_upload(const request_info& info);
    std::string random_token(std::size_t length, std::string_view alphabet);
};

namespace {

sv4::credentials server_credentials(const s3_test_server::options& o) {
    sv4::credentials c;
    c.access_key_id = o.access_key_id;
    c.secret_access_key = sv4::secret_string(o.secret);
    return c;
}

std::filesystem::path make_temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hoist-s3-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("s3_test_server: mkdtemp failed");
    return pattern;
}

} // namespace

s3_test_server::impl::impl(options o) : opt_(std::move(o)), signer_(server_credentials(opt_)) {
    if (opt_.region.empty()) throw std::invalid_argument("s3_test_server: empty region");
    if (opt_.max_parts_per_page < 1) throw std::invalid_argument("s3_test_server: max_parts_per_page < 1");
    try {
        if (opt_.tls) {
            auto cert = make_test_certificate();
            temp_dir_ = make_temp_dir();
            ca_file_ = (temp_dir_ / "ca.pem").string();
            std::ofstream(ca_file_, std::ios::binary) << cert.cert_pem;
            if (!std::ifstream(ca_file_)) throw std::runtime_error("s3_test_server: cannot write " + ca_file_);
            tls_.emplace(ssl::context::tls_server);
            tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                              ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
            tls_->use_certificate_chain(asio::buffer(cert.cert_pem));
            tls_->use_private_key(asio::buffer(cert.key_pem), ssl::context::pem);
        }
        ioc_.emplace(1);
        acceptor_.emplace(*ioc_);
        tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), 0);
        acceptor_->open(ep.protocol());
        acceptor_->set_option(tcp::acceptor::reuse_address(true));
        // Set before listen(), so accepted sockets inherit it and the window
        // they offer is small from the SYN on.
        if (opt_.receive_buffer > 0)
            acceptor_->set_option(asio::socket_base::receive_buffer_size(opt_.receive_buffer));
        acceptor_->bind(ep);
        acceptor_->listen();
        port_ = acceptor_->local_endpoint().port();
    } catch (...) {
        if (!temp_dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(temp_dir_, ec);
        }
        throw;
    }

    auto on_accept_done = [this](std::exception_ptr e) { report("accept loop", e); };
    asio::co_spawn(*ioc_, accept_loop(), on_accept_done);
    thread_ = std::thread([this] {
        try {
            ioc_->run();
        } catch (...) {
            report("io_context::run", std::current_exception());
        }
        finished_.set_value();
    });
}

s3_test_server::impl::~impl() {
    auto finished = finished_.get_future();
    // Close everything from the server thread; sessions then end on their own
    // and run() returns. A stalled peer cannot hold us: its socket is closed.
    asio::post(*ioc_, [this] {
        stopping_ = true;
        error_code ec;
        acceptor_->close(ec);
        auto closers = closers_;
        for (auto& [id, close] : closers) close();
    });
    if (finished.wait_for(5s) != std::future_status::ready) ioc_->stop();
    thread_.join();
    // Destroy the remaining frames (if run() was stopped) while the state they
    // reference is still alive; I/O objects before their io_context.
    acceptor_.reset();
    ioc_.reset();
    tls_.reset();
    if (!temp_dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(temp_dir_, ec);
    }
}

void s3_test_server::impl::report(const char* where, std::exception_ptr e) {
    if (!e) return;
    std::string what = "unknown exception";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        what = x.what();
    } catch (...) {
    }
    std::cerr << "[s3_test_server] " << where << " failed: " << what << std::endl;
    append_log(std::string("! ") + where + " failed: " + what);
}

void s3_test_server::impl::append_log(std::string line) {
    std::lock_guard lock(mu_);
    log_.push_back(std::move(line));
}

std::string s3_test_server::impl::random_token(std::size_t length, std::string_view alphabet) {
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string out(length, ' ');
    for (char& c : out) c = alphabet[pick(rng_)];
    return out;
}

// Counts the request and takes the fault it triggers, if any.
std::optional<fault> s3_test_server::impl::admit(request_info& info) {
    std::lock_guard lock(mu_);
    info.request_id = random_token(16, "0123456789ABCDEF");
    ++stats_.requests;
    ++stats_.by_op[info.op];
    std::optional<fault> fired;
    for (auto it = faults_.begin(); it != faults_.end();) {
        bool matches = it->when.op == info.op &&
                       (!it->when.part_number || it->when.part_number == info.part_number);
        if (matches) ++it->seen;
        // ">=": a fault whose turn came while another fault fired goes next.
        if (!fired && matches && it->seen >= it->when.occurrence) {
            fired = it->what;
            it = faults_.erase(it);
            continue;
        }
        ++it;
    }
    return fired;
}

// ---- I/O -----------------------------------------------------------------------

awaitable<void> s3_test_server::impl::accept_loop() {
    asio::steady_timer backoff(co_await asio::this_coro::executor);
    for (;;) {
        auto [ec, socket] = co_await acceptor_->async_accept(use_nothrow);
        if (stopping_) co_return;
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            backoff.expires_after(50ms);  // EMFILE and friends: do not spin
            co_await backoff.async_wait(use_nothrow);
            continue;
        }
        {
            std::lock_guard lock(mu_);
            ++stats_.connections;
        }
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto on_session_done = [this](std::exception_ptr e) { report("session", e); };
        asio::co_spawn(*ioc_, session(std::move(socket)), on_session_done);
    }
}

awaitable<void> s3_test_server::impl::session(tcp::socket socket) {
    if (stopping_) co_return;
    beast::flat_buffer buffer;
    asio::steady_timer timer(socket.get_executor());
    if (opt_.tls) {
        ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
        closer_guard guard(*this, [&] {
            beast::get_lowest_layer(stream).close();
            timer.cancel();
        });
        beast::get_lowest_layer(stream).expires_after(handshake_timeout);
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_nothrow);
        if (ec) co_return;  // probes, clients that reject the certificate: nothing to serve
        co_await serve(stream, buffer, timer);
    } else {
        beast::tcp_stream stream(std::move(socket));
        closer_guard guard(*this, [&] {
            stream.close();
            timer.cancel();
        });
        co_await serve(stream, buffer, timer);
    }
}

template <class Stream>
awaitable<void> s3_test_server::impl::close_gracefully(Stream& stream) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
        // The peer may never answer close_notify: bounded.
        tcp_layer.expires_after(shutdown_timeout);
        co_await stream.async_shutdown(use_nothrow);
    }
    error_code ignored;
    tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ignored);
    tcp_layer.close();
}

template <class Stream>
awaitable<void> s3_test_server::impl::serve(Stream& stream, beast::flat_buffer& buffer, asio::steady_timer& timer) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    // The destructor's closer may run while this frame is between operations;
    // `stopping_` is checked before every wait it could not cancel.
    while (!stopping_) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(16 * 1024);
        parser.body_limit(max_request_body);
        tcp_layer.expires_after(opt_.idle_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
        if (ec) {
            // End of stream, idle timeout, closed by the destructor: normal ends.
            // A malformed request is worth a line.
            if (ec.category() == beast::http::make_error_code(http::error::bad_target).category() &&
                ec != http::error::end_of_stream && ec != http::error::partial_message)
                append_log("? malformed request: " + ec.message());
            co_return;
        }
        request_info info = analyze(parser.get());
        std::optional<fault> f = admit(info);
        const bool cuts = f && (f->kind == fault_kind::reset_mid_body || f->kind == fault_kind::stall);
        std::string what = info.method + " " + info.op_name;
        if (info.part_number) what += " part=" + std::to_string(*info.part_number);

        if (!cuts) {
            if (auto early = before_body(info, parser)) {
                early->res.keep_alive(false);
                append_log(what + " -> " + std::to_string(early->res.result_int()) + " " + early->code);
                tcp_layer.expires_after(write_timeout);
                auto [wec, wn] = co_await http::async_write(stream, early->res, use_nothrow);
                if (!wec) co_await close_gracefully(stream);
                co_return;
            }
        }
        if (beast::iequals(parser.get()[http::field::expect], "100-continue") && !parser.is_done()) {
            http::response<http::empty_body> go_on{http::status::continue_, 11};
            tcp_layer.expires_after(write_timeout);
            auto [cec, cn] = co_await http::async_write(stream, go_on, use_nothrow);
            if (cec) co_return;
        }

        if (cuts) {
            // Read about half the declared body, as a server that dies mid-upload would.
            const std::uint64_t half = parser.content_length().value_or(0) / 2;
            tcp_layer.expires_after(body_timeout);
            error_code rec;
            while (!rec && !parser.is_done() && parser.get().body().size() < half)
                std::tie(rec, std::ignore) = co_await http::async_read_some(stream, buffer, parser, use_nothrow);
            // Closed by the peer or by the destructor: nothing left to cut.
            if (stopping_) co_return;
            if (f->kind == fault_kind::reset_mid_body) {
                append_log(what + " -> reset (fault)");
                error_code ignored;
                tcp_layer.socket().set_option(asio::socket_base::linger(true, 0), ignored);
                tcp_layer.close();  // SO_LINGER 0: the kernel sends RST
                co_return;
            }
            append_log(what + " -> stall (fault)");
            if (rec) co_return;   // the peer is gone already
            tcp_layer.expires_never();
            timer.expires_after(f->delay);
            co_await timer.async_wait(use_nothrow);
            tcp_layer.close();
            co_return;
        }

        if (f && f->kind == fault_kind::slow_body) {
            // A slow but steady peer: one read per `delay`, so the client's
            // writes move slowly (with options::receive_buffer small, they move
            // at about that buffer per read, and never stop for long).
            tcp_layer.expires_after(body_timeout);
            buffer.reserve(64 * 1024);   // else each read takes what the buffer has room for: ~512 B
            error_code rec;
            while (!rec && !parser.is_done() && !stopping_) {
                timer.expires_after(f->delay);
                co_await timer.async_wait(use_nothrow);
                std::tie(rec, std::ignore) = co_await http::async_read_some(stream, buffer, parser, use_nothrow);
            }
            if (rec || stopping_) {
                append_log(what + " -> dropped (" + rec.message() + ")");
                co_return;
            }
        }
        tcp_layer.expires_after(body_timeout);
        if (!parser.is_done()) {
            auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
            if (rec) {
                append_log(what + " -> dropped (" + rec.message() + ")");
                co_return;
            }
        }
        request req = parser.release();
        reply r = handle(info, req, f);
        const bool keep = req.keep_alive() && !(f && f->kind == fault_kind::connection_close);
        r.res.keep_alive(keep);
        std::string line = what + " -> " + std::to_string(r.res.result_int());
        if (!r.code.empty()) line += " " + r.code;
        if (f) line += " (fault " + std::string(to_string(f->kind)) + ")";
        append_log(std::move(line));
        req = {};  // free a part's buffer before waiting

        if (opt_.response_delay.count() > 0) {
            if (stopping_) co_return;
            tcp_layer.expires_never();
            timer.expires_after(opt_.response_delay);
            auto [tec] = co_await timer.async_wait(use_nothrow);
            if (tec || stopping_) co_return;
        }
        if (f && f->kind == fault_kind::slow_first_byte) {
            if (stopping_) co_return;
            tcp_layer.expires_never();
            timer.expires_after(f->delay);
            auto [tec] = co_await timer.async_wait(use_nothrow);
            if (tec || stopping_) co_return;
        }
        tcp_layer.expires_after(write_timeout);
        auto [wec, wn] = co_await http::async_write(stream, r.res, use_nothrow);
        if (wec) co_return;
        if (!keep) {
            co_await close_gracefully(stream);
            co_return;
        }
    }
}

// ---- request handling (pure apart from the state under mu_) ---------------------

// Refusals decided from the header alone; the body is left unread and the
// connection closed after the answer.
std::optional<reply> s3_test_server::impl::before_body(const request_info& info,
                                                         const http::request_parser<http::string_body>& parser) {
    std::lock_guard lock(mu_);
    if (parser.chunked() || (info.method == "PUT" && !parser.content_length()))
        return error(info, {http::status::length_required, "MissingContentLength",
                            "You must provide the Content-Length HTTP header."});
    if (parser.content_length() && *parser.content_length() > max_request_body)
        return error(info, {http::status::bad_request, "EntityTooLarge",
                            "Your proposed upload exceeds the maximum allowed size (test server: 64 MiB per request)"});
    return std::nullopt;
}

reply s3_test_server::impl::handle(const request_info& info, request& req, const std::optional<fault>& f) {
    std::lock_guard lock(mu_);
    if (f) {
        auto faulted = [&](http::status s, const char* code, const char* message) {
            reply r = error(info, {s, code, message});
            r.fault_applied = true;
            return r;
        };
        switch (f->kind) {
        case fault_kind::status_500:
            return faulted(http::status::internal_server_error, "InternalError",
                           "We encountered an internal error. Please try again.");
        case fault_kind::slow_down_503: {
            reply r = faulted(http::status::service_unavailable, "SlowDown", "Please reduce your request rate.");
            r.res.set(http::field::retry_after, std::to_string(f->retry_after_s));
            return r;
        }
        case fault_kind::error_in_200:
            return faulted(http::status::ok, "InternalError", "We encountered an internal error. Please try again.");
        case fault_kind::no_such_upload:
            return faulted(http::status::not_found, "NoSuchUpload",
                           "The specified upload does not exist. The upload ID may be invalid, or the upload may "
                           "have been aborted or completed.");
        case fault_kind::access_denied:
            return faulted(http::status::forbidden, "AccessDenied", "Access Denied");
        case fault_kind::no_such_key:
            return faulted(http::status::not_found, "NoSuchKey", "The specified key does not exist.");
        case fault_kind::corrupt_body:
            if (!req.body().empty()) req.body()[req.body().size() / 2] ^= 0x5a;
            break;
        case fault_kind::connection_close:
        case fault_kind::slow_first_byte:
        case fault_kind::slow_body:
        case fault_kind::reset_mid_body:
        case fault_kind::stall:
            break;
        }
    }
    return process(info, req);
}

reply s3_test_server::impl::process(const request_info& info, request& req) {
    if (!info.target_ok)
        return error(info, {http::status::bad_request, "InvalidURI", "Couldn't parse the specified URI."});
    if (auto f = authenticate(info, req)) return error(info, *f);
    if (info.bucket.empty())
        return error(info, {http::status::not_implemented, "NotImplemented",
                            "The test server does not implement bucket listing."});

    if (!buckets_.count(info.bucket))
        return error(info, {http::status::not_found, "NoSuchBucket", "The specified bucket does not exist"});

    if (!opt_.checks_crc32c) {
        // RGW 16: the headers are accepted and play no part (after the
        // signature check, which covers them).
        req.erase("x-amz-checksum-crc32c");
        req.erase("x-amz-checksum-algorithm");
        req.erase("x-amz-sdk-checksum-algorithm");
    }

    // Content-MD5 is checked on every request that carries it, as S3 does.
    if (auto it = req.find(http::field::content_md5); it != req.end()) {
        auto digest = sv4::base64_decode(trim(it->value()));
        if (!digest || digest->size() != 16)
            return error(info, integrity_fail(http::status::bad_request, "InvalidDigest",
                                              "The Content-MD5 you specified was invalid."));
        if (*digest != md5_raw(req.body()))
            return error(info, integrity_fail(http::status::bad_request, "BadDigest",
                                              "The Content-MD5 you specified did not match what we received."));
        ++stats_.content_md5_checked;
    }

    switch (info.op) {
    case s3_op::create: return do_create(info, req);
    case s3_op::upload_part: return do_upload_part(info, req);
    case s3_op::complete: return do_complete(info, req);
    case s3_op::abort: return do_abort(info);
    case s3_op::list_parts: return do_list_parts(info);
    case s3_op::put_object: return do_put_object(info, req);
    case s3_op::head_object: return do_head_object(info);
    case s3_op::list_uploads: return do_list_uploads(info);
    case s3_op::list_objects: return do_list_objects(info);
    case s3_op::delete_objects: return do_delete_objects(info, req);
    case s3_op::other: break;
    }
    return error(info, {http::status::not_implemented, "NotImplemented",
                        "A header or query you provided implies functionality that is not implemented."});
}

// ---- authentication ---------------------------------------------------------

std::optional<failure> s3_test_server::impl::authenticate(const request_info& info, const request& req) {
    auto auth = req.find(http::field::authorization);
    const bool query_mode = info.has_query("X-Amz-Algorithm") || info.has_query("X-Amz-Signature") ||
                            info.has_query("X-Amz-Credential");
    if (auth != req.end() && query_mode)
        return sig_fail(http::status::bad_request, "InvalidArgument",
                        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                        "string parameter or the Authorization header should be specified");
    if (auth != req.end()) return header_auth(info, req, auth->value());
    if (query_mode) return query_auth(info, req);
    return sig_fail(http::status::forbidden, "AccessDenied", "Access Denied (anonymous request)");
}

// Credential = AKID/YYYYMMDD/region/s3/aws4_request
std::optional<failure> s3_test_server::impl::check_scope(std::string_view credential, const sv4::amz_date& date,
                                                        bool query_mode) {
    const auto malformed_code = query_mode ? "AuthorizationQueryParametersError" : "AuthorizationHeaderMalformed";
    auto parts = split(credential, '/');
    if (parts.size() != 5)
        return sig_fail(http::status::bad_request, malformed_code,
                        "The Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
    if (parts[0] != opt_.access_key_id)
        return sig_fail(http::status::forbidden, "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.");
    if (parts[1] != date.day())
        return sig_fail(http::status::bad_request, malformed_code,
                        "Invalid credential date. Date is not the same as X-Amz-Date.");
    if (parts[2] != opt_.region)
        return sig_fail(http::status::bad_request, malformed_code,
                        "The authorization header is malformed; the region '" + std::string(parts[2]) +
                            "' is wrong; expecting '" + opt_.region + "'");
    if (parts[3] != "s3" || parts[4] != "aws4_request")
        return sig_fail(http::status::bad_request, malformed_code,
                        "The Credential is mal-formed; the service must be s3 and the terminator aws4_request.");
    return std::nullopt;
}

// UNSIGNED-PAYLOAD, or the real SHA-256 of the body.
std::optional<failure> s3_test_server::impl::check_payload_hash(const request& req, std::string_view claimed) {
    if (claimed == sv4::unsigned_payload) return std::nullopt;
    if (lower(claimed) != sv4::sha256_hex(req.body()))
        return integrity_fail(http::status::bad_request, "XAmzContentSHA256Mismatch",
                              "The provided 'x-amz-content-sha256' header does not match what was computed.");
    return std::nullopt;
}

namespace {

// The request's headers named in SignedHeaders, as received.
std::vector<sv4::header> signed_header_values(const request& req, const std::vector<std::string_view>& names) {
    std::vector<sv4::header> out;
    for (const auto& field : req) {
        std::string name = lower(field.name_string());
        if (std::find(names.begin(), names.end(), name) != names.end())
            out.push_back({std::move(name), std::string(field.value())});
    }
    return out;
}

} // namespace

std::optional<failure> s3_test_server::impl::header_auth(const request_info& info, const request& req,
                                                        std::string_view authorization) {
    constexpr std::string_view prefix = "AWS4-HMAC-SHA256 ";
    if (!authorization.starts_with(prefix))
        return sig_fail(http::status::bad_request, "InvalidRequest",
                        "The authorization mechanism you have provided is not supported. Please use "
                        "AWS4-HMAC-SHA256.");
    std::map<std::string, std::string, std::less<>> fields;
    for (auto item : split(authorization.substr(prefix.size()), ',')) {
        item = trim(item);
        auto eq = item.find('=');
        if (eq == std::string_view::npos) continue;
        fields.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
    }
    auto credential = fields.find("Credential");
    auto signed_names = fields.find("SignedHeaders");
    auto signature = fields.find("Signature");
    if (credential == fields.end() || signed_names == fields.end() || signature == fields.end())
        return sig_fail(http::status::bad_request, "AuthorizationHeaderMalformed",
                        "The authorization header is malformed; it needs Credential, SignedHeaders and Signature.");

    auto date_it = req.find("x-amz-date");
    if (date_it == req.end())
        return sig_fail(http::status::forbidden, "AccessDenied",
                        "AWS authentication requires a valid Date or x-amz-date header");
    std::optional<sv4::amz_date> date;
    try {
        date = sv4::amz_date::parse(trim(date_it->value()));
    } catch (const sv4::sigv4_error&) {
        return sig_fail(http::status::forbidden, "AccessDenied",
                        "AWS authentication requires a valid Date or x-amz-date header");
    }
    if (auto f = check_scope(credential->second, *date, false)) return f;
    auto skew = std::chrono::system_clock::now() - date->time_point();
    if (skew > max_clock_skew || skew < -max_clock_skew)
        return sig_fail(http::status::forbidden, "RequestTimeTooSkewed",
                        "The difference between the request time and the current time is too large.");

    auto sha_it = req.find("x-amz-content-sha256");
    if (sha_it == req.end())
        return sig_fail(http::status::bad_request, "InvalidRequest",
                        "Missing required header for this request: x-amz-content-sha256");
    std::string payload_hash(trim(sha_it->value()));
    if (payload_hash != sv4::unsigned_payload && !is_sha256_hex(payload_hash)) {
        if (payload_hash.starts_with("STREAMING-"))
            return sig_fail(http::status::not_implemented, "NotImplemented",
                            "The test server does not implement aws-chunked streaming uploads.");
        return sig_fail(http::status::bad_request, "InvalidArgument",
                        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value.");
    }

    auto names = split(signed_names->second, ';');
    for (std::string_view required : {"host", "x-amz-date", "x-amz-content-sha256"})
        if (std::find(names.begin(), names.end(), required) == names.end())
            return sig_fail(http::status::forbidden, "AccessDenied",
                            "There were headers present in the request which were not signed: " +
                                std::string(required));
    // S3 wants every x-amz-* header that is sent to be signed.
    for (const auto& field : req) {
        std::string name = lower(field.name_string());
        if (name.starts_with("x-amz-") && std::find(names.begin(), names.end(), name) == names.end())
            return sig_fail(http::status::forbidden, "AccessDenied",
                            "There were headers present in the request which were not signed: " + name);
    }

    sv4::request to_sign;
    to_sign.method = info.method;
    to_sign.path = info.path;
    to_sign.query = info.query;
    to_sign.headers = signed_header_values(req, names);
    to_sign.payload_hash = payload_hash;
    sv4::signing_params params;
    params.region = opt_.region;
    params.date = *date;
    sv4::signature_result expected;
    try {
        expected = signer_.sign_headers(to_sign, params);
    } catch (const sv4::sigv4_error&) {
        return sig_fail(http::status::forbidden, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided.");
    }
    if (expected.signed_headers != signed_names->second || !same_secret_text(expected.signature, signature->second))
        return sig_fail(http::status::forbidden, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided. Check "
                        "your key and signing method.");
    return check_payload_hash(req, payload_hash);
}

std::optional<failure> s3_test_server::impl::query_auth(const request_info& info, const request& req) {
    auto param = [&](std::string_view name) { return info.query_value(name); };
    const auto bad = [](std::string message) {
        return sig_fail(http::status::bad_request, "AuthorizationQueryParametersError", std::move(message));
    };
    auto algorithm = param("X-Amz-Algorithm");
    auto credential = param("X-Amz-Credential");
    auto date_text = param("X-Amz-Date");
    auto expires_text = param("X-Amz-Expires");
    auto signed_names = param("X-Amz-SignedHeaders");
    auto signature = param("X-Amz-Signature");
    if (!algorithm || !credential || !date_text || !expires_text || !signed_names || !signature)
        return bad("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                   "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
    if (*algorithm != sv4::algorithm) return bad("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    std::optional<sv4::amz_date> date;
    try {
        date = sv4::amz_date::parse(*date_text);
    } catch (const sv4::sigv4_error&) {
        return bad("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    }
    auto expires = parse_number(*expires_text, 1, static_cast<std::uint64_t>(sv4::max_presign_expiry.count()));
    if (!expires) return bad("X-Amz-Expires must be a number of seconds from 1 to 604800.");
    if (auto f = check_scope(*credential, *date, true)) return f;

    const auto now = std::chrono::system_clock::now();
    if (date->time_point() - now > max_clock_skew)
        return sig_fail(http::status::forbidden, "AccessDenied", "Request is not valid yet");
    if (now > date->time_point() + std::chrono::seconds(*expires))
        return sig_fail(http::status::forbidden, "AccessDenied", "Request has expired");

    auto names = split(*signed_names, ';');
    if (std::find(names.begin(), names.end(), "host") == names.end())
        return sig_fail(http::status::forbidden, "AccessDenied",
                        "There were headers present in the request which were not signed: host");

    sv4::request to_sign;
    to_sign.method = info.method;
    to_sign.path = info.path;
    for (const auto& q : info.query) {
        static constexpr std::string_view added[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                                                     "X-Amz-SignedHeaders", "X-Amz-Expires", "X-Amz-Signature"};
        if (std::find(std::begin(added), std::end(added), q.first) == std::end(added)) to_sign.query.push_back(q);
    }
    to_sign.headers = signed_header_values(req, names);
    // Presigned URLs sign UNSIGNED-PAYLOAD unless the client sends the hash.
    auto sha_it = req.find("x-amz-content-sha256");
    to_sign.payload_hash = sha_it == req.end() ? std::string(sv4::unsigned_payload) : std::string(trim(sha_it->value()));
    sv4::signing_params params;
    params.region = opt_.region;
    params.date = *date;
    sv4::signature_result expected;
    try {
        expected = signer_.presign(to_sign, params, std::chrono::seconds(*expires));
    } catch (const sv4::sigv4_error&) {
        return sig_fail(http::status::forbidden, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided.");
    }
    if (expected.signed_headers != *signed_names || !same_secret_text(expected.signature, *signature))
        return sig_fail(http::status::forbidden, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided. Check "
                        "your key and signing method.");
    return check_payload_hash(req, to_sign.payload_hash);
}

// ---- integrity --------------------------------------------------------------

// `declared`: the upload was created with x-amz-checksum-algorithm CRC32C.
// `is_part`: an UploadPart (whose checksum type must match the upload's).
std::optional<failure> s3_test_server::impl::check_crc32c(const request& req, bool declared, bool is_part,
                                                         std::string* raw_out) {
    for (const char* other : {"x-amz-checksum-crc32", "x-amz-checksum-sha1", "x-amz-checksum-sha256",
                              "x-amz-checksum-crc64nvme"})
        if (req.find(other) != req.end())
            return failure{http::status::bad_request, "InvalidRequest",
                           std::string("The test server verifies only CRC32C checksums, got ") + other};
    auto it = req.find("x-amz-checksum-crc32c");
    if (it == req.end()) {
        if (declared)
            return failure{http::status::bad_request, "InvalidRequest",
                           "Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum Type: "
                           "null"};
        return std::nullopt;
    }
    if (is_part && !declared)
        return failure{http::status::bad_request, "InvalidRequest",
                       "Checksum Type mismatch occurred, expected checksum Type: null, actual checksum Type: crc32c"};
    auto raw = sv4::base64_decode(trim(it->value()));
    if (!raw || raw->size() != 4)
        return failure{http::status::bad_request, "InvalidRequest", "Value for x-amz-checksum-crc32c header is invalid."};
    if (*raw != big_endian(crc32c(req.body())))
        return integrity_fail(http::status::bad_request, "BadDigest",
                              "The CRC32C you specified did not match the calculated checksum.");
    if (raw_out) *raw_out = std::move(*raw);
    return std::nullopt;
}

// ---- operations (called with mu_ held) ----------------------------------------

upload_record* s3_test_server::impl::find_upload(const request_info& info) {
    auto id = info.query_value("uploadId");
    if (!id) return nullptr;
    auto it = uploads_.find(*id);
    if (it == uploads_.end() || it->second.bucket != info.bucket || it->second.key != info.key) return nullptr;
    return &it->second;
}

namespace {
const failure no_such_upload{http::status::not_found, "NoSuchUpload",
                             "The specified upload does not exist. The upload ID may be invalid, or the upload may "
                             "have been aborted or completed."};
}

reply s3_test_server::impl::do_create(const request_info& info, request& req) {
    bool crc = false;
    if (auto it = req.find("x-amz-checksum-algorithm"); it != req.end()) {
        if (!iequals(trim(it->value()), "CRC32C"))
            return error(info, {http::status::not_implemented, "NotImplemented",
                                "The test server supports only the CRC32C checksum algorithm."});
        crc = true;
    }
    std::string id = random_token(64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
    uploads_[id] = upload_record{info.bucket, info.key, crc, iso_time(std::chrono::system_clock::now()), {},
                                 next_upload_sequence_++};
    std::string xml = "<InitiateMultipartUploadResult xmlns=\"" + std::string(s3_xmlns) + "\">" +
                      xml_element("Bucket", info.bucket) + xml_element("Key", info.key) + xml_element("UploadId", id) +
                      "</InitiateMultipartUploadResult>";
    reply r = ok(info, http::status::ok, std::move(xml));
    if (crc) r.res.set("x-amz-checksum-algorithm", "CRC32C");
    return r;
}

reply s3_test_server::impl::do_upload_part(const request_info& info, request& req) {
    upload_record* up = find_upload(info);
    if (!up) return error(info, no_such_upload);
    if (!info.part_number)
        return error(info, {http::status::bad_request, "InvalidArgument",
                            "Part number must be an integer between 1 and 10000, inclusive"});
    part_record part;
    if (auto f = check_crc32c(req, up->crc32c, true, &part.crc32c)) return error(info, *f);
    part.md5 = md5_raw(req.body());
    part.last_modified = iso_time(std::chrono::system_clock::now());
    part.data = std::move(req.body());
    reply r = ok(info);
    r.res.set(http::field::etag, "\"" + to_hex(part.md5) + "\"");
    if (up->crc32c) r.res.set("x-amz-checksum-crc32c", to_base64(part.crc32c));
    stats_.part_bytes += part.data.size();
    up->parts[*info.part_number] = std::move(part);
    return r;
}

reply s3_test_server::impl::do_complete(const request_info& info, request& req) {
    auto id = info.query_value("uploadId");
    if (id) {
        // A retried Complete of a completed upload gets the same answer.
        auto done = completed_.find(*id);
        if (done != completed_.end() && done->second.bucket == info.bucket && done->second.key == info.key)
            return ok(info, http::status::ok, done->second.result_xml);
    }
    upload_record* up = find_upload(info);
    if (!up) return error(info, no_such_upload);

    const failure malformed{http::status::bad_request, "MalformedXML",
                            "The XML you provided was not well-formed or did not validate against our published "
                            "schema"};
    pugi::xml_document doc;
    auto parsed = doc.load_buffer(req.body().data(), req.body().size(), pugi::parse_default);
    auto root = doc.document_element();
    if (!parsed || !root || local_name(root.name()) != "CompleteMultipartUpload") return error(info, malformed);

    struct wanted {
        std::uint32_t number;
        std::string etag;
        std::optional<std::string> crc;
    };
    std::vector<wanted> parts;
    for (auto node : root.children()) {
        if (node.type() != pugi::node_element || local_name(node.name()) != "Part") continue;
        auto number_node = child(node, "PartNumber");
        auto etag_node = child(node, "ETag");
        if (!number_node || !etag_node) return error(info, malformed);
        auto number = parse_number(trim(number_node.child_value()), 1, max_part_number);
        if (!number)
            return error(info, {http::status::bad_request, "InvalidArgument",
                                "Part number must be an integer between 1 and 10000, inclusive"});
        wanted w{static_cast<std::uint32_t>(*number), strip_quotes(etag_node.child_value()), std::nullopt};
        if (auto crc = child(node, "ChecksumCRC32C")) w.crc = std::string(trim(crc.child_value()));
        parts.push_back(std::move(w));
    }
    if (parts.empty()) return error(info, malformed);
    for (std::size_t i = 1; i < parts.size(); ++i)
        if (parts[i].number <= parts[i - 1].number)
            return error(info, {http::status::bad_request, "InvalidPartOrder",
                                "The list of parts was not in ascending order. The parts list must be specified in "
                                "order by part number."});
    const failure invalid_part{http::status::bad_request, "InvalidPart",
                               "One or more of the specified parts could not be found. The part may not have been "
                               "uploaded, or the specified entity tag may not match the part's entity tag."};
    for (std::size_t i = 0; i < parts.size(); ++i) {
        auto it = up->parts.find(parts[i].number);
        if (it == up->parts.end() || parts[i].etag != to_hex(it->second.md5)) return error(info, invalid_part);
        if (up->crc32c) {
            if (!parts[i].crc || *parts[i].crc != to_base64(it->second.crc32c))
                return error(info, {http::status::bad_request, "InvalidPart",
                                    "The upload was created using a crc32c checksum. The complete request must "
                                    "include the checksum for each part. It was missing or did not match for part " +
                                        std::to_string(parts[i].number) + "."});
        } else if (parts[i].crc && opt_.checks_crc32c) {
            return error(info, {http::status::bad_request, "InvalidPart",
                                "The upload was not created with a checksum algorithm, but part " +
                                    std::to_string(parts[i].number) + " names a ChecksumCRC32C."});
        }
    }
    // Sizes only once every named part is known to exist.
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto size = up->parts.at(parts[i].number).data.size();
        if (i + 1 < parts.size() && size < opt_.min_part_size)
            return error(info, {http::status::bad_request, "EntityTooSmall",
                                "Your proposed upload is smaller than the minimum allowed size"});
        total += size;
    }

    object_record obj;
    obj.data.reserve(total);
    std::string md5s, crcs;
    for (const auto& w : parts) {
        const auto& p = up->parts.at(w.number);
        obj.data += p.data;
        md5s += p.md5;
        crcs += p.crc32c;
    }
    const std::string n = std::to_string(parts.size());
    obj.etag = "\"" + to_hex(md5_raw(md5s)) + "-" + n + "\"";
    obj.last_modified = http_date(std::chrono::system_clock::now());
    obj.last_modified_iso = iso_time(std::chrono::system_clock::now());
    std::string scheme = opt_.tls ? "https" : "http";
    std::string xml = "<CompleteMultipartUploadResult xmlns=\"" + std::string(s3_xmlns) + "\">" +
                      xml_element("Location", scheme + "://127.0.0.1:" + std::to_string(port_) +
                                                  sv4::uri_encode(info.path, true)) +
                      xml_element("Bucket", info.bucket) + xml_element("Key", info.key) + xml_element("ETag", obj.etag);
    if (up->crc32c) xml += xml_element("ChecksumCRC32C", crc32c_base64(crcs) + "-" + n);
    xml += "</CompleteMultipartUploadResult>";

    objects_[{info.bucket, info.key}] = std::move(obj);
    completed_[*id] = completed_record{info.bucket, info.key, xml};
    uploads_.erase(*id);
    return ok(info, http::status::ok, std::move(xml));
}

reply s3_test_server::impl::do_abort(const request_info& info) {
    if (!find_upload(info)) return error(info, no_such_upload);
    const std::string& id = *info.query_value("uploadId");
    aborted_.push_back(id);
    uploads_.erase(id);
    return ok(info, http::status::no_content);
}

reply s3_test_server::impl::do_list_parts(const request_info& info) {
    upload_record* up = find_upload(info);
    if (!up) return error(info, no_such_upload);
    std::uint64_t max_parts = 1000;
    if (auto v = info.query_value("max-parts")) {
        auto n = parse_number(*v, 0, 2147483647);
        if (!n)
            return error(info, {http::status::bad_request, "InvalidArgument",
                                "Provided max-parts not an integer or within integer range"});
        max_parts = *n;
    }
    max_parts = std::min<std::uint64_t>({max_parts, 1000, opt_.max_parts_per_page});
    std::uint64_t marker = 0;
    if (auto v = info.query_value("part-number-marker")) {
        auto n = parse_number(*v, 0, 2147483647);
        if (!n)
            return error(info, {http::status::bad_request, "InvalidArgument",
                                "Provided part-number-marker not an integer or within integer range"});
        marker = *n;
    }

    std::string parts_xml;
    std::uint32_t last = 0;
    std::uint64_t listed = 0;
    bool truncated = false;
    for (auto it = up->parts.upper_bound(static_cast<std::uint32_t>(std::min<std::uint64_t>(marker, max_part_number)));
         it != up->parts.end(); ++it) {
        if (listed == max_parts) {
            truncated = true;
            break;
        }
        const auto& [number, p] = *it;
        parts_xml += "<Part>" + xml_element("PartNumber", std::to_string(number)) +
                     xml_element("LastModified", p.last_modified) + xml_element("ETag", "\"" + to_hex(p.md5) + "\"") +
                     xml_element("Size", std::to_string(p.data.size()));
        if (up->crc32c) parts_xml += xml_element("ChecksumCRC32C", to_base64(p.crc32c));
        parts_xml += "</Part>";
        last = number;
        ++listed;
    }
    std::string xml = "<ListPartsResult xmlns=\"" + std::string(s3_xmlns) + "\">" + xml_element("Bucket", info.bucket) +
                      xml_element("Key", info.key) + xml_element("UploadId", *info.query_value("uploadId")) +
                      xml_element("PartNumberMarker", std::to_string(marker)) +
                      xml_element("NextPartNumberMarker", std::to_string(last)) +
                      xml_element("MaxParts", std::to_string(max_parts)) +
                      xml_element("IsTruncated", truncated ? "true" : "false") +
                      (up->crc32c ? xml_element("ChecksumAlgorithm", "CRC32C") : std::string()) +
                      xml_element("StorageClass", "STANDARD") + parts_xml + "</ListPartsResult>";
    return ok(info, http::status::ok, std::move(xml));
}

namespace {

// encoding-type=url as S3 answers it: every byte but unreserved characters and
// '/' percent-encoded (a literal '+' too, which clients decode as a space).
std::string url_encode_key(std::string_view key) { return sv4::uri_encode(key, true); }

// The common list parameters: encoding-type (only "url"), no delimiter (the
// server lists flat), and a page size capped by S3's 1,000 and the server's own.
struct list_params {
    bool encode = false;
    std::uint64_t page = 1000;
};

std::variant<list_params, failure> read_list_params(const request_info& info, const char* size_name,
                                                    std::size_t server_cap) {
    list_params out;
    if (auto v = info.query_value("encoding-type")) {
        if (*v != "url")
            return failure{http::status::bad_request, "InvalidArgument", "Invalid Encoding Method specified in Request"};
        out.encode = true;
    }
    if (info.has_query("delimiter"))
        return failure{http::status::not_implemented, "NotImplemented", "The test server does not list with a delimiter."};
    if (auto v = info.query_value(size_name)) {
        auto n = parse_number(*v, 0, 2147483647);
        if (!n)
            return failure{http::status::bad_request, "InvalidArgument",
                           std::string("Provided ") + size_name + " not an integer or within integer range"};
        out.page = *n;
    }
    out.page = std::min<std::uint64_t>({out.page, 1000, server_cap});
    return out;
}

// ListObjectsV2's continuation token: opaque to clients; here the last key
// listed, base64 behind a tag so that a made-up token is recognised.
constexpr std::string_view token_tag = "hoist-test-token:";

} // namespace

reply s3_test_server::impl::do_list_uploads(const request_info& info) {
    auto params = read_list_params(info, "max-uploads", opt_.max_uploads_per_page);
    if (auto* f = std::get_if<failure>(&params)) return error(info, *f);
    const auto [encode, page] = std::get<list_params>(params);
    const std::string prefix = info.query_value("prefix") ? *info.query_value("prefix") : std::string();
    const std::string key_marker = info.query_value("key-marker") ? *info.query_value("key-marker") : std::string();
    const std::string* id_marker = info.query_value("upload-id-marker");
    auto enc = [&](std::string_view key) { return encode ? url_encode_key(key) : std::string(key); };

    // S3's order: by key (UTF-8 binary: std::string compares as unsigned
    // bytes), then by initiation (here the creation order).
    std::vector<std::pair<const std::string*, const upload_record*>> matching;
    for (const auto& [id, up] : uploads_)
        if (up.bucket == info.bucket && up.key.starts_with(prefix)) matching.emplace_back(&id, &up);
    std::sort(matching.begin(), matching.end(), [](const auto& a, const auto& b) {
        return std::tie(a.second->key, a.second->sequence) < std::tie(b.second->key, b.second->sequence);
    });
    // After the markers: keys after key-marker; with upload-id-marker also the
    // uploads of key-marker itself that come after that upload (after ids
    // greater than it, as S3 words it, when that upload is gone).
    std::optional<std::uint64_t> marker_sequence;
    if (id_marker)
        for (const auto& [id, up] : matching)
            if (up->key == key_marker && *id == *id_marker) marker_sequence = up->sequence;
    auto after_markers = [&](const std::string& id, const upload_record& up) {
        if (key_marker.empty() || up.key > key_marker) return true;
        if (up.key < key_marker || !id_marker) return false;
        return marker_sequence ? up.sequence > *marker_sequence : id > *id_marker;
    };

    std::string uploads_xml, next_key, next_id;
    std::uint64_t listed = 0;
    bool truncated = false;
    for (const auto& [id, up] : matching) {
        if (!after_markers(*id, *up)) continue;
        if (listed == page) {
            truncated = true;
            break;
        }
        uploads_xml += "<Upload>" + xml_element("Key", enc(up->key)) + xml_element("UploadId", *id) +
                       xml_element("StorageClass", "STANDARD") + xml_element("Initiated", up->initiated) + "</Upload>";
        next_key = up->key;
        next_id = *id;
        ++listed;
    }
    std::string xml = "<ListMultipartUploadsResult xmlns=\"" + std::string(s3_xmlns) + "\">" +
                      xml_element("Bucket", info.bucket) + xml_element("KeyMarker", enc(key_marker)) +
                      xml_element("UploadIdMarker", id_marker ? *id_marker : std::string()) +
                      (truncated ? xml_element("NextKeyMarker", enc(next_key)) +
                                       xml_element("NextUploadIdMarker", next_id)
                                 : std::string()) +
                      (encode ? xml_element("EncodingType", "url") : std::string()) +
                      xml_element("Prefix", enc(prefix)) + xml_element("MaxUploads", std::to_string(page)) +
                      xml_element("IsTruncated", truncated ? "true" : "false") + uploads_xml +
                      "</ListMultipartUploadsResult>";
    return ok(info, http::status::ok, std::move(xml));
}

reply s3_test_server::impl::do_list_objects(const request_info& info) {
    auto params = read_list_params(info, "max-keys", opt_.max_keys_per_page);
    if (auto* f = std::get_if<failure>(&params)) return error(info, *f);
    const auto [encode, page] = std::get<list_params>(params);
    const std::string prefix = info.query_value("prefix") ? *info.query_value("prefix") : std::string();
    const std::string* token = info.query_value("continuation-token");
    const std::string* start_after = info.query_value("start-after");
    auto enc = [&](std::string_view key) { return encode ? url_encode_key(key) : std::string(key); };

    // Listing starts after the token's key, else after start-after, else at the prefix.
    std::optional<std::string> after;
    if (token) {
        auto raw = std::string_view(*token).starts_with(token_tag)
                       ? sv4::base64_decode(std::string_view(*token).substr(token_tag.size()))
                       : std::nullopt;
        if (!raw || raw->empty())
            return error(info, {http::status::bad_request, "InvalidArgument",
                                "The continuation token provided is incorrect"});
        after = std::move(*raw);
    } else if (start_after && !start_after->empty()) {
        after = *start_after;
    }
    auto it = after ? objects_.upper_bound({info.bucket, *after}) : objects_.lower_bound({info.bucket, prefix});
    std::string contents, last_key;
    std::uint64_t listed = 0;
    bool truncated = false;
    for (; it != objects_.end() && it->first.first == info.bucket; ++it) {
        const std::string& key = it->first.second;
        const object_record& obj = it->second;
        if (!key.starts_with(prefix)) {
            if (key > prefix) break;   // past every key with the prefix (binary order)
            continue;
        }
        if (listed == page) {
            truncated = true;
            break;
        }
        contents += "<Contents>" + xml_element("Key", enc(key)) + xml_element("LastModified", obj.last_modified_iso) +
                    xml_element("ETag", obj.etag) + xml_element("Size", std::to_string(obj.data.size())) +
                    xml_element("StorageClass", "STANDARD") + "</Contents>";
        last_key = key;
        ++listed;
    }
    std::string xml = "<ListBucketResult xmlns=\"" + std::string(s3_xmlns) + "\">" + xml_element("Name", info.bucket) +
                      xml_element("Prefix", enc(prefix)) + xml_element("KeyCount", std::to_string(listed)) +
                      xml_element("MaxKeys", std::to_string(page)) +
                      (encode ? xml_element("EncodingType", "url") : std::string()) +
                      xml_element("IsTruncated", truncated ? "true" : "false") +
                      (token ? xml_element("ContinuationToken", *token) : std::string()) +
                      (truncated ? xml_element("NextContinuationToken", std::string(token_tag) + to_base64(last_key))
                                 : std::string()) +
                      (start_after ? xml_element("StartAfter", enc(*start_after)) : std::string()) + contents +
                      "</ListBucketResult>";
    return ok(info, http::status::ok, std::move(xml));
}

reply s3_test_server::impl::do_put_object(const request_info& info, request& req) {
    if (req.find("x-amz-copy-source") != req.end())
        return error(info, {http::status::not_implemented, "NotImplemented", "The test server does not copy objects."});
    std::string crc;
    if (auto f = check_crc32c(req, false, false, &crc)) return error(info, *f);
    object_record obj;
    obj.etag = "\"" + md5_hex(req.body()) + "\"";
    obj.last_modified = http_date(std::chrono::system_clock::now());
    obj.last_modified_iso = iso_time(std::chrono::system_clock::now());
    obj.data = std::move(req.body());
    reply r = ok(info);
    r.res.set(http::field::etag, obj.etag);
    if (!crc.empty()) r.res.set("x-amz-checksum-crc32c", to_base64(crc));
    objects_[{info.bucket, info.key}] = std::move(obj);
    return r;
}

reply s3_test_server::impl::do_delete_objects(const request_info& info, request& req) {
    // S3 refuses a DeleteObjects without an integrity header (process() has
    // checked the value when there is one).
    if (req.find(http::field::content_md5) == req.end() && req.find("x-amz-checksum-crc32c") == req.end())
        return error(info, {http::status::bad_request, "InvalidRequest",
                            "Missing required header for this request: Content-MD5"});
    const std::string& body = req.body();
    if (body.find("<Delete") == std::string::npos)
        return error(info, {http::status::bad_request, "MalformedXML",
                            "The XML you provided was not well-formed or did not validate against our published "
                            "schema"});
    auto unescape = [](std::string text) {
        static const std::pair<std::string_view, char> entities[] = {
            {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&amp;", '&'}};
        std::string out;
        for (std::size_t i = 0; i < text.size();) {
            bool matched = false;
            for (auto [entity, c] : entities)
                if (text.compare(i, entity.size(), entity) == 0) {
                    out += c;
                    i += entity.size();
                    matched = true;
                    break;
                }
            if (!matched) out += text[i++];
        }
        return out;
    };
    const bool quiet = body.find("<Quiet>true</Quiet>") != std::string::npos;
    std::string deleted;
    std::size_t count = 0;
    for (std::size_t at = body.find("<Key>"); at != std::string::npos; at = body.find("<Key>", at)) {
        auto end = body.find("</Key>", at);
        if (end == std::string::npos) break;
        std::string key = unescape(body.substr(at + 5, end - at - 5));
        at = end;
        if (++count > 1000)
            return error(info, {http::status::bad_request, "MalformedXML", "More than 1000 keys in a DeleteObjects"});
        objects_.erase({info.bucket, key});   // a missing key is "deleted" too, as in S3
        if (!quiet) deleted += "<Deleted>" + xml_element("Key", key) + "</Deleted>";
    }
    return ok(info, http::status::ok,
              "<DeleteResult xmlns=\"" + std::string(s3_xmlns) + "\">" + deleted + "</DeleteResult>");
}

reply s3_test_server::impl::do_head_object(const request_info& info) {
    auto it = objects_.find({info.bucket, info.key});
    if (it == objects_.end())
        return error(info, {http::status::not_found, "NoSuchKey", "The specified key does not exist."});
    reply r = ok(info);
    r.res.set(http::field::etag, it->second.etag);
    r.res.set(http::field::last_modified, it->second.last_modified);
    r.res.set(http::field::content_type, "application/octet-stream");
    r.res.content_length(it->second.data.size());
    return r;
}

// ---- responses --------------------------------------------------------------

namespace {

void common_headers(response& res, const request_info& info) {
    res.set(http::field::server, "AmazonS3");
    res.set(http::field::date, http_date(std::chrono::system_clock::now()));
    res.set("x-amz-request-id", info.request_id);
    res.set("x-amz-id-2", "hoist-test/" + info.request_id);
}

} // namespace

reply s3_test_server::impl::ok(const request_info& info, http::status status, std::string xml) {
    reply r;
    r.res.result(status);
    r.res.version(11);
    common_headers(r.res, info);
    if (!xml.empty()) {
        r.res.set(http::field::content_type, "application/xml");
        r.res.body() = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + std::move(xml);
    }
    if (info.method != "HEAD") r.res.prepare_payload();
    else r.res.content_length(0);
    return r;
}

std::string s3_test_server::impl::error_xml(const request_info& info, std::string_view code, std::string_view message) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>" + xml_element("Code", code) +
           xml_element("Message", message) + xml_element("Resource", info.resource()) +
           xml_element("RequestId", info.request_id) + xml_element("HostId", "hoist-test/" + info.request_id) +
           "</Error>";
}

reply s3_test_server::impl::error(const request_info& info, const failure& f) {
    if (f.counts == failure::counter::signature) ++stats_.signature_failures;
    if (f.counts == failure::counter::integrity) ++stats_.integrity_failures;
    reply r;
    r.code = f.code;
    r.res.result(f.status);
    r.res.version(11);
    common_headers(r.res, info);
    r.res.set(http::field::content_type, "application/xml");
    if (info.method != "HEAD") {
        r.res.body() = error_xml(info, f.code, f.message);
        r.res.prepare_payload();
    } else {
        r.res.content_length(0);
    }
    return r;
}

// ---- public interface -------------------------------------------------------------

std::string_view to_string(s3_op op) {
    switch (op) {
    case s3_op::create: return "CreateMultipartUpload";
    case s3_op::upload_part: return "UploadPart";
    case s3_op::complete: return "CompleteMultipartUpload";
    case s3_op::abort: return "AbortMultipartUpload";
    case s3_op::list_parts: return "ListParts";
    case s3_op::put_object: return "PutObject";
    case s3_op::head_object: return "HeadObject";
    case s3_op::list_uploads: return "ListMultipartUploads";
    case s3_op::list_objects: return "ListObjectsV2";
    case s3_op::delete_objects: return "DeleteObjects";
    case s3_op::other: return "Other";
    }
    return "?";
}

std::string_view to_string(fault_kind k) {
    switch (k) {
    case fault_kind::reset_mid_body: return "reset_mid_body";
    case fault_kind::status_500: return "status_500";
    case fault_kind::slow_down_503: return "slow_down_503";
    case fault_kind::stall: return "stall";
    case fault_kind::connection_close: return "connection_close";
    case fault_kind::error_in_200: return "error_in_200";
    case fault_kind::slow_first_byte: return "slow_first_byte";
    case fault_kind::slow_body: return "slow_body";
    case fault_kind::no_such_upload: return "no_such_upload";
    case fault_kind::no_such_key: return "no_such_key";
    case fault_kind::access_denied: return "access_denied";
    case fault_kind::corrupt_body: return "corrupt_body";
    }
    return "?";
}

std::uint32_t crc32c(std::string_view data) {
    // ISA-L returns the raw register (no final xor), so it chains; its length is an int.
    unsigned int crc = 0xFFFFFFFFu;
    auto p = reinterpret_cast<unsigned char*>(const_cast<char*>(data.data()));
    std::size_t left = data.size();
    while (left > 0) {
        const std::size_t chunk = std::min<std::size_t>(left, 1u << 30);
        crc = crc32_iscsi(p, static_cast<int>(chunk), crc);
        p += chunk;
        left -= chunk;
    }
    return crc ^ 0xFFFFFFFFu;
}

std::string crc32c_base64(std::string_view data) { return to_base64(big_endian(crc32c(data))); }
std::string md5_base64(std::string_view data) { return to_base64(md5_raw(data)); }
std::string md5_hex(std::string_view data) { return to_hex(md5_raw(data)); }

s3_test_server::s3_test_server() : s3_test_server(options{}) {}
s3_test_server::s3_test_server(options o) : impl_(std::make_unique<impl>(std::move(o))) {}
s3_test_server::~s3_test_server() = default;

std::uint16_t s3_test_server::port() const { return impl_->port_; }
std::string s3_test_server::endpoint_url() const {
    return std::string(impl_->opt_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port_);
}
const std::string& s3_test_server::ca_file() const { return impl_->ca_file_; }
const s3_test_server::options& s3_test_server::config() const { return impl_->opt_; }

void s3_test_server::create_bucket(const std::string& bucket) {
    std::lock_guard lock(impl_->mu_);
    impl_->buckets_.insert(bucket);
}

std::string s3_test_server::seed_upload(const std::string& bucket, const std::string& key,
                                        const std::vector<std::string>& parts,
                                        std::optional<std::chrono::system_clock::time_point> initiated) {
    std::lock_guard lock(impl_->mu_);
    std::string id =
        impl_->random_token(64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
    upload_record up{bucket, key, false, iso_time(initiated.value_or(std::chrono::system_clock::now())), {},
                     impl_->next_upload_sequence_++};
    std::uint32_t number = 0;
    for (const auto& data : parts) {
        part_record part;
        part.data = data;
        part.md5 = md5_raw(data);
        part.last_modified = up.initiated;
        up.parts[++number] = std::move(part);
    }
    impl_->uploads_[id] = std::move(up);
    return id;
}

void s3_test_server::seed_object(const std::string& bucket, const std::string& key, std::string data) {
    std::lock_guard lock(impl_->mu_);
    object_record obj;
    obj.etag = "\"" + md5_hex(data) + "\"";
    obj.last_modified = http_date(std::chrono::system_clock::now());
    obj.last_modified_iso = iso_time(std::chrono::system_clock::now());
    obj.data = std::move(data);
    impl_->objects_[{bucket, key}] = std::move(obj);
}

void s3_test_server::inject(match m, fault f) {
    if (m.occurrence < 1) throw std::invalid_argument("s3_test_server::inject: occurrence must be >= 1");
    std::lock_guard lock(impl_->mu_);
    impl_->faults_.push_back({m, f, 0});
}

std::optional<std::string> s3_test_server::object(const std::string& bucket, const std::string& key) const {
    std::lock_guard lock(impl_->mu_);
    auto it = impl_->objects_.find({bucket, key});
    if (it == impl_->objects_.end()) return std::nullopt;
    return it->second.data;
}

std::vector<std::string> s3_test_server::object_keys(const std::string& bucket) const {
    std::lock_guard lock(impl_->mu_);
    std::vector<std::string> out;
    for (auto it = impl_->objects_.lower_bound({bucket, ""}); it != impl_->objects_.end() && it->first.first == bucket;
         ++it)
        out.push_back(it->first.second);
    return out;
}

std::vector<std::string> s3_test_server::open_uploads() const {
    std::lock_guard lock(impl_->mu_);
    std::vector<std::string> out;
    for (const auto& [id, up] : impl_->uploads_) out.push_back(id);
    return out;
}

std::vector<std::string> s3_test_server::aborted_uploads() const {
    std::lock_guard lock(impl_->mu_);
    return impl_->aborted_;
}

bool s3_test_server::forget_part(const std::string& upload_id, std::uint32_t n) {
    std::lock_guard lock(impl_->mu_);
    auto it = impl_->uploads_.find(upload_id);
    return it != impl_->uploads_.end() && it->second.parts.erase(n) == 1;
}

s3_test_server::stats s3_test_server::statistics() const {
    std::lock_guard lock(impl_->mu_);
    return impl_->stats_;
}

std::vector<std::string> s3_test_server::log() const {
    std::lock_guard lock(impl_->mu_);
    return impl_->log_;
}

} // namespace hoist::test
