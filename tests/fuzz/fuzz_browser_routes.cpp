// hoist serve's browser-facing parsers (protocol/presign/{session,
// browser_routes,companion,sign_request}): everything a browser's request
// reaches before the storage is called, on bytes in memory. The product
// contract's start (fileName + totalParts) is fuzz_presign_wire's.
//
// Input: byte 0 picks the case, byte 1 is a flag byte, the rest is what the
// browser sent.
//   0  Cookie header, as authenticate() reads it
//   1  Cookie header with a genuine session cookie put where "@@" is (or
//      appended as "; NAME=@@"): the cookie of alice, bob or a user without
//      a token, expired or not (flags)
//   2  a /s3 request target (method from the flags), routed by
//      match_browser_route, then parse_companion_target and require_own_key
//   3  POST /s3/multipart body (parse_companion_create) and the key hoist chooses
//   4  POST /s3/multipart/{id}/complete body (parse_companion_complete)
//   5  POST /v1/sign-request body: parse, classify, sign
//   6  a bare key, upload id and content type (the rules on their own)
//   7  "METHOD PATH" through match_browser_route
// Invariants beyond "no crash, no leak, no UB": only api_error escapes the
// service's parsers, with the status the route documents; a cookie
// authenticates only as the user it was signed for, only when its MAC
// verifies, unexpired, and only when it is the one session cookie sent; a
// byte flipped in a genuine cookie never verifies; a genuine cookie found
// alone in the header always authenticates; every key a route accepts or
// hoist chooses is inside the caller's prefix (checked against a model
// written here, both ways), and a URL signed for it (sign-part,
// sign-request) decodes to exactly that key and upload id; an upload id is
// accepted exactly when it is 1..1024 visible ASCII bytes; a part number is
// 1..10000; a parsed target or body rendered again parses to the same; every
// decision is deterministic.
#include "fuzz_check.hpp"

#include "hoist/protocol/presign/auth.hpp"
#include "hoist/protocol/presign/browser_routes.hpp"
#include "hoist/protocol/presign/companion.hpp"
#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/names.hpp"
#include "hoist/protocol/presign/presigning.hpp"
#include "hoist/protocol/presign/session.hpp"
#include "hoist/protocol/presign/sign_request.hpp"
#include "hoist/sigv4/encoding.hpp"
#include "hoist/sigv4/signer.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace p = hoist::protocol;
namespace sv4 = hoist::sigv4;
namespace json = boost::json;

constexpr std::int64_t now_unix = 1700000000;

const p::service_config& config() {
    static const p::service_config cfg = p::parse_service_config(R"({
        "storage": {"endpoint": "https://127.0.0.1:9000", "region": "us-east-1", "bucket": "upload-bucket"},
        "token_secret": "0123456789abcdef0123456789abcdef",
        "tokens": [
            {"sha256": "0000000000000000000000000000000000000000000000000000000000000000", "user": "alice"},
            {"sha256": "1111111111111111111111111111111111111111111111111111111111111111", "user": "bob"},
            {"sha256": "2222222222222222222222222222222222222222222222222222222222222222", "user": "bob"}
        ],
        "allowed_extensions": ["bin", "txt", ".tar.gz"]
    })");
    return cfg;
}

const sv4::signer& signer() {
    static const sv4::signer s = [] {
        sv4::credentials creds;
        creds.access_key_id = "AKIDEXAMPLE";
        creds.secret_access_key = sv4::secret_string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        return sv4::signer(creds);
    }();
    return s;
}

const sv4::amz_date& date() {
    static const sv4::amz_date d = sv4::amz_date::parse("20231114T221320Z");
    return d;
}

std::vector<sv4::sha256_digest> hashes_of(std::string_view user) {
    std::vector<sv4::sha256_digest> out;
    for (const auto& t : config().tokens)
        if (t.user == user) out.push_back(t.sha256);
    return out;
}

