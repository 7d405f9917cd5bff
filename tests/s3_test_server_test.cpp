// The in-process S3 test server, exercised with a tiny client: real TLS
// (verified against ca_file()), real SigV4 from hoist::protocol, and every
// strictness rule and fault the engine's integration tests will lean on. Each
// exchange runs on the client's own io_context with run_for(), so a server that
// does not answer fails the test instead of hanging it.
#include "s3_test_server.hpp"

#include "net.hpp"
#include "hoist/protocol/s3/classify.hpp"
#include "hoist/protocol/s3/requests.hpp"
#include "hoist/protocol/s3/xml.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <random>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace p = hoist::protocol;
namespace sv4 = hoist::sigv4;
namespace utf = boost::unit_test;
using tcp = asio::ip::tcp;
using hoist::net::awaitable;
using hoist::net::use_nothrow;
using hoist::test::fault;
using hoist::test::fault_kind;
using hoist::test::match;
using hoist::test::s3_op;
using hoist::test::s3_test_server;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr std::uint64_t mib = 1024 * 1024;

std::string bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(rng());
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

struct reply {
    beast::error_code ec;   // transport failure (connect, TLS, write, read)
    unsigned status = 0;
    std::map<std::string, std::string> headers;   // lowercase names
    std::string body;
    bool keep_alive = false;
    std::chrono::milliseconds elapsed{0};

    std::string header(const std::string& name) const {
        auto it = headers.find(lower(name));
        return it == headers.end() ? std::string() : it->second;
    }
    std::string code() const {
        auto e = p::parse_error(body);
        return e ? e->code : std::string();
    }
};

// One kept-alive connection, reopened when the server closes it.
class client {
public:
    explicit client(const s3_test_server& server, bool trust_server = true)
        : tls_(server.config().tls), port_(server.port()) {
        ctx_.set_verify_mode(ssl::verify_peer);
        if (tls_ && trust_server) ctx_.load_verify_file(server.ca_file());
    }

    reply send(http::request<http::string_body> req, std::chrono::milliseconds timeout = 20s) {
        std::optional<reply> out;
        std::exception_ptr failed;
        auto on_done = [&](std::exception_ptr e, reply r) {
            failed = e;
            out = std::move(r);
        };
        asio::co_spawn(ioc_, run(std::move(req), timeout), on_done);
        ioc_.restart();
        ioc_.run_for(timeout + 2s);
        if (!out) {
            drop();
            ioc_.restart();
            ioc_.run_for(2s);
            throw std::runtime_error("test client: no outcome within the timeout");
        }
        if (failed) std::rethrow_exception(failed);
        return std::move(*out);
    }

    bool connected() const { return tls_ ? tls_stream_.has_value() : tcp_stream_.has_value(); }

private:
    void drop() {
        if (tls_stream_) beast::get_lowest_layer(*tls_stream_).close();
        if (tcp_stream_) tcp_stream_->close();
    }

    awaitable<reply> run(http::request<http::string_body> req, std::chrono::milliseconds timeout) {
        const auto start = steady::now();
        reply r;
        if (!connected()) {
            tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
            if (tls_) {
                tls_stream_.emplace(ioc_, ctx_);
                tls_stream_->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
                auto& layer = beast::get_lowest_layer(*tls_stream_);
                layer.expires_after(timeout);
                auto [cec] = co_await layer.async_connect(ep, use_nothrow);
                if (!cec) std::tie(cec) = co_await tls_stream_->async_handshake(ssl::stream_base::client, use_nothrow);
                if (cec) {
                    tls_stream_.reset();
                    r.ec = cec;
                    co_return r;
                }
            } else {
                tcp_stream_.emplace(ioc_);
                tcp_stream_->expires_after(timeout);
                auto [cec] = co_await tcp_stream_->async_connect(ep, use_nothrow);
                if (cec) {
                    tcp_stream_.reset();
                    r.ec = cec;
                    co_return r;
                }
            }
        }
        if (tls_) r = co_await exchange(*tls_stream_, req, timeout);
        else r = co_await exchange(*tcp_stream_, req, timeout);
        if (r.ec || !r.keep_alive) {
            drop();
            tls_stream_.reset();
            tcp_stream_.reset();
            buffer_.clear();
        }
        r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
        co_return r;
    }

    template <class Stream>
    awaitable<reply> exchange(Stream& stream, http::request<http::string_body>& req, std::chrono::milliseconds timeout) {
        reply r;
        beast::get_lowest_layer(stream).expires_after(timeout);
        auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
        if (wec) {
            r.ec = wec;
            co_return r;
        }
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * mib);
        if (req.method() == http::verb::head) parser.skip(true);
        auto [rec, rn] = co_await http::async_read(stream, buffer_, parser, use_nothrow);
        if (rec) {
            r.ec = rec;
            co_return r;
        }
        auto& res = parser.get();
        r.status = res.result_int();
        for (const auto& field : res) r.headers[lower(field.name_string())] = std::string(field.value());
        r.body = std::move(res.body());
        r.keep_alive = res.keep_alive();
        co_return r;
    }

    asio::io_context ioc_;
    ssl::context ctx_{ssl::context::tls_client};
    bool tls_;
    std::uint16_t port_;
    std::optional<ssl::stream<beast::tcp_stream>> tls_stream_;
    std::optional<beast::tcp_stream> tcp_stream_;
    beast::flat_buffer buffer_;
};

http::request<http::string_body> to_http(const p::s3_request& r, std::string payload) {
    http::request<http::string_body> req;
    req.method_string(r.method);
    req.target(r.target());
    req.version(11);
    req.set(http::field::host, r.host);
    for (const auto& h : r.headers) req.insert(h.name, h.value);
    req.body() = r.body.empty() ? std::move(payload) : r.body;
    req.prepare_payload();
    return req;
}

sv4::credentials credentials_of(const s3_test_server::options& o) {
    sv4::credentials c;
    c.access_key_id = o.access_key_id;
    c.secret_access_key = sv4::secret_string(o.secret);
    return c;
}

p::integrity crc_of(std::string_view data) {
    return {p::integrity::kind::crc32c, hoist::test::crc32c_base64(data)};
}

// A server with bucket "bucket", a client, and the right credentials.
struct fixture {
    explicit fixture(s3_test_server::options o = {})
        : server(std::move(o)), c(server), signer(credentials_of(server.config())) {
        server.create_bucket("bucket");
    }

