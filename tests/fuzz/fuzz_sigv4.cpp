// SigV4 canonicalisation and signing (sigv4/signer.hpp, encoding.hpp) on
// arbitrary requests: any method, path, query and headers.
//
// Input: one flags byte, then a request in the aws-c-auth test suite's
// request.txt form ("METHOD TARGET HTTP/1.1", "name:value" header lines,
// folded continuation lines, a blank line, the body), so the suite's cases
// are the seeds.
//   flags bit 0  presign (query mode) instead of the Authorization header
//         bit 1  normalize_path (generic SigV4)
//         bit 2  credentials with a session token
//         bit 3  no x-amz-content-sha256 header
//         bit 4  service "s3" instead of "service"
//         bit 5  UNSIGNED-PAYLOAD instead of the body's SHA-256
// Invariants beyond "no crash": only sigv4_error escapes; signing is
// deterministic (the same signer twice, through its key cache, and a fresh
// signer give the same signature); the signature is 64 lowercase hex digits;
// uri_encode leaves only unreserved characters, '/' (when kept) and %XX, and
// uri_decode undoes it; the canonical query is sorted; SignedHeaders lists
// each header name once, lowercase and sorted, and the canonical request has
// one line per signed header; base64 round-trips; a parsed X-Amz-Date turns
// back into the same text.
#include "fuzz_check.hpp"

#include "hoist/sigv4/signer.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace {

namespace sv4 = hoist::sigv4;

bool is_unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}
bool is_upper_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

void check_encoded(std::string_view out, bool keep_slash) {
    for (std::size_t i = 0; i < out.size(); ++i) {
        const char c = out[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) continue;
        HOIST_FUZZ_CHECK(c == '%' && i + 2 < out.size());
        HOIST_FUZZ_CHECK(is_upper_hex(out[i + 1]) && is_upper_hex(out[i + 2]));
        i += 2;
    }
}

void check_uri_encoding(std::string_view text) {
    for (const bool keep_slash : {false, true}) {
        const std::string encoded = sv4::uri_encode(text, keep_slash);
        check_encoded(encoded, keep_slash);
        const auto decoded = sv4::uri_decode(encoded);
        HOIST_FUZZ_CHECK(decoded && *decoded == text);
    }
}

struct parsed_request {
    sv4::request req;
    std::string body;
};