std::vector<sv4::sha256_digest> all_hashes() {
    std::vector<sv4::sha256_digest> out;
    for (const auto& t : config().tokens) out.push_back(t.sha256);
    return out;
}

// The outcome of a call that may throw api_error; anything else escapes
// (libFuzzer reports an uncaught exception as a crash).
template <class T>
struct outcome {
    std::optional<T> value;
    int status = 0;
    std::string code;
};

template <class F>
auto attempt(F f) -> outcome<decltype(f())> {
    outcome<decltype(f())> o;
    try {
        o.value = f();
    } catch (const p::api_error& e) {
        o.status = e.status;
        o.code = e.code;
        HOIST_FUZZ_CHECK(!e.message.empty() && !e.code.empty());
    }
    return o;
}

// The own-key rule, written again from its documentation (browser_routes.hpp)
// rather than from its code: the two must agree on every key.
bool own_key_model(std::string_view user, std::string_view key) {
    const std::string prefix = config().key_prefix + "/" + std::string(user) + "/";
    if (key.size() <= prefix.size() || key.size() > 1024 || key.substr(0, prefix.size()) != prefix) return false;
    for (unsigned char c : key)
        if (c < 0x20 || c == 0x7f) return false;
    std::string_view rest = key.substr(prefix.size());
    std::size_t start = 0;
    for (std::size_t i = 0; i <= rest.size(); ++i) {
        if (i == rest.size() || rest[i] == '/') {
            const std::string_view seg = rest.substr(start, i - start);
            if (seg.empty() || seg == "." || seg == "..") return false;
            start = i + 1;
        }
    }
    return true;
}

bool own_key(std::string_view user, std::string_view key) {
    const auto o = attempt([&] {
        p::require_own_key(config(), user, key);
        return true;
    });
    if (!o.value) HOIST_FUZZ_CHECK(o.status == 403 && o.code == p::api_code::forbidden_key);
    const bool accepted = o.value.has_value();
    HOIST_FUZZ_CHECK(accepted == own_key_model(user, key));
    return accepted;
}

bool upload_id_model(std::string_view id) {
    if (id.empty() || id.size() > 1024) return false;
    for (unsigned char c : id)
        if (c <= 0x20 || c >= 0x7f) return false;
    return true;
}