    p::object_location at(const std::string& key, const std::string& bucket = "bucket") const {
        return p::locate(p::parse_endpoint(server.endpoint_url()), bucket, key, p::addressing::path);
    }

    p::s3_request signed_request(p::s3_request r, std::chrono::system_clock::time_point when = std::chrono::system_clock::now()) {
        p::sign(r, signer, server.config().region, sv4::amz_date::from(when));
        return r;
    }

    reply call(p::s3_request r, std::string payload = {}) { return c.send(to_http(signed_request(std::move(r)), std::move(payload))); }

    std::string create(const std::string& key, bool crc = true) {
        auto r = call(p::create_multipart_upload(at(key), crc ? p::integrity::kind::crc32c : p::integrity::kind::none));
        BOOST_REQUIRE_EQUAL(r.status, 200u);
        auto parsed = p::parse_initiate(r.body);
        BOOST_REQUIRE(std::holds_alternative<p::initiate_result>(parsed));
        return std::get<p::initiate_result>(parsed).upload_id;
    }

    reply part(const std::string& key, const std::string& id, std::uint32_t n, const std::string& data,
               std::optional<p::integrity> check = std::nullopt) {
        return call(p::upload_part(at(key), id, n, data.size(), check ? *check : crc_of(data)), data);
    }

    // Uploads a part and returns what Complete needs for it.
    p::completed_part good_part(const std::string& key, const std::string& id, std::uint32_t n, const std::string& data) {
        auto r = part(key, id, n, data);
        BOOST_REQUIRE_EQUAL(r.status, 200u);
        return {n, r.header("ETag"), r.header("x-amz-checksum-crc32c")};
    }

    reply complete(const std::string& key, const std::string& id, const std::vector<p::completed_part>& parts) {
        return call(p::complete_multipart_upload(at(key), id, parts));
    }

    // Complete with a hand-written body (for orders complete_body refuses).
    reply complete_raw(const std::string& key, const std::string& id, std::string xml) {
        auto r = p::complete_multipart_upload(at(key), id, {{1, "\"x\"", ""}});
        r.body = std::move(xml);
        r.content_length = r.body.size();
        r.payload_hash = sv4::sha256_hex(r.body);
        return call(std::move(r));
    }

    bool logged(const std::string& line) const {
        auto log = server.log();
        return std::find(log.begin(), log.end(), line) != log.end();
    }

    s3_test_server server;
    client c;
    sv4::signer signer;
};

std::string target_of(const std::string& url) {
    auto scheme_end = url.find("://");
    return url.substr(url.find('/', scheme_end + 3));
}

} // namespace

BOOST_AUTO_TEST_SUITE(s3_test_server_suite, *utf::timeout(120))

