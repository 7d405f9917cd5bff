// Browser session cookies (protocol/presign/session.hpp) and the browser
// routes' path table (browser_routes.hpp): pure, no sockets.
#include "hoist/protocol/presign/browser_routes.hpp"
#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/session.hpp"
#include "hoist/protocol/presign/auth.hpp"

#include "hoist/sigv4/encoding.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace p = hoist::protocol;
namespace sv4 = hoist::sigv4;
namespace json = boost::json;

namespace {

const sv4::secret_string secret("0123456789abcdef0123456789abcdef");
const std::string alice_token = "alice-token";
// The hash of the bearer token a session was bought with (the config's entry).
const sv4::sha256_digest alice_hash = sv4::sha256(alice_token);
const std::vector<sv4::sha256_digest> alice_hashes{alice_hash};

p::service_config config(const std::string& extra = "") {
    return p::parse_service_config(R"({"storage":{"endpoint":"https://127.0.0.1:9000","region":"us-east-1","bucket":"bucket"},
        "token_secret":"0123456789abcdef0123456789abcdef",
        "tokens":[{"sha256":")" + sv4::sha256_hex(alice_token) + R"(","user":"alice"},
                  {"sha256":")" + sv4::sha256_hex("bob-token") + R"(","user":"bob"}],
        "cors_origins":["https://app.example"])" + extra + "}");
}

p::api_error refused(const p::service_config& c, const p::request_credentials& creds, std::int64_t now) {
    try {
        auto who = p::authenticate(c, creds, now);
        BOOST_ERROR("accepted as " << who.user);
    } catch (const p::api_error& e) {
        return e;
    }
    return p::api_error(0, "", "");
}

} // namespace

BOOST_AUTO_TEST_SUITE(presign_session)

BOOST_AUTO_TEST_CASE(cookie_round_trips_and_binds_user_and_expiry) {
    const std::string v = p::sign_session_cookie(secret, "alice", alice_hash, 2000);
    BOOST_TEST(v.starts_with("v1.2000.alice."));
    BOOST_TEST(v.size() == std::string("v1.2000.alice.").size() + 43);
    auto ok = p::verify_session_cookie(secret, v, 1999, alice_hashes);
    BOOST_TEST((ok.status == p::session_status::ok));
    BOOST_TEST(ok.user == "alice");
    BOOST_TEST(ok.expiry_unix == 2000);
    BOOST_TEST((p::verify_session_cookie(secret, v, 2000, alice_hashes).status == p::session_status::expired));
    BOOST_TEST(p::verify_session_cookie(secret, v, 2000, alice_hashes).user.empty());
    // Another user or expiry with the same MAC: forged.
    std::string other_user = v;
    other_user.replace(8, 5, "bobby");
    BOOST_TEST((p::verify_session_cookie(secret, other_user, 0, alice_hashes).status == p::session_status::bad_signature));
    std::string later = v;
    later.replace(3, 4, "9000");
    BOOST_TEST((p::verify_session_cookie(secret, later, 0, alice_hashes).status == p::session_status::bad_signature));
    // Another secret.
    BOOST_TEST((p::verify_session_cookie(sv4::secret_string("another-secret-of-32-bytes-or-more!!"), v, 0, alice_hashes).status ==
                p::session_status::bad_signature));
    // A MAC character changed.
    std::string flipped = v;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    BOOST_TEST((p::verify_session_cookie(secret, flipped, 0, alice_hashes).status == p::session_status::bad_signature));
}

BOOST_AUTO_TEST_CASE(cookie_is_bound_to_the_token_that_bought_it) {
    const std::string v = p::sign_session_cookie(secret, "alice", alice_hash, 2000);
    const sv4::sha256_digest replaced = sv4::sha256("alice-new-token");
    // The token was replaced in the config: the session it bought is over.
    BOOST_TEST((p::verify_session_cookie(secret, v, 0, std::vector{replaced}).status == p::session_status::bad_signature));
    // No token left for the user (removed from the config).
    BOOST_TEST((p::verify_session_cookie(secret, v, 0, {}).status == p::session_status::bad_signature));
    // A user with two tokens: either one's session is genuine.
    BOOST_TEST((p::verify_session_cookie(secret, v, 0, std::vector{replaced, alice_hash}).status == p::session_status::ok));
    // Through authenticate: a config whose alice has another token refuses alice's old cookie.
    auto rotated = config();
    for (auto& t : rotated.tokens)
        if (t.user == "alice") t.sha256 = replaced;
    const std::string cookie = "hoist_session=" + p::sign_session_cookie(rotated.token_secret, "alice", alice_hash, 1000);
    BOOST_TEST(p::authenticate(config(), {"", cookie, "", "svc:1", false}, 500).user == "alice");
    BOOST_TEST(refused(rotated, {"", cookie, "", "svc:1", false}, 500).status == 401);
}