// Every byte but the unreserved ones as %XX: what a careful client sends.
std::string pct(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// A presigned URL is for exactly the key that was checked: its path decodes
// to /BUCKET/KEY (a '?', '#' or '%' left unencoded in the key would sign
// another object), and its uploadId and partNumber decode to what was asked.
void check_signed_url(std::string_view url, std::string_view key, std::string_view upload_id,
                      std::uint32_t part_number) {
    const auto parsed = boost::urls::parse_uri(url);
    HOIST_FUZZ_CHECK(parsed.has_value());
    const boost::urls::url_view u = *parsed;
    HOIST_FUZZ_CHECK(u.encoded_host() == "127.0.0.1" && u.port() == "9000");
    HOIST_FUZZ_CHECK(std::string(u.path()) == "/upload-bucket/" + std::string(key));
    const auto params = u.params(boost::urls::encoding_opts(false, false, false));
    auto value = [&](std::string_view name) -> std::optional<std::string> {
        HOIST_FUZZ_CHECK(params.count(name) <= 1);
        const auto it = params.find(name);
        if (it == params.end()) return std::nullopt;
        return std::string((*it).value);
    };
    HOIST_FUZZ_CHECK(value("uploadId") == (upload_id.empty() ? std::nullopt : std::optional<std::string>(upload_id)));
    HOIST_FUZZ_CHECK(value("partNumber") ==
                     (part_number == 0 ? std::nullopt : std::optional<std::string>(std::to_string(part_number))));
    HOIST_FUZZ_CHECK(value("X-Amz-Signature").has_value());
}

// ---- 0, 1: the session cookie ----------------------------------------------

struct auth_result {
    bool ok = false;
    std::string user;
    int status = 0;
    bool operator==(const auth_result&) const = default;
};

auth_result run_authenticate(std::string_view cookie_header, bool tls) {
    const p::request_credentials creds{"", cookie_header, "", "upload.example", tls};
    const auto o = attempt([&] { return p::authenticate(config(), creds, now_unix); });
    auth_result r;
    if (o.value) {
        HOIST_FUZZ_CHECK(o.value->by_cookie);
        r.ok = true;
        r.user = o.value->user;
    } else {
        // No Origin is sent: nothing but 401.
        HOIST_FUZZ_CHECK(o.status == 401 && o.code == p::api_code::unauthorized);
        r.status = o.status;
    }
    return r;
}

void check_cookie_header(std::string_view header, bool tls) {
    const std::string_view name = p::session_cookie_name_for(tls);
    const auto found = p::find_cookie(header, name);
    const std::size_t count = p::count_cookies(header, name);
    HOIST_FUZZ_CHECK(count <= 2 && (count == 0) == !found.has_value());
    const auth_result r = run_authenticate(header, tls);
    HOIST_FUZZ_CHECK(r == run_authenticate(header, tls));
    if (!r.ok) return;
    // Accepted: the one session cookie, whose MAC verifies for that user's token.
    HOIST_FUZZ_CHECK(count == 1 && found);
    HOIST_FUZZ_CHECK(!hashes_of(r.user).empty());
    const auto hashes = hashes_of(r.user);
    const auto check = p::verify_session_cookie(config().token_secret, *found, now_unix, hashes);
    HOIST_FUZZ_CHECK(check.status == p::session_status::ok && check.user == r.user && check.expiry_unix > now_unix);
    HOIST_FUZZ_CHECK(p::session_cookie_user(*found) == std::optional<std::string_view>(r.user));
}

// A byte of a genuine cookie flipped: never a session, for any token.
void check_flipped(const std::string& cookie, std::size_t at, unsigned char mask) {
    std::string bad = cookie;
    bad[at % bad.size()] = static_cast<char>(static_cast<unsigned char>(bad[at % bad.size()]) ^ (mask | 1));
    const auto hashes = all_hashes();
    const auto check = p::verify_session_cookie(config().token_secret, bad, now_unix, hashes);
    HOIST_FUZZ_CHECK(check.status != p::session_status::ok && check.status != p::session_status::expired);
    HOIST_FUZZ_CHECK(check.user.empty());
}

void case_genuine_cookie(std::uint8_t flags, std::string_view rest) {
    static constexpr std::string_view users[] = {"alice", "bob", "carol", "alice"};
    const std::string_view user = users[flags & 3];
    const bool tls = (flags & 4) != 0;
    const bool expired = (flags & 8) != 0;
    const std::int64_t expiry = expired ? now_unix - (flags >> 4) : now_unix + 1 + (flags >> 4) * 977;
    // carol has no token: her cookie is signed with alice's hash, as a removed
    // user's old cookie would be.
    const auto own = hashes_of(user);
    const sv4::sha256_digest signed_with = own.empty() ? config().tokens.front().sha256 : own.back();
    const std::string cookie = p::sign_session_cookie(config().token_secret, user, signed_with, expiry);

    // The serialized cookie round-trips.
    HOIST_FUZZ_CHECK(p::session_cookie_user(cookie) == std::optional<std::string_view>(user));
    const auto mine = p::verify_session_cookie(config().token_secret, cookie, now_unix, own);
    HOIST_FUZZ_CHECK(mine.status == (own.empty()  ? p::session_status::bad_signature
                                     : expired    ? p::session_status::expired
                                                  : p::session_status::ok));
    if (!own.empty()) HOIST_FUZZ_CHECK(mine.expiry_unix == expiry);
    // Verified at its expiry it has expired; against another user's tokens it is forged.
    if (!own.empty())
        HOIST_FUZZ_CHECK(p::verify_session_cookie(config().token_secret, cookie, expiry, own).status ==
                         p::session_status::expired);
    // (carol's is signed with alice's hash: bob's tokens are foreign to all but bob.)
    const auto foreign = hashes_of(user == "bob" ? "alice" : "bob");
    HOIST_FUZZ_CHECK(p::verify_session_cookie(config().token_secret, cookie, now_unix, foreign).status ==
                     p::session_status::bad_signature);
    check_flipped(cookie, rest.empty() ? 0 : static_cast<unsigned char>(rest.front()), flags);

    // Put into the attacker's header.
    const std::string_view name = p::session_cookie_name_for(tls);
    std::string header(rest);
    if (const auto at = header.find("@@"); at != std::string::npos) header.replace(at, 2, cookie);
    else header.append("; ").append(name).append("=").append(cookie);
    check_cookie_header(header, tls);
    const auth_result r = run_authenticate(header, tls);
    if (r.ok) HOIST_FUZZ_CHECK(r.user == user);   // nobody else's cookie can be in there
    // Found alone, unexpired, for a user with a token: a session.
    const auto found = p::find_cookie(header, name);
    if (found && *found == cookie && p::count_cookies(header, name) == 1 && !own.empty() && !expired)
        HOIST_FUZZ_CHECK(r.ok);
}

// ---- 2: the /s3 targets ------------------------------------------------------

bool is_s3_route(p::browser_route r) {
    using enum p::browser_route;
    return r == s3_create || r == s3_list_parts || r == s3_abort || r == s3_sign_part || r == s3_complete ||
           r == s3_params;
}

bool same_target(const p::companion_target& a, const p::companion_target& b) {
    return a.upload_id == b.upload_id && a.part_number == b.part_number && a.key == b.key &&
           a.filename == b.filename && a.type == b.type;
}

// The target a client would send for what was parsed.
std::string render_target(p::browser_route route, const p::companion_target& t) {
    using enum p::browser_route;
    switch (route) {
    case s3_create: return "/s3/multipart";
    case s3_params: {
        std::string s = "/s3/params?filename=" + pct(t.filename);
        if (!t.type.empty()) s += "&type=" + pct(t.type);
        return s;
    }
    case s3_list_parts:
    case s3_abort: return "/s3/multipart/" + pct(t.upload_id) + "?key=" + pct(t.key);
    case s3_sign_part:
        return "/s3/multipart/" + pct(t.upload_id) + "/" + std::to_string(t.part_number) + "?key=" + pct(t.key);
    case s3_complete: return "/s3/multipart/" + pct(t.upload_id) + "/complete?key=" + pct(t.key);
    default: return {};
    }
}

void check_chosen_key(std::string_view user, std::string_view proposed) {
    const auto key = attempt([&] { return p::key_for_proposed_name(config(), user, 1700000000123, proposed); });
    if (!key.value) {
        HOIST_FUZZ_CHECK(key.status == 400);
        return;
    }
    // The key hoist chooses is one its own check accepts.
    HOIST_FUZZ_CHECK(own_key(user, *key.value));
    HOIST_FUZZ_CHECK(key.value == attempt([&] {
                         return p::key_for_proposed_name(config(), user, 1700000000123, proposed);
                     }).value);
}

void case_companion_target(std::uint8_t flags, std::string_view target) {
    static constexpr std::string_view methods[] = {"GET", "POST", "DELETE", "PUT"};
    const std::string_view method = methods[flags & 3];
    p::browser_route route = p::match_browser_route(method, target.substr(0, target.find('?'))).route;
    if (!is_s3_route(route)) {
        // Not what the router sends here; the parser must still hold up.
        static constexpr p::browser_route any[] = {p::browser_route::s3_create,   p::browser_route::s3_list_parts,
                                                   p::browser_route::s3_abort,    p::browser_route::s3_sign_part,
                                                   p::browser_route::s3_complete, p::browser_route::s3_params};
        route = any[(flags >> 2) % 6];
    }
    const auto parse = [&](std::string_view t) { return attempt([&] { return p::parse_companion_target(route, t); }); };
    const auto first = parse(target);
    const auto again = parse(target);
    HOIST_FUZZ_CHECK(first.value.has_value() == again.value.has_value() && first.status == again.status);
    if (!first.value) {
        HOIST_FUZZ_CHECK(first.status == 400 && first.code == p::api_code::invalid_request);
        return;
    }
    const p::companion_target& t = *first.value;
    HOIST_FUZZ_CHECK(same_target(t, *again.value));
    using enum p::browser_route;
    const bool names_upload = route != s3_create && route != s3_params;
    HOIST_FUZZ_CHECK(upload_id_model(t.upload_id) == names_upload);
    HOIST_FUZZ_CHECK(p::is_upload_id(t.upload_id) == names_upload);
    HOIST_FUZZ_CHECK((route == s3_sign_part) == (t.part_number != 0) && t.part_number <= 10000);
    HOIST_FUZZ_CHECK(t.key.empty() != names_upload);
    HOIST_FUZZ_CHECK(t.filename.empty() != (route == s3_params));
    if (route != s3_params) HOIST_FUZZ_CHECK(t.type.empty());
    // What the service does next: the key is the caller's, or refused.
    const std::string_view user = (flags & 16) ? "bob" : "alice";
    if (!t.key.empty() && own_key(user, t.key) && route == s3_sign_part) {
        // What the service signs for GET /s3/multipart/{id}/{n}.
        const auto urls = p::presign_parts(config(), signer(), t.key, t.upload_id, {t.part_number}, date());
        HOIST_FUZZ_CHECK(urls.size() == 1);
        check_signed_url(urls.front().url, t.key, t.upload_id, t.part_number);
    }
    if (route == s3_params) {
        check_chosen_key("alice", t.filename);
        const auto type = attempt([&] { return p::checked_content_type(t.type, "type"); });
        if (type.value) HOIST_FUZZ_CHECK(*type.value == (t.type.empty() ? "application/octet-stream" : t.type));
        const auto key = attempt([&] { return p::key_for_proposed_name(config(), "alice", 1700000000123, t.filename); });
        if (type.value && key.value && (flags & 32)) {
            const auto form = p::companion_post_form(config(), signer(), *key.value, *type.value, date());
            bool key_field = false;
            for (const auto& [n, v] : form.fields) key_field |= (n == "key" && v == *key.value);
            HOIST_FUZZ_CHECK(key_field && form.url.ends_with('/'));
            HOIST_FUZZ_CHECK(json::parse(p::companion_params_json(form)).is_object());
        }
    }
    // Rendered again, it parses to the same.
    const std::string rendered = render_target(route, t);
    const auto round = parse(rendered);
    HOIST_FUZZ_CHECK(round.value && same_target(*round.value, t));
    HOIST_FUZZ_CHECK(p::match_browser_route(route == s3_create || route == s3_complete ? "POST"
                                            : route == s3_abort                      ? "DELETE"
                                                                                     : "GET",
                                            rendered.substr(0, rendered.find('?')))
                         .route == route);
}

// ---- 3, 4: the /s3 bodies ------------------------------------------------------

void case_companion_create(std::string_view body) {
    const auto c = attempt([&] { return p::parse_companion_create(body); });
    if (!c.value) {
        HOIST_FUZZ_CHECK(c.status == 400 &&
                         (c.code == p::api_code::invalid_json || c.code == p::api_code::invalid_request));
        return;
    }
    HOIST_FUZZ_CHECK(!c.value->filename.empty() && !c.value->type.empty());
    HOIST_FUZZ_CHECK(attempt([&] { return p::checked_content_type(c.value->type, "type"); }).value == c.value->type);
    check_chosen_key("alice", c.value->filename);
    // Rendered again, it parses to the same.
    const std::string again = json::serialize(json::object{{"filename", c.value->filename}, {"type", c.value->type}});
    const auto r = attempt([&] { return p::parse_companion_create(again); });
    HOIST_FUZZ_CHECK(r.value && r.value->filename == c.value->filename && r.value->type == c.value->type);
}

void case_companion_complete(std::string_view body) {
    const auto c = attempt([&] { return p::parse_companion_complete(body); });
    if (!c.value) {
        HOIST_FUZZ_CHECK(c.status == 400 &&
                         (c.code == p::api_code::invalid_json || c.code == p::api_code::invalid_parts));
        return;
    }
    const auto& parts = *c.value;
    HOIST_FUZZ_CHECK(!parts.empty() && parts.size() <= 10000);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        HOIST_FUZZ_CHECK(parts[i].part_number >= 1 && parts[i].part_number <= 10000 && !parts[i].etag.empty());
        if (i > 0) HOIST_FUZZ_CHECK(parts[i - 1].part_number < parts[i].part_number);
    }
    json::array a;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it)
        a.push_back(json::object{{"PartNumber", it->part_number}, {"ETag", it->etag}});
    const auto r = attempt([&] { return p::parse_companion_complete(json::serialize(json::object{{"parts", a}})); });
    HOIST_FUZZ_CHECK(r.value && r.value->size() == parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i)
        HOIST_FUZZ_CHECK((*r.value)[i].part_number == parts[i].part_number && (*r.value)[i].etag == parts[i].etag);
}