BOOST_AUTO_TEST_CASE(integrity_helpers_match_reference_values) {
    BOOST_TEST(hoist::test::crc32c("123456789") == 0xE3069283u);
    BOOST_TEST(hoist::test::crc32c("") == 0u);
    BOOST_TEST(hoist::test::crc32c_base64("123456789") == "4waSgw==");   // E3 06 92 83
    BOOST_TEST(hoist::test::md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
    BOOST_TEST(hoist::test::md5_base64("") == "1B2M2Y8AsgTpgAmY7PhCfg==");
    // Chained CRC over a buffer equals one pass (the server's helper chunks large inputs).
    auto data = bytes(100000, 1);
    BOOST_TEST(hoist::test::crc32c(data) != 0u);
}

BOOST_FIXTURE_TEST_CASE(multipart_round_trip_is_byte_exact, fixture, *utf::timeout(60)) {
    const auto one = bytes(5 * mib, 1);
    const auto two = bytes(1000, 2);
    const std::string key = "dir/a file+1.bin";
    auto id = create(key);
    BOOST_TEST(server.open_uploads() == std::vector<std::string>{id});

    // Parts may arrive in any order.
    auto p2 = good_part(key, id, 2, two);
    auto p1 = good_part(key, id, 1, one);
    BOOST_TEST(p1.etag == "\"" + hoist::test::md5_hex(one) + "\"");
    BOOST_TEST(p1.checksum_crc32c == hoist::test::crc32c_base64(one));

    auto listed = call(p::list_parts(at(key), id));
    BOOST_REQUIRE_EQUAL(listed.status, 200u);
    auto page = p::parse_list_parts(listed.body);
    BOOST_REQUIRE(std::holds_alternative<p::list_parts_page>(page));
    const auto& parts = std::get<p::list_parts_page>(page).parts;
    BOOST_REQUIRE_EQUAL(parts.size(), 2u);
    BOOST_TEST(parts[0].part_number == 1u);
    BOOST_TEST(parts[0].size == one.size());
    BOOST_TEST(parts[0].etag == p1.etag);
    BOOST_TEST(parts[1].checksum_crc32c == p2.checksum_crc32c);

    auto done = complete(key, id, {p1, p2});
    BOOST_REQUIRE_EQUAL(done.status, 200u);
    auto result = p::parse_complete(done.body);
    BOOST_REQUIRE(std::holds_alternative<p::complete_result>(result));
    auto hex_to_raw = [](const std::string& hex) {
        std::string raw;
        for (std::size_t i = 0; i < hex.size(); i += 2) raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
        return raw;
    };
    const std::string expected_etag =
        "\"" + hoist::test::md5_hex(hex_to_raw(hoist::test::md5_hex(one)) + hex_to_raw(hoist::test::md5_hex(two))) + "-2\"";
    BOOST_TEST(std::get<p::complete_result>(result).etag == expected_etag);
    BOOST_TEST(std::get<p::complete_result>(result).checksum_crc32c.ends_with("-2"));

    auto head = call(p::head_object(at(key)));
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(head.header("Content-Length") == std::to_string(one.size() + two.size()));
    BOOST_TEST(head.header("ETag") == expected_etag);
    BOOST_TEST(head.body.empty());

    auto stored = server.object("bucket", key);
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST((*stored == one + two));
    BOOST_TEST(server.open_uploads().empty());
    BOOST_TEST(server.aborted_uploads().empty());

    // A retried Complete of a completed upload gets the same answer, as on S3.
    auto again = complete(key, id, {p1, p2});
    BOOST_TEST(again.status == 200u);
    BOOST_TEST(again.body == done.body);

    auto st = server.statistics();
    BOOST_TEST(st.connections == 1);   // everything on one kept-alive connection
    BOOST_TEST(st.requests == 7);
    BOOST_TEST(st.by_op[s3_op::upload_part] == 2);
    BOOST_TEST(st.by_op[s3_op::complete] == 2);
    BOOST_TEST(st.signature_failures == 0);
    BOOST_TEST(st.integrity_failures == 0);
    BOOST_TEST(logged("PUT UploadPart part=1 -> 200"));
    BOOST_TEST(logged("POST CompleteMultipartUpload -> 200"));
    for (const auto& line : server.log()) {
        BOOST_TEST(line.find("Signature") == std::string::npos);
        BOOST_TEST(line.find(server.config().secret) == std::string::npos);
        BOOST_TEST(line.find(server.config().access_key_id) == std::string::npos);
    }
}

BOOST_FIXTURE_TEST_CASE(put_object_head_and_keys_are_taken_literally, fixture, *utf::timeout(30)) {
    // The path is not normalised: "a/../b" is a key of its own.
    const std::string key = "a/../b c+d~%.txt";
    const auto data = bytes(3000, 3);
    auto put = call(p::put_object(at(key), data.size(), {p::integrity::kind::md5, hoist::test::md5_base64(data)}), data);
    BOOST_TEST(put.status == 200u);
    BOOST_TEST(put.header("ETag") == "\"" + hoist::test::md5_hex(data) + "\"");
    BOOST_TEST((server.object("bucket", key) == data));
    BOOST_TEST(!server.object("bucket", "b c+d~%.txt"));

    auto head = call(p::head_object(at(key)));
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(head.header("Content-Length") == "3000");

    auto missing = call(p::head_object(at("nope")));
    BOOST_TEST(missing.status == 404u);
    BOOST_TEST(missing.body.empty());
    BOOST_TEST(logged("HEAD HeadObject -> 404 NoSuchKey"));

    auto crc_put = call(p::put_object(at("crc"), data.size(), crc_of(data)), data);
    BOOST_TEST(crc_put.status == 200u);
    BOOST_TEST(crc_put.header("x-amz-checksum-crc32c") == hoist::test::crc32c_base64(data));
}

BOOST_FIXTURE_TEST_CASE(signatures_are_verified, fixture, *utf::timeout(60)) {
    const auto data = bytes(1000, 4);
    auto put = [&](p::s3_request r) { return c.send(to_http(r, data)); };
    auto plain = [&] { return p::put_object(at("k"), data.size(), crc_of(data)); };

    // A flipped signature digit.
    auto r = signed_request(plain());
    for (auto& h : r.headers)
        if (h.name == "Authorization") h.value.back() = h.value.back() == '0' ? '1' : '0';
    auto bad = put(r);
    BOOST_TEST(bad.status == 403u);
    BOOST_TEST(bad.code() == "SignatureDoesNotMatch");

    // A signed header changed after signing.
    r = signed_request(plain());
    for (auto& h : r.headers)
        if (h.name == "Content-Type") h.value = "text/plain";
    BOOST_TEST(put(r).code() == "SignatureDoesNotMatch");

    // The wrong secret, the wrong key id, the wrong region.
    sv4::credentials wrong = credentials_of(server.config());
    wrong.secret_access_key = sv4::secret_string("not the secret");
    r = plain();
    p::sign(r, sv4::signer(wrong), "us-east-1", sv4::amz_date::from(std::chrono::system_clock::now()));
    BOOST_TEST(put(r).code() == "SignatureDoesNotMatch");
    wrong = credentials_of(server.config());
    wrong.access_key_id = "AKIDSOMEONEELSE";
    r = plain();
    p::sign(r, sv4::signer(wrong), "us-east-1", sv4::amz_date::from(std::chrono::system_clock::now()));
    auto unknown_key = put(r);
    BOOST_TEST(unknown_key.status == 403u);
    BOOST_TEST(unknown_key.code() == "InvalidAccessKeyId");
    r = plain();
    p::sign(r, signer, "eu-west-1", sv4::amz_date::from(std::chrono::system_clock::now()));
    BOOST_TEST(put(r).code() == "AuthorizationHeaderMalformed");

    // A date outside the 15 minute window.
    auto stale = put(signed_request(plain(), std::chrono::system_clock::now() - 20min));
    BOOST_TEST(stale.status == 403u);
    BOOST_TEST(stale.code() == "RequestTimeTooSkewed");

    // No signature at all.
    auto anonymous = put(plain());
    BOOST_TEST(anonymous.status == 403u);
    BOOST_TEST(anonymous.code() == "AccessDenied");

    // An unsigned x-amz-* header.
    auto extra = to_http(signed_request(plain()), data);
    extra.set("x-amz-meta-sneaky", "1");
    BOOST_TEST(c.send(extra).code() == "AccessDenied");

    // A signed payload hash that does not match the body.
    auto id = create("k");
    auto tampered = to_http(signed_request(p::complete_multipart_upload(at("k"), id, {{1, "\"e\"", "AAAAAA=="}})), {});
    tampered.body()[tampered.body().size() - 5] = 'X';
    auto mismatch = c.send(tampered);
    BOOST_TEST(mismatch.status == 400u);
    BOOST_TEST(mismatch.code() == "XAmzContentSHA256Mismatch");

    auto st = server.statistics();
    BOOST_TEST(st.signature_failures == 8);
    BOOST_TEST(st.integrity_failures == 1);
    BOOST_TEST(!server.object("bucket", "k"));
    // The connection survived every refusal.
    BOOST_TEST(st.connections == 1);
    BOOST_TEST(put(signed_request(plain())).status == 200u);
}

BOOST_FIXTURE_TEST_CASE(checksums_and_digests_are_verified, fixture, *utf::timeout(30)) {
    const auto data = bytes(4096, 5);
    auto id = create("k");

    auto wrong_crc = part("k", id, 1, data, p::integrity{p::integrity::kind::crc32c, hoist::test::crc32c_base64("x")});
    BOOST_TEST(wrong_crc.status == 400u);
    BOOST_TEST(wrong_crc.code() == "BadDigest");

    auto no_crc = part("k", id, 1, data, p::integrity{});
    BOOST_TEST(no_crc.status == 400u);
    BOOST_TEST(no_crc.code() == "InvalidRequest");

    auto garbage_crc = part("k", id, 1, data, p::integrity{p::integrity::kind::crc32c, "not base64"});
    BOOST_TEST(garbage_crc.code() == "InvalidRequest");

    auto plain_id = create("plain", false);
    auto undeclared = part("plain", plain_id, 1, data);
    BOOST_TEST(undeclared.code() == "InvalidRequest");
    auto md5_part = part("plain", plain_id, 1, data, p::integrity{p::integrity::kind::md5, hoist::test::md5_base64(data)});
    BOOST_TEST(md5_part.status == 200u);
    auto bad_md5 = part("plain", plain_id, 2, data, p::integrity{p::integrity::kind::md5, hoist::test::md5_base64("x")});
    BOOST_TEST(bad_md5.status == 400u);
    BOOST_TEST(bad_md5.code() == "BadDigest");

    auto bad_put = call(p::put_object(at("obj"), data.size(), crc_of("other")), data);
    BOOST_TEST(bad_put.code() == "BadDigest");
    BOOST_TEST(!server.object("bucket", "obj"));

    BOOST_TEST(server.statistics().integrity_failures == 3);
    BOOST_TEST(part("k", id, 1, data).status == 200u);
}

BOOST_FIXTURE_TEST_CASE(complete_enforces_s3_rules, fixture, *utf::timeout(60)) {
    const auto small = bytes(1024, 6);
    auto id = create("k");
    auto p1 = good_part("k", id, 1, small);
    auto p2 = good_part("k", id, 2, small);

    auto too_small = complete("k", id, {p1, p2});
    BOOST_TEST(too_small.status == 400u);
    BOOST_TEST(too_small.code() == "EntityTooSmall");

    auto wrong_etag = complete("k", id, {{1, "\"" + hoist::test::md5_hex("x") + "\"", p1.checksum_crc32c}});
    BOOST_TEST(wrong_etag.status == 400u);
    BOOST_TEST(wrong_etag.code() == "InvalidPart");

    auto missing_part = complete("k", id, {p1, {3, p2.etag, p2.checksum_crc32c}});
    BOOST_TEST(missing_part.code() == "InvalidPart");

    auto no_checksum = complete("k", id, {{1, p1.etag, ""}});
    BOOST_TEST(no_checksum.code() == "InvalidPart");
    auto bad_checksum = complete("k", id, {{1, p1.etag, p2.checksum_crc32c == p1.checksum_crc32c ? "AAAAAA==" : p2.checksum_crc32c}});
    BOOST_TEST(bad_checksum.code() == "InvalidPart");

    auto xml_part = [](const p::completed_part& pt) {
        return "<Part><PartNumber>" + std::to_string(pt.part_number) + "</PartNumber><ETag>" + p::xml_escape(pt.etag) +
               "</ETag><ChecksumCRC32C>" + pt.checksum_crc32c + "</ChecksumCRC32C></Part>";
    };
    auto descending = complete_raw("k", id, "<CompleteMultipartUpload>" + xml_part(p2) + xml_part(p1) + "</CompleteMultipartUpload>");
    BOOST_TEST(descending.status == 400u);
    BOOST_TEST(descending.code() == "InvalidPartOrder");
    BOOST_TEST(complete_raw("k", id, "<CompleteMultipartUpload>").code() == "MalformedXML");
    BOOST_TEST(complete_raw("k", id, "<CompleteMultipartUpload/>").code() == "MalformedXML");

    // Every refusal left the upload intact: the last part alone may be small.
    BOOST_TEST(server.open_uploads().size() == 1u);
    auto single = complete("k", id, {p1});
    BOOST_TEST(single.status == 200u);
    BOOST_TEST((server.object("bucket", "k") == small));
    // Unquoted ETags are accepted too, as S3 does.
    auto id2 = create("k2", false);
    auto r = part("k2", id2, 1, small, p::integrity{});
    BOOST_TEST(complete("k2", id2, {{1, hoist::test::md5_hex(small), ""}}).status == 200u);
    BOOST_TEST(r.status == 200u);
}

BOOST_FIXTURE_TEST_CASE(unknown_uploads_and_buckets_are_refused, fixture, *utf::timeout(30)) {
    const std::string data = "abc";
    auto nsu = part("k", "no-such-upload", 1, data);
    BOOST_TEST(nsu.status == 404u);
    BOOST_TEST(nsu.code() == "NoSuchUpload");
    BOOST_TEST(complete("k", "no-such-upload", {{1, "\"e\"", ""}}).code() == "NoSuchUpload");
    BOOST_TEST(call(p::abort_multipart_upload(at("k"), "no-such-upload")).code() == "NoSuchUpload");
    BOOST_TEST(call(p::list_parts(at("k"), "no-such-upload")).code() == "NoSuchUpload");

    // An upload id belongs to its key.
    auto id = create("k");
    BOOST_TEST(part("other-key", id, 1, data).code() == "NoSuchUpload");

    auto nsb = call(p::put_object(at("k", "no-bucket"), data.size(), {}), data);
    BOOST_TEST(nsb.status == 404u);
    BOOST_TEST(nsb.code() == "NoSuchBucket");

    auto bad_number = call(p::upload_part(at("k"), id, 1, data.size(), crc_of(data)), data);
    BOOST_TEST(bad_number.status == 200u);
    auto r = p::upload_part(at("k"), id, 1, data.size(), crc_of(data));
    r.query[0].second = "10001";
    BOOST_TEST(call(r, data).code() == "InvalidArgument");

    // Abort: 204, then the upload is gone.
    auto aborted = call(p::abort_multipart_upload(at("k"), id));
    BOOST_TEST(aborted.status == 204u);
    BOOST_TEST(server.aborted_uploads() == std::vector<std::string>{id});
    BOOST_TEST(server.open_uploads().empty());
    BOOST_TEST(part("k", id, 2, data).code() == "NoSuchUpload");
}

BOOST_AUTO_TEST_CASE(list_parts_pages, *utf::timeout(30)) {
    s3_test_server::options o;
    o.max_parts_per_page = 2;
    fixture f(o);
    auto id = f.create("k");
    for (std::uint32_t n = 1; n <= 5; ++n) f.good_part("k", id, n, bytes(100 + n, n));

    std::vector<std::uint32_t> seen;
    std::uint32_t marker = 0;
    int pages = 0;
    for (;;) {
        auto r = f.call(p::list_parts(f.at("k"), id, marker, 1000));
        BOOST_REQUIRE_EQUAL(r.status, 200u);
        auto parsed = p::parse_list_parts(r.body);
        BOOST_REQUIRE(std::holds_alternative<p::list_parts_page>(parsed));
        const auto& page = std::get<p::list_parts_page>(parsed);
        BOOST_TEST(page.max_parts == 2u);
        BOOST_TEST(page.parts.size() <= 2u);
        for (const auto& pt : page.parts) {
            seen.push_back(pt.part_number);
            BOOST_TEST(pt.size == 100u + pt.part_number);
        }
        ++pages;
        BOOST_REQUIRE(pages <= 3);
        if (!page.is_truncated) break;
        BOOST_TEST(page.next_part_number_marker == seen.back());
        marker = page.next_part_number_marker;
    }
    BOOST_TEST(pages == 3);
    BOOST_TEST(seen == (std::vector<std::uint32_t>{1, 2, 3, 4, 5}));

    // A smaller max-parts than the server's cap is honoured.
    auto one = p::parse_list_parts(f.call(p::list_parts(f.at("k"), id, 3, 1)).body);
    BOOST_REQUIRE(std::holds_alternative<p::list_parts_page>(one));
    BOOST_TEST(std::get<p::list_parts_page>(one).parts.size() == 1u);
    BOOST_TEST(std::get<p::list_parts_page>(one).parts[0].part_number == 4u);
    BOOST_TEST(std::get<p::list_parts_page>(one).is_truncated);
}

BOOST_FIXTURE_TEST_CASE(status_faults, fixture, *utf::timeout(60)) {
    const auto data = bytes(2048, 7);
    auto id = create("k");

    server.inject({s3_op::upload_part, 1}, {fault_kind::status_500});
    auto r500 = part("k", id, 1, data);
    BOOST_TEST(r500.status == 500u);
    BOOST_TEST(r500.code() == "InternalError");
    BOOST_TEST(r500.keep_alive);
    BOOST_TEST(logged("PUT UploadPart part=1 -> 500 InternalError (fault status_500)"));

    server.inject({s3_op::upload_part, 1}, {fault_kind::slow_down_503, 0ms, 3});
    auto r503 = part("k", id, 1, data);
    BOOST_TEST(r503.status == 503u);
    BOOST_TEST(r503.code() == "SlowDown");
    BOOST_TEST(r503.header("Retry-After") == "3");
    auto classified = p::classify(p::transport_error::none, r503.status, r503.code(), r503.header("Retry-After"));
    BOOST_TEST((classified.kind == p::outcome_kind::throttle));
    BOOST_TEST((classified.retry_after == std::chrono::seconds(3)));

    server.inject({s3_op::upload_part, std::nullopt}, {fault_kind::no_such_upload});
    BOOST_TEST(part("k", id, 1, data).code() == "NoSuchUpload");
    server.inject({s3_op::create, std::nullopt}, {fault_kind::access_denied});
    auto denied = call(p::create_multipart_upload(at("k"), p::integrity::kind::crc32c));
    BOOST_TEST(denied.status == 403u);
    BOOST_TEST(denied.code() == "AccessDenied");

    // The fault was one-shot: the retry goes through.
    auto p1 = good_part("k", id, 1, data);

    // error_in_200: 200 OK with an <Error> body, and the upload is not completed.
    server.inject({s3_op::complete, std::nullopt}, {fault_kind::error_in_200});
    auto sneaky = complete("k", id, {p1});
    BOOST_TEST(sneaky.status == 200u);
    auto parsed = p::parse_complete(sneaky.body);
    BOOST_REQUIRE(std::holds_alternative<p::s3_error>(parsed));
    BOOST_TEST(std::get<p::s3_error>(parsed).code == "InternalError");
    BOOST_TEST(server.open_uploads() == std::vector<std::string>{id});
    BOOST_TEST(!server.object("bucket", "k"));
    BOOST_TEST(logged("POST CompleteMultipartUpload -> 200 InternalError (fault error_in_200)"));
    BOOST_TEST(complete("k", id, {p1}).status == 200u);
    BOOST_TEST(server.open_uploads().empty());
    BOOST_TEST(server.statistics().connections == 1);
}

BOOST_FIXTURE_TEST_CASE(faults_pick_the_nth_matching_request, fixture, *utf::timeout(30)) {
    const auto data = bytes(100, 8);
    auto id = create("k");
    server.inject({s3_op::upload_part, 2, 2}, {fault_kind::status_500});
    BOOST_TEST(part("k", id, 1, data).status == 200u);
    BOOST_TEST(part("k", id, 2, data).status == 200u);
    BOOST_TEST(part("k", id, 1, data).status == 200u);
    BOOST_TEST(part("k", id, 2, data).status == 500u);
    BOOST_TEST(part("k", id, 2, data).status == 200u);
}

BOOST_FIXTURE_TEST_CASE(reset_mid_body_breaks_the_connection, fixture, *utf::timeout(30)) {
    const auto data = bytes(4 * mib, 9);
    auto id = create("k");
    server.inject({s3_op::upload_part, 1}, {fault_kind::reset_mid_body});
    auto r = part("k", id, 1, data);
    BOOST_TEST(r.ec.failed());
    BOOST_TEST_MESSAGE("reset seen by the client as: " << r.ec.message());
    BOOST_TEST(r.status == 0u);
    BOOST_TEST(logged("PUT UploadPart part=1 -> reset (fault)"));
    BOOST_TEST(!c.connected());

    // The part was not stored; a retry on a new connection succeeds.
    auto listed = p::parse_list_parts(call(p::list_parts(at("k"), id)).body);
    BOOST_REQUIRE(std::holds_alternative<p::list_parts_page>(listed));
    BOOST_TEST(std::get<p::list_parts_page>(listed).parts.empty());
    BOOST_TEST(part("k", id, 1, data).status == 200u);
    BOOST_TEST(server.statistics().connections == 2);
}

BOOST_FIXTURE_TEST_CASE(stall_holds_the_body_then_closes, fixture, *utf::timeout(30)) {
    const auto data = bytes(256 * 1024, 10);
    auto id = create("k");
    server.inject({s3_op::upload_part, 1}, {fault_kind::stall, 400ms});
    auto r = part("k", id, 1, data);
    BOOST_TEST(r.ec.failed());
    BOOST_TEST_MESSAGE("stall seen by the client as: " << r.ec.message() << " after " << r.elapsed.count() << " ms");
    BOOST_TEST(r.elapsed.count() >= 350);
    BOOST_TEST(logged("PUT UploadPart part=1 -> stall (fault)"));
    BOOST_TEST(part("k", id, 1, data).status == 200u);
}

BOOST_FIXTURE_TEST_CASE(connection_close_and_slow_first_byte, fixture, *utf::timeout(30)) {
    const auto data = bytes(1000, 11);
    auto id = create("k");
    server.inject({s3_op::upload_part, 1}, {fault_kind::connection_close});
    auto closing = part("k", id, 1, data);
    BOOST_TEST(closing.status == 200u);
    BOOST_TEST(lower(closing.header("Connection")) == "close");
    BOOST_TEST(!closing.keep_alive);
    BOOST_TEST(!c.connected());
    BOOST_TEST(part("k", id, 2, data).status == 200u);
    BOOST_TEST(server.statistics().connections == 2);

    server.inject({s3_op::list_parts, std::nullopt}, {fault_kind::slow_first_byte, 300ms});
    auto slow = call(p::list_parts(at("k"), id));
    BOOST_TEST(slow.status == 200u);
    BOOST_TEST(slow.elapsed.count() >= 290);
    auto page = p::parse_list_parts(slow.body);
    BOOST_REQUIRE(std::holds_alternative<p::list_parts_page>(page));
    BOOST_TEST(std::get<p::list_parts_page>(page).parts.size() == 2u);
    BOOST_TEST(slow.keep_alive);
}

BOOST_FIXTURE_TEST_CASE(presigned_requests, fixture, *utf::timeout(30)) {
    const auto data = bytes(5000, 12);
    auto presigned_put = [&](const std::string& url) {
        http::request<http::string_body> req{http::verb::put, target_of(url), 11};
        req.set(http::field::host, at("k").host);
        req.body() = data;
        req.prepare_payload();
        return c.send(std::move(req));
    };
    const auto now = std::chrono::system_clock::now();
    auto url = p::presign_url(at("k"), "PUT", {}, signer, "us-east-1", sv4::amz_date::from(now), 60s);
    auto ok = presigned_put(url);
    BOOST_TEST(ok.status == 200u);
    BOOST_TEST((server.object("bucket", "k") == data));

    auto expired = presigned_put(p::presign_url(at("k"), "PUT", {}, signer, "us-east-1",
                                                sv4::amz_date::from(now - 120s), 60s));
    BOOST_TEST(expired.status == 403u);
    BOOST_TEST(expired.code() == "AccessDenied");

    // Signed for another key.
    auto other = p::presign_url(at("other"), "PUT", {}, signer, "us-east-1", sv4::amz_date::from(now), 60s);
    auto q = other.find('?');
    BOOST_TEST(presigned_put(url.substr(0, url.find('?')) + other.substr(q)).code() == "SignatureDoesNotMatch");

    // A presigned UploadPart, as the presign service will hand out.
    auto id = create("mp", false);
    auto part_url = p::presign_url(at("mp"), "PUT", {{"partNumber", "1"}, {"uploadId", id}}, signer, "us-east-1",
                                   sv4::amz_date::from(now), 300s);
    http::request<http::string_body> req{http::verb::put, target_of(part_url), 11};
    req.set(http::field::host, at("mp").host);
    req.body() = data;
    req.prepare_payload();
    auto part_reply = c.send(std::move(req));
    BOOST_TEST(part_reply.status == 200u);
    BOOST_TEST(part_reply.header("ETag") == "\"" + hoist::test::md5_hex(data) + "\"");
    BOOST_TEST(logged("PUT UploadPart part=1 -> 200"));
    BOOST_TEST(server.statistics().signature_failures == 2);
}

BOOST_FIXTURE_TEST_CASE(put_without_content_length_is_refused, fixture, *utf::timeout(30)) {
    auto r = to_http(signed_request(p::put_object(at("k"), 3, {})), "abc");
    r.chunked(true);
    auto refused = c.send(std::move(r));
    BOOST_TEST(refused.status == 411u);
    BOOST_TEST(refused.code() == "MissingContentLength");
    BOOST_TEST(!refused.keep_alive);
}

BOOST_AUTO_TEST_CASE(http_details, *utf::timeout(30)) {
    s3_test_server::options o;
    o.tls = false;
    fixture f(o);
    const auto data = bytes(100000, 14);

    // Expect: 100-continue: the server asks for the body before reading it.
    auto req = to_http(f.signed_request(p::put_object(f.at("k"), data.size(), crc_of(data))), data);
    req.set(http::field::expect, "100-continue");
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    unsigned interim = 0, final_status = 0;
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), f.server.port());
    auto exchange = [&]() -> awaitable<void> {
        stream.expires_after(10s);
        co_await stream.async_connect(ep, asio::use_awaitable);
        http::request_serializer<http::string_body> sr{req};
        co_await http::async_write_header(stream, sr, asio::use_awaitable);
        beast::flat_buffer buffer;
        http::response<http::empty_body> go_on;
        co_await http::async_read(stream, buffer, go_on, asio::use_awaitable);
        interim = go_on.result_int();
        co_await http::async_write(stream, sr, asio::use_awaitable);
        http::response<http::string_body> res;
        co_await http::async_read(stream, buffer, res, asio::use_awaitable);
        final_status = res.result_int();
    };
    std::exception_ptr failed;
    auto on_done = [&](std::exception_ptr e) { failed = e; };
    asio::co_spawn(ioc, exchange(), on_done);
    ioc.run_for(15s);
    BOOST_TEST(!failed);
    BOOST_TEST(interim == 100u);
    BOOST_TEST(final_status == 200u);
    BOOST_TEST((f.server.object("bucket", "k") == data));

    // The client's Connection: close is honoured.
    auto closing = to_http(f.signed_request(p::head_object(f.at("k"))), {});
    closing.keep_alive(false);
    auto r = f.c.send(std::move(closing));
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(!r.keep_alive);
    BOOST_TEST(!f.c.connected());

    // ListMultipartUploads lists the open uploads of a bucket.
    auto id = f.create("dir/x", false);
    f.create("other", false);
    auto listed = f.call(p::list_multipart_uploads(f.at(""), "dir/"));
    BOOST_REQUIRE_EQUAL(listed.status, 200u);
    auto page = p::parse_list_uploads(listed.body);
    BOOST_REQUIRE(std::holds_alternative<p::list_uploads_page>(page));
    const auto& uploads = std::get<p::list_uploads_page>(page).uploads;
    BOOST_REQUIRE_EQUAL(uploads.size(), 1u);
    BOOST_TEST(uploads[0].upload_id == id);
    BOOST_TEST(f.server.statistics().by_op[s3_op::list_uploads] == 1);
    BOOST_TEST(f.logged("GET ListMultipartUploads -> 200"));
}