parsed_request parse_request(std::string_view text) {
    parsed_request out;
    std::string_view first = hoist::fuzz::next_piece(text, "\n");
    const auto space = first.find(' ');
    out.req.method = std::string(first.substr(0, space));
    std::string_view target = space == std::string_view::npos ? std::string_view{} : first.substr(space + 1);
    if (const auto version = target.rfind(" HTTP/"); version != std::string_view::npos) target = target.substr(0, version);
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    // Paths arrive decoded; an undecodable one is taken literally.
    out.req.path = sv4::uri_decode(path).value_or(std::string(path));
    if (q != std::string_view::npos) {
        std::string_view query = target.substr(q + 1);
        while (query.data() != nullptr) {
            const std::string_view part = hoist::fuzz::next_piece(query, "&");
            const auto eq = part.find('=');
            const std::string_view name = part.substr(0, eq);
            const std::string_view value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
            out.req.query.emplace_back(sv4::uri_decode(name).value_or(std::string(name)),
                                       sv4::uri_decode(value).value_or(std::string(value)));
        }
    }
    while (text.data() != nullptr) {
        const std::string_view line = hoist::fuzz::next_piece(text, "\n");
        if (line.empty()) {
            out.body = std::string(text);
            break;
        }
        if ((line.front() == ' ' || line.front() == '\t') && !out.req.headers.empty()) {
            out.req.headers.back().value += " " + std::string(line);
            continue;
        }
        const auto colon = line.find(':');
        out.req.headers.push_back({std::string(line.substr(0, colon)),
                                   colon == std::string_view::npos ? std::string{} : std::string(line.substr(colon + 1))});
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

void check_result(const sv4::signature_result& r, const sv4::request& req, bool presign) {
    HOIST_FUZZ_CHECK(r.signature.size() == 64);
    HOIST_FUZZ_CHECK(std::all_of(r.signature.begin(), r.signature.end(),
                                 [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));

    // SignedHeaders: each name once, lowercase, sorted, and exactly the
    // request's (plus, in header mode, what the signer added).
    std::set<std::string> names;
    for (const auto& h : req.headers) names.insert(lower(h.name));
    if (!presign)
        for (const auto& h : r.added_headers)
            if (h.name != "Authorization") names.insert(lower(h.name));
    std::vector<std::string> listed;
    std::string_view rest = r.signed_headers;
    while (rest.data() != nullptr) listed.emplace_back(hoist::fuzz::next_piece(rest, ";"));
    HOIST_FUZZ_CHECK(std::vector<std::string>(names.begin(), names.end()) == listed);

    // The canonical request: method, URI, query, one line per header, a blank
    // line, SignedHeaders, payload hash.
    const auto lines = std::count(r.canonical_request.begin(), r.canonical_request.end(), '\n');
    HOIST_FUZZ_CHECK(static_cast<std::size_t>(lines) == 3 + names.size() + 2);

    // The canonical query: encoded name=value pairs, sorted by name, then value.
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    rest = r.canonical_query;
    while (!r.canonical_query.empty() && rest.data() != nullptr) {
        std::string_view value = hoist::fuzz::next_piece(rest, "&");
        const std::string_view name = hoist::fuzz::next_piece(value, "=");
        HOIST_FUZZ_CHECK(value.data() != nullptr);  // every pair has its '='
        check_encoded(name, false);
        check_encoded(value, false);
        pairs.emplace_back(name, value);
    }
    HOIST_FUZZ_CHECK(std::is_sorted(pairs.begin(), pairs.end()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t flags = data[0];
    const std::string_view text = hoist::fuzz::as_text(data + 1, size - 1);
    try {
        const parsed_request p = parse_request(text);
        check_uri_encoding(p.req.path);
        for (const auto& [name, value] : p.req.query) check_uri_encoding(name + value);

        const auto b64 = sv4::base64_encode(reinterpret_cast<const std::uint8_t*>(p.body.data()), p.body.size());
        const auto back = sv4::base64_decode(b64);
        HOIST_FUZZ_CHECK(back && *back == p.body);
        (void)sv4::base64_decode(p.body);

        sv4::signing_params params;
        params.region = "us-east-1";
        params.service = (flags & 16) ? "s3" : "service";
        params.normalize_path = (flags & 2) != 0;
        params.content_sha256_header = (flags & 8) == 0;
        for (const auto& h : p.req.headers) {
            if (lower(h.name) != "x-amz-date") continue;
            try {
                const auto date = sv4::amz_date::parse(h.value);
                HOIST_FUZZ_CHECK(date.iso() == h.value);
                if (h.value[13] != '6')  // a leap second reads back as the next minute
                    HOIST_FUZZ_CHECK(sv4::amz_date::from(date.time_point()).iso() == h.value);
                params.date = date;
            } catch (const sv4::sigv4_error&) {
            }
        }
        sv4::request req = p.req;
        req.payload_hash = (flags & 32) ? std::string(sv4::unsigned_payload) : sv4::sha256_hex(p.body);

        sv4::credentials creds;
        creds.access_key_id = "AKIDEXAMPLE";
        creds.secret_access_key = sv4::secret_string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        if (flags & 4) creds.session_token = sv4::secret_string("AQoDYXdzEPT//////////wEXAMPLEtc764");
        const sv4::signer signer(creds);
        const bool presign = (flags & 1) != 0;
        auto sign = [&](const sv4::signer& s) {
            return presign ? s.presign(req, params, std::chrono::seconds(3600)) : s.sign_headers(req, params);
        };
        const auto first = sign(signer);
        check_result(first, req, presign);
        const auto cached = sign(signer);
        const auto fresh = sign(sv4::signer(creds));
        HOIST_FUZZ_CHECK(cached.signature == first.signature && fresh.signature == first.signature);
        HOIST_FUZZ_CHECK(fresh.canonical_request == first.canonical_request);
        if (presign) (void)sv4::presigned_query(first);
    } catch (const sv4::sigv4_error& e) {
        HOIST_FUZZ_CHECK(*e.what() != '\0');
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        HOIST_FUZZ_CHECK(!"only sigv4_error may escape");
    }
    return 0;
}
