#include "hoist/sigv4/signer.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace hoist::sigv4 {
namespace {

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool has_header(const std::vector<header>& headers, std::string_view name) {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const header& h) { return iequals(h.name, name); });
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trims and collapses inner runs of whitespace to one space (SigV4 rule; it
// applies inside quoted strings too).
std::string canonical_header_value(std::string_view value) {
    std::string out;
    bool pending_space = false;
    for (char c : value) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        out.push_back(c);
    }
    return out;
}

// Generic SigV4 path normalisation (RFC 3986 dot-segment removal plus empty
// segment collapse), keeping a trailing slash. Never used for S3.
std::string normalize_path(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view seg = path.substr(start, end - start);
        if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
        } else if (!seg.empty() && seg != ".") {
            segments.push_back(seg);
        }
        start = end + 1;
    }
    bool trailing = (!path.empty() && path.back() == '/') ||
                    path.ends_with("/.") || path.ends_with("/..");
    std::string out;
    for (auto seg : segments) {
        out += '/';
        out += seg;
    }
    if (out.empty() || trailing) out += '/';
    return out;
}

int digits(std::string_view s, std::size_t pos, std::size_t n) {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

void require_scope(std::string_view region, std::string_view service) {
    if (region.empty()) throw sigv4_error("sigv4: the region is empty");
    if (service.empty()) throw sigv4_error("sigv4: the service is empty");
    auto bad = [](char c) { return c == '/' || is_space(c); };
    if (std::any_of(region.begin(), region.end(), bad))
        throw sigv4_error("sigv4: the region contains '/' or whitespace");
}

} // namespace

// ---- amz_date --------------------------------------------------------------

amz_date amz_date::parse(std::string_view text) {
    auto fail = [&] {
        return sigv4_error("sigv4: malformed date '" + std::string(text.substr(0, 40)) +
                           "': expected YYYYMMDDTHHMMSSZ in UTC");
    };
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') throw fail();
    int year = digits(text, 0, 4), month = digits(text, 4, 2), day = digits(text, 6, 2);
    int hour = digits(text, 9, 2), minute = digits(text, 11, 2), second = digits(text, 13, 2);
    // Up to 2261: system_clock::time_point counts nanoseconds in 64 bits and
    // ends in April 2262, so a later date made time_point() overflow (UB; found
    // by tests/fuzz/fuzz_sigv4 with "40481002T002010Z").
    if (year < 1970 || year > 2261 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
        minute < 0 || minute > 59 || second < 0 || second > 60)
        throw fail();
    static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max_day = month_days[month - 1] + (month == 2 && leap(year) ? 1 : 0);
    if (day > max_day) throw fail();
    return amz_date(std::string(text));
}

amz_date amz_date::from(std::chrono::system_clock::time_point when) {
    std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[17];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return amz_date(buf);
}

std::chrono::system_clock::time_point amz_date::time_point() const {
    std::tm tm{};
    tm.tm_year = digits(iso_, 0, 4) - 1900;
    tm.tm_mon = digits(iso_, 4, 2) - 1;
    tm.tm_mday = digits(iso_, 6, 2);
    tm.tm_hour = digits(iso_, 9, 2);
    tm.tm_min = digits(iso_, 11, 2);
    tm.tm_sec = digits(iso_, 13, 2);
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// ---- canonical pieces ------------------------------------------------------

std::string canonical_uri(std::string_view path, bool normalize) {
    if (path.empty()) return "/";
    if (normalize) return uri_encode(normalize_path(path), true);
    return uri_encode(path, true);
}

std::string canonical_query_string(const std::vector<query_param>& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const auto& [name, value] : query)
        encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded) {
        if (!out.empty()) out += '&';
        out += name;
        out += '=';
        out += value;
    }
    return out;
}

std::pair<std::string, std::string> canonical_headers(const std::vector<header>& headers) {
    std::map<std::string, std::string> joined;  // sorted by lowercase name
    for (const auto& h : headers) {
        auto [it, inserted] = joined.try_emplace(to_lower(h.name));
        if (!inserted) it->second += ',';
        it->second += canonical_header_value(h.value);
    }
    std::string block, names;
    for (const auto& [name, value] : joined) {
        block += name;
        block += ':';
        block += value;
        block += '\n';
        if (!names.empty()) names += ';';
        names += name;
    }
    return {std::move(block), std::move(names)};
}

std::string credential_scope(const amz_date& date, std::string_view region, std::string_view service) {
    std::string out(date.day());
    out += '/';
    out += region;
    out += '/';
    out += service;
    out += "/aws4_request";
    return out;
}

std::string presigned_query(const signature_result& presigned) {
    return presigned.canonical_query + "&X-Amz-Signature=" + presigned.signature;
}

// ---- signer ----------------------------------------------------------------

signer::signer(credentials creds) : creds_(std::move(creds)) { creds_.validate(); }

sha256_digest signer::signing_key(const amz_date& date, std::string_view region,
                                  std::string_view service) const {
    auto id = std::make_tuple(std::string(date.day()), std::string(region), std::string(service));
    std::lock_guard lock(cache_mutex_);
    if (auto it = key_cache_.find(id); it != key_cache_.end()) return it->second;
    auto as_view = [](const sha256_digest& d) {
        return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
    };
    std::string seed = "AWS4" + creds_.secret_access_key.reveal();
    auto k_date = hmac_sha256(seed, date.day());
    auto k_region = hmac_sha256(as_view(k_date), region);
    auto k_service = hmac_sha256(as_view(k_region), service);
    auto k_signing = hmac_sha256(as_view(k_service), "aws4_request");
    std::fill(seed.begin(), seed.end(), '\0');
    // One key per day and scope; a long-lived signer sees a new day rarely, so
    // an old entry is dropped when the cache grows rather than tracked by age.
    if (key_cache_.size() >= 16) key_cache_.clear();
    key_cache_.emplace(std::move(id), k_signing);
    return k_signing;
}