// ---- listings ----------------------------------------------------------------

namespace {

template <class Page>
Page parsed_page(const reply& r, p::parsed<Page> (*parse)(std::string_view)) {
    BOOST_REQUIRE_EQUAL(r.status, 200u);
    auto page = parse(r.body);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<Page>(page), r.body);
    return std::get<Page>(page);
}

} // namespace

BOOST_AUTO_TEST_CASE(list_objects_v2_pages_in_binary_order_under_a_prefix, *utf::timeout(30)) {
    fixture f;
    // UTF-8 binary order: "B" (0x42) < "a" (0x61) < "z" < "\x7f" < "é" (0xC3 0xA9); and a key
    // with a control character that only encoding-type=url carries through XML.
    const std::vector<std::string> keys = {"d/B", "d/a", "d/z", "d/\x7f", "d/\xc3\xa9", "d/line\x01" "feed+ %"};
    for (const auto& k : keys) f.server.seed_object("bucket", k, "data of " + k);
    f.server.seed_object("bucket", "c", "before the prefix");
    f.server.seed_object("bucket", "e", "after the prefix");
    f.server.seed_object("other", "d/x", "another bucket");   // not listed even though the bucket is unknown to HTTP

    std::vector<std::string> listed;
    std::string token;
    int pages = 0;
    for (; pages < 10; ++pages) {
        auto page = parsed_page(f.call(p::list_objects_v2(f.at(""), "d/", token, 4)), &p::parse_list_objects);
        BOOST_TEST(page.bucket == "bucket");
        BOOST_TEST(page.objects.size() <= 4u);
        for (const auto& o : page.objects) {
            listed.push_back(o.key);
            BOOST_TEST(o.size == ("data of " + o.key).size());
            BOOST_TEST(o.etag == "\"" + hoist::test::md5_hex("data of " + o.key) + "\"");
            BOOST_TEST(o.last_modified.size() == 24u);   // 2026-12-03T10:00:00.000Z
        }
        if (!page.is_truncated) break;
        BOOST_TEST(page.objects.size() == 4u);
        token = page.next_continuation_token;
    }
    BOOST_TEST(pages == 1);   // 6 keys, 4 a page: two pages
    std::vector<std::string> expected = {"d/B", "d/a", "d/line\x01" "feed+ %", "d/z", "d/\x7f", "d/\xc3\xa9"};
    BOOST_TEST(listed == expected, boost::test_tools::per_element());

    // Everything in one page of the default 1,000; a made-up token is refused.
    auto all = parsed_page(f.call(p::list_objects_v2(f.at(""), "")), &p::parse_list_objects);
    BOOST_TEST(all.objects.size() == keys.size() + 2);
    BOOST_TEST(!all.is_truncated);
    auto bad = f.call(p::list_objects_v2(f.at(""), "", "not-a-token"));
    BOOST_TEST(bad.status == 400u);
    BOOST_TEST(bad.code() == "InvalidArgument");
    auto missing = f.call(p::list_objects_v2(f.at("", "nobucket"), ""));
    BOOST_TEST(missing.code() == "NoSuchBucket");
    BOOST_TEST(f.server.statistics().by_op[s3_op::list_objects] == 5);
    BOOST_TEST(f.logged("GET ListObjectsV2 -> 200"));
}