// ---- 5: POST /v1/sign-request ----------------------------------------------------

std::optional<std::int64_t> query_number(std::string_view url, std::string_view name) {
    const auto at = url.find(std::string(name) + "=");
    if (at == std::string_view::npos) return std::nullopt;
    std::int64_t n = 0;
    for (std::size_t i = at + name.size() + 1; i < url.size() && url[i] >= '0' && url[i] <= '9'; ++i)
        n = n * 10 + (url[i] - '0');
    return n;
}

void case_sign_request(std::uint8_t flags, std::string_view body) {
    const auto in = attempt([&] { return p::parse_sign_request(body); });
    if (!in.value) {
        HOIST_FUZZ_CHECK(in.status == 400 &&
                         (in.code == p::api_code::invalid_json || in.code == p::api_code::invalid_request));
        return;
    }
    const auto& r = *in.value;
    HOIST_FUZZ_CHECK(!r.method.empty() && !r.key.empty());
    HOIST_FUZZ_CHECK(r.upload_id.empty() || upload_id_model(r.upload_id));
    HOIST_FUZZ_CHECK(!r.part_number || (*r.part_number >= 1 && *r.part_number <= 10000));
    HOIST_FUZZ_CHECK(!r.expires_in || *r.expires_in >= 1);
    const std::string_view user = (flags & 1) ? "bob" : "alice";
    const auto s = attempt([&] { return p::sign_s3_request(config(), signer(), user, r, 1700000000123, date()); });
    if (!s.value) {
        HOIST_FUZZ_CHECK((s.status == 400 && (s.code == p::api_code::not_offered ||
                                              s.code == p::api_code::invalid_request ||
                                              s.code == p::api_code::invalid_file_name || s.code == p::api_code::extension_not_allowed)) ||
                         (s.status == 403 && s.code == p::api_code::forbidden_key));
        return;
    }
    const auto& out = *s.value;
    HOIST_FUZZ_CHECK(out.kind == p::classify_sign_request(r));
    // Whatever was asked, the URL is for one of the caller's keys.
    HOIST_FUZZ_CHECK(own_key(user, out.key));
    const bool creating =
        out.kind == p::sign_request_kind::put_object || out.kind == p::sign_request_kind::create_multipart_upload;
    if (!creating) HOIST_FUZZ_CHECK(out.key == r.key);
    HOIST_FUZZ_CHECK(out.url.starts_with("https://127.0.0.1:9000/upload-bucket/"));
    const bool names_upload = !creating;
    check_signed_url(out.url, out.key, names_upload ? std::string_view(r.upload_id) : std::string_view{},
                     out.kind == p::sign_request_kind::upload_part ? *r.part_number : 0);
    const auto expires = query_number(out.url, "X-Amz-Expires");
    HOIST_FUZZ_CHECK(expires && *expires >= 1 && *expires <= config().presign_expiry.count());
    if (r.expires_in) HOIST_FUZZ_CHECK(*expires == *r.expires_in);
    if (out.kind == p::sign_request_kind::upload_part)
        HOIST_FUZZ_CHECK(query_number(out.url, "partNumber") == std::optional<std::int64_t>(*r.part_number));
    const json::value answer = json::parse(p::sign_request_response_json(out));
    HOIST_FUZZ_CHECK(answer.at("url").as_string() == out.url && answer.at("key").as_string() == out.key);
}