BOOST_AUTO_TEST_CASE(session_mac_differs_from_upload_token_mac) {
    // Domain separation: an upload token for (user, key "", id "") is not a session.
    const std::string token = p::sign_upload_token(secret, "alice", "", "", 2000);
    const std::string mac = token.substr(token.rfind('.') + 1);
    BOOST_TEST((p::verify_session_cookie(secret, "v1.2000.alice." + mac, 0, alice_hashes).status == p::session_status::bad_signature));
}

BOOST_AUTO_TEST_CASE(malformed_cookies) {
    const std::string good = p::sign_session_cookie(secret, "alice", alice_hash, 2000);
    const std::string mac = good.substr(good.rfind('.') + 1);
    for (const std::string& v : std::vector<std::string>{"", "v1.", "v2.2000.alice." + mac,
                                 "v1.02000.alice." + mac, "v1.-1.alice." + mac, "v1.2000..", "v1.2000.alice",
                                 "v1.2000.al ice." + mac, "v1.2000.al.ice." + mac, "v1.2000.alice." + mac + "A",
                                 "v1.2000.alice." + mac.substr(1), "v1.99999999999999999999.alice." + mac,
                                 "v1.2000." + std::string(65, 'a') + "." + mac, "v1.2000.alice." + mac.substr(0, 42) + "="})
        BOOST_TEST((p::verify_session_cookie(secret, v, 0, alice_hashes).status == p::session_status::malformed), v);
    BOOST_CHECK_THROW(p::sign_session_cookie(secret, "al.ice", alice_hash, 1), std::invalid_argument);
    BOOST_CHECK_THROW(p::sign_session_cookie(secret, "", alice_hash, 1), std::invalid_argument);
    BOOST_CHECK_THROW(p::sign_session_cookie(secret, "alice", alice_hash, -1), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(cookie_header_parsing) {
    BOOST_TEST(p::find_cookie("hoist_session=abc", "hoist_session").value_or("?") == "abc");
    BOOST_TEST(p::find_cookie("a=1; hoist_session=abc; b=2", "hoist_session").value_or("?") == "abc");
    BOOST_TEST(p::find_cookie("a=1;hoist_session=abc;b=2", "hoist_session").value_or("?") == "abc");
    BOOST_TEST(p::find_cookie("  hoist_session = abc  ", "hoist_session").value_or("?") == "abc");
    BOOST_TEST(p::find_cookie("hoist_session=\"abc\"", "hoist_session").value_or("?") == "abc");
    // The first one wins (RFC 6265 5.4 orders longer paths first).
    BOOST_TEST(p::find_cookie("hoist_session=first; hoist_session=second", "hoist_session").value_or("?") == "first");
    // Names compare exactly.
    BOOST_TEST(!p::find_cookie("xhoist_session=abc; Hoist_session=x", "hoist_session"));
    BOOST_TEST(!p::find_cookie("hoist_session; other=1", "hoist_session"));
    BOOST_TEST(!p::find_cookie("", "hoist_session"));
    BOOST_TEST(p::find_cookie("junk; ;; hoist_session=; x=1", "hoist_session").value_or("?") == "");
    BOOST_TEST(p::find_cookie("a=b=c; hoist_session=v1.1.a.b", "hoist_session").value_or("?") == "v1.1.a.b");
}

BOOST_AUTO_TEST_CASE(set_cookie_rendering) {
    BOOST_TEST(p::session_set_cookie("VAL", 43200, false) ==
               "hoist_session=VAL; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
    // Under TLS a __Host- cookie, which no sibling site can set.
    BOOST_TEST(p::session_set_cookie("VAL", 60, true) ==
               "__Host-hoist_session=VAL; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure");
    BOOST_TEST(p::session_clear_cookie(true) ==
               "__Host-hoist_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure");
    BOOST_TEST(p::session_clear_cookie(false) == "hoist_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    auto j = json::parse(p::session_response_json("alice", 0)).as_object();
    BOOST_TEST(j.at("user").as_string() == "alice");
    BOOST_TEST(j.at("expiresAt").as_string() == "1970-01-01T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(session_ttl_config) {
    BOOST_TEST(config().session_ttl.count() == 43200);
    BOOST_TEST(config(R"(,"session_ttl":60)").session_ttl.count() == 60);
    BOOST_CHECK_THROW(config(R"(,"session_ttl":59)"), p::config_error);
    BOOST_CHECK_THROW(config(R"(,"session_ttl":2592001)"), p::config_error);
    BOOST_CHECK_THROW(config(R"(,"session_ttl":"1h")"), p::config_error);
}

BOOST_AUTO_TEST_CASE(authenticate_bearer_or_cookie) {
    const auto c = config();
    const std::string alice_cookie = "hoist_session=" + p::sign_session_cookie(c.token_secret, "alice", sv4::sha256("alice-token"), 1000);
    const std::string bob_cookie = "hoist_session=" + p::sign_session_cookie(c.token_secret, "bob", sv4::sha256("bob-token"), 1000);
    // Bearer alone, cookie alone.
    auto a = p::authenticate(c, {"Bearer " + alice_token, "", "", "svc:1", false}, 500);
    BOOST_TEST(a.user == "alice");
    BOOST_TEST(!a.by_cookie);
    auto b = p::authenticate(c, {"", "x=1; " + bob_cookie, "", "svc:1", false}, 500);
    BOOST_TEST(b.user == "bob");
    BOOST_TEST(b.by_cookie);
    // The bearer wins over the cookie; a bad bearer is not rescued by a good cookie.
    BOOST_TEST(p::authenticate(c, {"Bearer " + alice_token, bob_cookie, "", "svc:1", false}, 500).user == "alice");
    BOOST_TEST(refused(c, {"Bearer nope", bob_cookie, "", "svc:1", false}, 500).status == 401);
    BOOST_TEST(refused(c, {"bearer", bob_cookie, "", "svc:1", false}, 500).status == 401);
    // Another scheme is not ours (HTTP Basic auth of a site in front of the
    // page): the cookie decides, and without one it is still 401.
    BOOST_TEST(p::authenticate(c, {"Basic YWxpY2U6cHc=", bob_cookie, "", "svc:1", false}, 500).user == "bob");
    BOOST_TEST(p::authenticate(c, {"Basic YWxpY2U6cHc=", bob_cookie, "", "svc:1", false}, 500).by_cookie);
    BOOST_TEST(refused(c, {"Basic YWxpY2U6cHc=", "", "", "svc:1", false}, 500).status == 401);
    BOOST_TEST(refused(c, {"Bearerx " + alice_token, "", "", "svc:1", false}, 500).status == 401);
    // Nothing, expired, forged, unknown user.
    BOOST_TEST(refused(c, {"", "", "", "svc:1", false}, 500).status == 401);
    BOOST_TEST(refused(c, {"", alice_cookie, "", "svc:1", false}, 1000).status == 401);
    std::string forged = alice_cookie;
    forged.replace(forged.find("alice"), 5, "bob__");
    BOOST_TEST(refused(c, {"", forged, "", "svc:1", false}, 500).status == 401);
    const std::string carol = "hoist_session=" + p::sign_session_cookie(c.token_secret, "carol", sv4::sha256("carol-token"), 1000);
    BOOST_TEST(refused(c, {"", carol, "", "svc:1", false}, 500).status == 401);
    // Origin: own (scheme by TLS), a cors origin, anything else refused.
    BOOST_TEST(p::authenticate(c, {"", alice_cookie, "http://svc:1", "svc:1", false}, 500).user == "alice");
    BOOST_TEST(p::authenticate(c, {"", "__Host-" + alice_cookie, "https://svc:1", "svc:1", true}, 500).user == "alice");
    BOOST_TEST(p::authenticate(c, {"", alice_cookie, "https://app.example", "svc:1", false}, 500).user == "alice");
    for (const std::string& origin : std::vector<std::string>{"https://svc:1", "http://evil.example", "null", "http://svc:12", "http://svc"}) {
        auto e = refused(c, {"", alice_cookie, origin, "svc:1", false}, 500);
        BOOST_TEST(e.status == 403, origin);
        BOOST_TEST(e.code == "origin_not_allowed");
    }
    BOOST_TEST(refused(c, {"", alice_cookie, "http://svc:1", "", false}, 500).status == 403);   // no Host
    // The Origin check is for cookies: a bearer request from anywhere is as before.
    BOOST_TEST(p::authenticate(c, {"Bearer " + alice_token, "", "http://evil.example", "svc:1", false}, 500).user ==
               "alice");
    BOOST_TEST(p::session_origin_allowed(c, {"", "", "", "svc:1", false}));
    BOOST_TEST(p::session_origin_allowed(c, {"", "", "http://svc:1", "svc:1", false}));
    BOOST_TEST(!p::session_origin_allowed(c, {"", "", "http://svc:1", "svc:1", true}));
    BOOST_TEST(p::session_origin_allowed(c, {"", "", "https://app.example", "", false}));
    BOOST_TEST(!p::session_origin_allowed(c, {"", "", "http://", "", false}));
    // No message quotes the cookie.
    auto e = refused(c, {"", forged, "", "svc:1", false}, 500);
    BOOST_TEST(e.message.find("v1.") == std::string::npos);
}

// Cookie tossing: a sibling site (evil.example.com beside hoist.example.com)
// sets its own user's valid cookie for the parent domain or a longer path;
// the browser sends it beside the visitor's, the longer path first. Neither
// may be taken, or the visitor's files land in the other user's prefix.
BOOST_AUTO_TEST_CASE(two_session_cookies_are_refused) {
    const auto c = config();
    const std::string alice = p::sign_session_cookie(c.token_secret, "alice", sv4::sha256("alice-token"), 1000);
    const std::string bob = p::sign_session_cookie(c.token_secret, "bob", sv4::sha256("bob-token"), 1000);
    BOOST_TEST(p::count_cookies("", "hoist_session") == 0u);
    BOOST_TEST(p::count_cookies("a=1; hoist_session=x", "hoist_session") == 1u);
    BOOST_TEST(p::count_cookies("hoist_session=x; a=1; hoist_session=y; hoist_session=z", "hoist_session") == 2u);
    for (const std::string& header : {"hoist_session=" + bob + "; hoist_session=" + alice,
                                      "hoist_session=" + alice + "; x=1; hoist_session=" + alice,
                                      "hoist_session=" + alice + "; hoist_session=junk"}) {
        auto e = refused(c, {"", header, "", "svc:1", false}, 500);
        BOOST_TEST(e.status == 401);
        BOOST_TEST(e.code == "unauthorized");
        BOOST_TEST(e.message.find("v1.") == std::string::npos);
    }
    // Under TLS only the __Host- cookie counts: a tossed plain one is not read.
    BOOST_TEST(p::authenticate(c, {"", "hoist_session=" + bob + "; __Host-hoist_session=" + alice, "", "svc:1", true},
                               500)
                   .user == "alice");
    BOOST_TEST(refused(c, {"", "hoist_session=" + alice, "", "svc:1", true}, 500).status == 401);
    // One cookie, as hoist sets it, still works; a bearer token is unaffected.
    BOOST_TEST(p::authenticate(c, {"", "hoist_session=" + alice, "", "svc:1", false}, 500).user == "alice");
    BOOST_TEST(p::authenticate(c, {"Bearer " + alice_token, "hoist_session=" + bob + "; hoist_session=" + alice, "",
                                   "svc:1", false},
                               500)
                   .user == "alice");
}

BOOST_AUTO_TEST_CASE(browser_route_table) {
    using enum p::browser_route;
    struct row {
        const char* method;
        const char* path;
        p::browser_route route;
        const char* name;
    };
    const row rows[] = {
        {"POST", "/v1/session", session_create, "/v1/session"},
        {"DELETE", "/v1/session", session_delete, "/v1/session"},
        {"GET", "/v1/session", none, "/v1/session"},
        {"POST", "/v1/sign-request", sign_request, "/v1/sign-request"},
        {"GET", "/v1/sign-request", none, "/v1/sign-request"},
        {"POST", "/s3/multipart", s3_create, "/s3/multipart"},
        {"GET", "/s3/multipart", none, "/s3/multipart"},
        {"GET", "/s3/multipart/abc", s3_list_parts, "/s3/multipart/{uploadId}"},
        {"DELETE", "/s3/multipart/a%2Fb", s3_abort, "/s3/multipart/{uploadId}"},
        {"PUT", "/s3/multipart/abc", none, "/s3/multipart/{uploadId}"},
        {"GET", "/s3/multipart/abc/7", s3_sign_part, "/s3/multipart/{uploadId}/{partNumber}"},
        {"POST", "/s3/multipart/abc/7", none, "/s3/multipart/{uploadId}/{partNumber}"},
        {"POST", "/s3/multipart/abc/complete", s3_complete, "/s3/multipart/{uploadId}/complete"},
        {"GET", "/s3/multipart/abc/complete", none, "/s3/multipart/{uploadId}/complete"},
        {"GET", "/s3/params", s3_params, "/s3/params"},
        {"POST", "/s3/params", none, "/s3/params"},
        {"GET", "/s3/multipart/", none, ""},
        {"GET", "/s3/multipart//7", none, ""},
        {"GET", "/s3/multipart/a/7/x", none, ""},
        {"GET", "/s3/multipart/a/", none, ""},
        {"GET", "/s3/other", none, ""},
        {"GET", "/s3", none, ""},
        {"GET", "/v1/sessions", none, ""},
        {"GET", "/", none, ""},
    };
    for (const auto& r : rows) {
        auto m = p::match_browser_route(r.method, r.path);
        BOOST_TEST((m.route == r.route), r.method << " " << r.path);
        BOOST_TEST(m.name == r.name, r.method << " " << r.path);
        if (!m.name.empty()) BOOST_TEST(m.allow.find(r.method) == (m.route == none ? std::string::npos : m.allow.find(r.method)));
    }
    BOOST_TEST(p::match_browser_route("PUT", "/v1/session").allow == "POST, DELETE, OPTIONS");
}

BOOST_AUTO_TEST_SUITE_END()