BOOST_AUTO_TEST_CASE(list_objects_v2_server_page_cap_and_plain_keys, *utf::timeout(30)) {
    s3_test_server::options o;
    o.max_keys_per_page = 2;
    fixture f(o);
    for (int i = 0; i < 5; ++i) f.server.seed_object("bucket", "k" + std::to_string(i), "x");
    auto first = parsed_page(f.call(p::list_objects_v2(f.at(""), "")), &p::parse_list_objects);
    BOOST_TEST(first.objects.size() == 2u);
    BOOST_TEST(first.is_truncated);
    // Asked for, the encoding is announced; not asked for, keys come as they are.
    auto encoded = f.call(p::list_objects_v2(f.at(""), "k4"));
    BOOST_TEST(encoded.body.find("<EncodingType>url</EncodingType>") != std::string::npos);
    auto req = p::list_objects_v2(f.at(""), "");
    std::erase_if(req.query, [](const auto& q) { return q.first == "encoding-type"; });
    auto raw = f.call(req);
    BOOST_TEST(raw.body.find("<EncodingType>") == std::string::npos);
    BOOST_TEST(parsed_page(raw, &p::parse_list_objects).objects.size() == 2u);
    auto delimited = p::list_objects_v2(f.at(""), "");
    delimited.query.push_back({"delimiter", "/"});
    BOOST_TEST(f.call(delimited).code() == "NotImplemented");
}