// ---- 6, 7: the rules on their own and the route table ---------------------------

void case_bare_rules(std::uint8_t flags, std::string_view text) {
    own_key((flags & 1) ? "bob" : "alice", text);
    HOIST_FUZZ_CHECK(p::is_upload_id(text) == upload_id_model(text));
    const auto type = attempt([&] { return p::checked_content_type(text, "type"); });
    if (type.value) {
        HOIST_FUZZ_CHECK(text.empty() ? *type.value == "application/octet-stream" : *type.value == text);
        HOIST_FUZZ_CHECK(type.value->size() <= 255 && type.value->find('/') != std::string::npos);
        for (unsigned char c : *type.value) HOIST_FUZZ_CHECK(c >= 0x20 && c < 0x7f);
    } else {
        HOIST_FUZZ_CHECK(type.status == 400 && type.code == p::api_code::invalid_request);
    }
    if (flags & 2) check_chosen_key("alice", text);
}

void case_route_table(std::string_view text) {
    const auto space = text.find(' ');
    const std::string_view method = text.substr(0, space);
    const std::string_view path = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    if (!path.starts_with('/')) return;   // the router only sees origin-form targets
    const auto m = p::match_browser_route(method, path);
    const auto again = p::match_browser_route(method, path);
    HOIST_FUZZ_CHECK(m.route == again.route && m.name == again.name && m.allow == again.allow);
    if (m.name.empty()) {
        HOIST_FUZZ_CHECK(m.route == p::browser_route::none && m.allow.empty());
        return;
    }
    HOIST_FUZZ_CHECK(!m.allow.empty() && m.allow.ends_with("OPTIONS"));
    // The route is taken exactly when the method is one the path allows.
    bool listed = false;
    std::string_view allow = m.allow;
    while (!allow.empty()) {
        const auto comma = allow.find(", ");
        listed |= allow.substr(0, comma) == method && method != "OPTIONS";
        allow = comma == std::string_view::npos ? std::string_view{} : allow.substr(comma + 2);
    }
    HOIST_FUZZ_CHECK((m.route != p::browser_route::none) == listed);
    if (is_s3_route(m.route)) HOIST_FUZZ_CHECK(path.starts_with("/s3/"));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t flags = data[1];
    const std::string_view rest = hoist::fuzz::as_text(data + 2, size - 2);
    switch (data[0] % 8) {
    case 0: check_cookie_header(rest, (flags & 1) != 0); break;
    case 1: case_genuine_cookie(flags, rest); break;
    case 2: case_companion_target(flags, rest); break;
    case 3: case_companion_create(rest); break;
    case 4: case_companion_complete(rest); break;
    case 5: case_sign_request(flags, rest); break;
    case 6: case_bare_rules(flags, rest); break;
    case 7: case_route_table(rest); break;
    }
    return 0;
}