std::string signer::sign(const std::string& string_to_sign, const amz_date& date,
                         std::string_view region, std::string_view service) const {
    auto key = signing_key(date, region, service);
    auto sig = hmac_sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
                           string_to_sign);
    return hex(sig);
}

namespace {

std::string make_canonical_request(std::string_view method, const std::string& uri,
                                   const std::string& query, const std::string& header_block,
                                   const std::string& signed_names, std::string_view payload_hash) {
    std::string out;
    out.reserve(method.size() + uri.size() + query.size() + header_block.size() +
                signed_names.size() + payload_hash.size() + 8);
    out.append(method).append("\n").append(uri).append("\n").append(query).append("\n");
    out.append(header_block).append("\n").append(signed_names).append("\n").append(payload_hash);
    return out;
}

std::string make_string_to_sign(const amz_date& date, const std::string& scope,
                                const std::string& canonical_request) {
    std::string out(algorithm);
    out.append("\n").append(date.iso()).append("\n").append(scope).append("\n");
    out.append(sha256_hex(canonical_request));
    return out;
}

// RFC 9110 token characters, what a field name may hold.
bool is_tchar(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void require_request(const request& req) {
    if (req.method.empty()) throw sigv4_error("sigv4: the request method is empty");
    // A name HTTP cannot carry would be signed as given: one with ';' splits
    // into two names in SignedHeaders, one with ':' or '\n' breaks the
    // canonical request's lines, so the signature would cover something other
    // than what the server reconstructs (found by tests/fuzz/fuzz_sigv4).
    for (const auto& h : req.headers) {
        if (h.name.empty() || !std::all_of(h.name.begin(), h.name.end(), is_tchar))
            throw sigv4_error("sigv4: a header name is empty or not an HTTP token "
                              "(letters, digits and !#$%&'*+-.^_`|~ only)");
    }
    if (!has_header(req.headers, "host")) throw sigv4_error("sigv4: the request has no Host header");
    if (req.payload_hash.empty()) throw sigv4_error("sigv4: the payload hash is empty");
}

} // namespace

signature_result signer::sign_headers(const request& req, const signing_params& params) const {
    require_scope(params.region, params.service);
    require_request(req);

    signature_result r;
    std::vector<header> signed_set = req.headers;
    const std::string& token = creds_.session_token.reveal();
    if (!token.empty() && !has_header(req.headers, "x-amz-security-token")) {
        r.added_headers.push_back({"X-Amz-Security-Token", token});
        if (!params.omit_session_token) signed_set.push_back(r.added_headers.back());
    }
    if (!has_header(req.headers, "x-amz-date")) {
        r.added_headers.push_back({"X-Amz-Date", params.date.iso()});
        signed_set.push_back(r.added_headers.back());
    }
    if (params.content_sha256_header && !has_header(req.headers, "x-amz-content-sha256")) {
        r.added_headers.push_back({"x-amz-content-sha256", req.payload_hash});
        signed_set.push_back(r.added_headers.back());
    }

    auto [block, names] = canonical_headers(signed_set);
    r.signed_headers = names;
    r.canonical_query = canonical_query_string(req.query);
    r.canonical_request = make_canonical_request(req.method, canonical_uri(req.path, params.normalize_path),
                                                 r.canonical_query, block, names, req.payload_hash);
    std::string scope = credential_scope(params.date, params.region, params.service);
    r.string_to_sign = make_string_to_sign(params.date, scope, r.canonical_request);
    r.signature = sign(r.string_to_sign, params.date, params.region, params.service);
    r.added_headers.push_back({"Authorization", std::string(algorithm) + " Credential=" +
                                                    creds_.access_key_id + "/" + scope +
                                                    ", SignedHeaders=" + names +
                                                    ", Signature=" + r.signature});
    return r;
}

signature_result signer::presign(const request& req, const signing_params& params,
                                 std::chrono::seconds expires) const {
    require_scope(params.region, params.service);
    require_request(req);
    if (expires.count() < 1 || expires > max_presign_expiry)
        throw sigv4_error("sigv4: presigned URL expiry must be 1 to 604800 seconds (7 days), got " +
                          std::to_string(expires.count()));

    signature_result r;
    auto [block, names] = canonical_headers(req.headers);
    r.signed_headers = names;
    std::string scope = credential_scope(params.date, params.region, params.service);
    const std::string& token = creds_.session_token.reveal();

    r.added_query = {
        {"X-Amz-Algorithm", std::string(algorithm)},
        {"X-Amz-Credential", creds_.access_key_id + "/" + scope},
        {"X-Amz-Date", params.date.iso()},
        {"X-Amz-SignedHeaders", names},
        {"X-Amz-Expires", std::to_string(expires.count())},
    };
    std::vector<query_param> signed_query = req.query;
    signed_query.insert(signed_query.end(), r.added_query.begin(), r.added_query.end());
    if (!token.empty()) {
        r.added_query.push_back({"X-Amz-Security-Token", token});
        if (!params.omit_session_token) signed_query.push_back(r.added_query.back());
    }

    r.canonical_query = canonical_query_string(signed_query);
    r.canonical_request = make_canonical_request(req.method, canonical_uri(req.path, params.normalize_path),
                                                 r.canonical_query, block, names, req.payload_hash);
    r.string_to_sign = make_string_to_sign(params.date, scope, r.canonical_request);
    r.signature = sign(r.string_to_sign, params.date, params.region, params.service);
    r.added_query.push_back({"X-Amz-Signature", r.signature});
    return r;
}

} // namespace hoist::sigv4