BOOST_AUTO_TEST_CASE(list_multipart_uploads_pages_with_both_markers, *utf::timeout(30)) {
    s3_test_server::options o;
    o.max_uploads_per_page = 2;
    fixture f(o);
    // Three uploads of one key (listed in the order they were created), two others,
    // one outside the prefix, one in another bucket.
    std::vector<std::string> expected_ids;
    expected_ids.push_back(f.server.seed_upload("bucket", "p/a", {"12345"}));
    auto same1 = f.server.seed_upload("bucket", "p/b\x01", {});
    auto same2 = f.server.seed_upload("bucket", "p/b\x01", {});
    auto same3 = f.server.seed_upload("bucket", "p/b\x01", {});
    expected_ids.insert(expected_ids.end(), {same1, same2, same3});
    expected_ids.push_back(f.create("p/c", false));
    f.server.seed_upload("bucket", "q/outside");
    f.server.seed_upload("other", "p/elsewhere");

    std::vector<std::string> ids, keys;
    std::string key_marker, id_marker;
    int pages = 0;
    for (; pages < 10; ++pages) {
        auto page = parsed_page(f.call(p::list_multipart_uploads(f.at(""), "p/", key_marker, id_marker)),
                                &p::parse_list_uploads);
        BOOST_TEST(page.uploads.size() <= 2u);
        for (const auto& u : page.uploads) {
            ids.push_back(u.upload_id);
            keys.push_back(u.key);
            BOOST_TEST(u.initiated.size() == 24u);
        }
        if (!page.is_truncated) break;
        key_marker = page.next_key_marker;
        id_marker = page.next_upload_id_marker;
    }
    BOOST_TEST(pages == 2);   // 5 uploads, 2 a page: three pages
    BOOST_TEST(ids == expected_ids, boost::test_tools::per_element());
    BOOST_TEST(keys.at(1) == "p/b\x01");   // decoded from encoding-type=url

    // key-marker alone skips every upload of that key.
    auto after_b = parsed_page(f.call(p::list_multipart_uploads(f.at(""), "p/", "p/b\x01")), &p::parse_list_uploads);
    BOOST_REQUIRE_EQUAL(after_b.uploads.size(), 1u);
    BOOST_TEST(after_b.uploads[0].key == "p/c");
    // An aborted upload is gone from the listing.
    BOOST_TEST(f.call(p::abort_multipart_upload(f.at("p/b\x01"), same2)).status == 204u);
    auto rest = parsed_page(f.call(p::list_multipart_uploads(f.at(""), "p/b")), &p::parse_list_uploads);
    BOOST_REQUIRE_EQUAL(rest.uploads.size(), 2u);
    BOOST_TEST(rest.uploads[0].upload_id == same1);
    BOOST_TEST(rest.uploads[1].upload_id == same3);
    BOOST_TEST(rest.is_truncated == false);
}

BOOST_AUTO_TEST_CASE(seeded_upload_parts_are_listed, *utf::timeout(30)) {
    fixture f;
    auto old = std::chrono::system_clock::now() - std::chrono::hours(48);
    auto id = f.server.seed_upload("bucket", "k", {"aaa", "bbbbb"}, old);
    auto r = f.call(p::list_parts(f.at("k"), id));
    BOOST_REQUIRE_EQUAL(r.status, 200u);
    auto page = std::get<p::list_parts_page>(p::parse_list_parts(r.body));
    BOOST_REQUIRE_EQUAL(page.parts.size(), 2u);
    BOOST_TEST(page.parts[1].size == 5u);
    auto listed = parsed_page(f.call(p::list_multipart_uploads(f.at(""), "")), &p::parse_list_uploads);
    BOOST_REQUIRE_EQUAL(listed.uploads.size(), 1u);
    // Initiated two days ago: the date in the listing is the seeded one.
    std::time_t t = std::chrono::system_clock::to_time_t(old);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char day[16];
    std::strftime(day, sizeof day, "%Y-%m-%dT", &tm);
    BOOST_TEST(listed.uploads[0].initiated.starts_with(day), listed.uploads[0].initiated);
}

BOOST_AUTO_TEST_CASE(plain_http_mode, *utf::timeout(30)) {
    s3_test_server::options o;
    o.tls = false;
    fixture f(o);
    BOOST_TEST(f.server.endpoint_url().starts_with("http://127.0.0.1:"));
    BOOST_TEST(f.server.ca_file().empty());
    const auto data = bytes(1234, 13);
    BOOST_TEST(f.call(p::put_object(f.at("k"), data.size(), crc_of(data)), data).status == 200u);
    BOOST_TEST((f.server.object("bucket", "k") == data));
}

BOOST_AUTO_TEST_CASE(tls_is_verified_against_the_ca_file, *utf::timeout(30)) {
    s3_test_server server;
    BOOST_TEST(server.endpoint_url() == "https://127.0.0.1:" + std::to_string(server.port()));
    client untrusting(server, false);
    auto r = untrusting.send(http::request<http::string_body>{http::verb::get, "/", 11});
    BOOST_TEST(r.ec.failed());
    BOOST_TEST_MESSAGE("without the CA: " << r.ec.message());

    const std::string ca = server.ca_file();
    BOOST_TEST(std::filesystem::exists(ca));
    {
        s3_test_server other;
        BOOST_TEST(other.ca_file() != ca);
    }
}

BOOST_AUTO_TEST_CASE(destructor_is_prompt_with_stalled_peers, *utf::timeout(30)) {
    std::string ca;
    asio::io_context ioc;
    tcp::socket mid_body(ioc), mid_stall(ioc), mid_handshake(ioc);
    {
        s3_test_server::options o;
        o.tls = false;
        auto plain = std::make_unique<s3_test_server>(o);
        auto tls = std::make_unique<s3_test_server>();
        ca = tls->ca_file();
        plain->create_bucket("bucket");
        plain->inject({s3_op::put_object, std::nullopt, 2}, {fault_kind::stall, 60s});
        // A header promising a body that never comes, and one that triggers a 60 s stall.
        const std::string head = "PUT /bucket/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\npartial";
        mid_body.connect({asio::ip::make_address("127.0.0.1"), plain->port()});
        asio::write(mid_body, asio::buffer(head));
        mid_stall.connect({asio::ip::make_address("127.0.0.1"), plain->port()});
        asio::write(mid_stall, asio::buffer(head));
        // A TLS connection that never says hello.
        mid_handshake.connect({asio::ip::make_address("127.0.0.1"), tls->port()});

        auto deadline = steady::now() + 5s;
        while (plain->statistics().requests < 2 && steady::now() < deadline) std::this_thread::sleep_for(10ms);
        BOOST_TEST(plain->statistics().requests == 2);
        while (tls->statistics().connections < 1 && steady::now() < deadline) std::this_thread::sleep_for(10ms);

        const auto start = steady::now();
        plain.reset();
        tls.reset();
        BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start).count() < 2000);
    }
    BOOST_TEST(!std::filesystem::exists(ca));   // the temp dir is gone
}

BOOST_AUTO_TEST_SUITE_END()
