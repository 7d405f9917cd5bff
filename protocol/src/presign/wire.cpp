// The presign service's wire format. See presign/wire.hpp.
//
// Every message is described once below (its describe() overload); the service's
// request parsing and answer rendering and the client's request rendering and
// answer parsing all run on these descriptions (wire_fields.hpp).
#include "hoist/protocol/presign/wire.hpp"

#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/names.hpp"

#include "text.hpp"
#include "wire_fields.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace hoist::protocol {

namespace json = boost::json;
using namespace wire_fields;

// ---- the messages ---------------------------------------------------------------

namespace wire_fields {

// Fields that more than one message carries.
namespace field {
constexpr text_field action{.name = "action", .non_empty = false};
constexpr text_field upload_id{.name = "uploadId", .max_bytes = 1024, .chars = charset::visible_ascii};
constexpr text_field s3_key{.name = "s3Key", .max_bytes = 1024, .chars = charset::no_control};  // S3's key limit
constexpr text_field upload_token{.name = "uploadToken", .max_bytes = 512, .chars = charset::visible_ascii};
// In the calls after start, where leaving the token out means "authorise by
// the key prefix" (the product's frontend never had tokens). Sent empty, it
// is still refused: that is a client bug, not a choice.
constexpr text_field upload_token_ref{
    .name = "uploadToken", .max_bytes = 512, .chars = charset::visible_ascii, .optional = true};
constexpr text_field unique_file_name{.name = "uniqueFileName", .max_bytes = 1024, .chars = charset::no_control};
constexpr text_field url{.name = "url", .chars = charset::visible_ascii};
constexpr std::string_view expires_at = "expiresAt";
constexpr std::string_view success = "success";
constexpr std::string_view parts = "parts";
} // namespace field

// An error answer: {"error":{"code","message"}}.
struct error_body {
    std::string code;
    std::string message;
};
struct error_envelope {
    error_body error;
};

// What a message is called: a request's "action", and the name an answer goes
// by in the client's wire_errors.
template <class Message>
constexpr std::string_view wire_name = {};
template <> constexpr std::string_view wire_name<start_request> = "start";
template <> constexpr std::string_view wire_name<start_parts_request> = "start";
template <> constexpr std::string_view wire_name<complete_request> = "complete";
template <> constexpr std::string_view wire_name<abort_request> = "abort";
template <> constexpr std::string_view wire_name<presign_request> = "presign";
template <> constexpr std::string_view wire_name<list_parts_request> = "list-parts";
template <> constexpr std::string_view wire_name<single_request> = "single";
template <> constexpr std::string_view wire_name<start_response> = "start answer";
template <> constexpr std::string_view wire_name<start_parts_response> = "start answer";
template <> constexpr std::string_view wire_name<complete_response> = "complete answer";
template <> constexpr std::string_view wire_name<abort_response> = "abort answer";
template <> constexpr std::string_view wire_name<presign_response> = "presign answer";
template <> constexpr std::string_view wire_name<list_parts_response> = "list-parts answer";
template <> constexpr std::string_view wire_name<single_response> = "single answer";
template <> constexpr std::string_view wire_name<proxied_part_response> = "part answer";
template <> constexpr std::string_view wire_name<error_envelope> = "error answer";

// What every call after start names.
void describe(auto& v, one_of<upload_ref> auto& m) {
    v.text(field::upload_id, m.upload_id);
    v.text(field::s3_key, m.s3_key);
    v.text(field::upload_token_ref, m.upload_token);
}

// A part as S3 names it (CompleteMultipartUpload, ListParts), capitalised.
void describe_part(auto& v, auto& m) {
    v.number({.name = "PartNumber", .lo = 1, .hi = max_parts}, m.part_number);
    v.text({.name = "ETag", .max_bytes = 1024, .chars = charset::no_control}, m.etag);
}
void describe(auto& v, one_of<completed_part, proxied_part_response> auto& m) { describe_part(v, m); }
void describe(auto& v, one_of<part_info> auto& m) {
    describe_part(v, m);
    v.number({.name = "Size", .hi = max_part_size}, m.size);
}

void describe(auto& v, one_of<presigned_part> auto& m) {
    v.number({.name = "partNumber", .lo = 1, .hi = max_parts}, m.part_number);
    v.text(field::url, m.url);
}

// ---- requests (client -> service)

// The file to upload, in start and single: its raw name (the service's
// sanitize_file_name judges it), size and optional media type.
void describe_file(auto& v, auto& m) {
    v.text({.name = "fileName", .non_empty = false}, m.file_name);
    v.number({.name = "fileSize"}, m.file_size);
    v.text({.name = "contentType", .max_bytes = 255, .chars = charset::printable_ascii, .optional = true},
           m.content_type);
}

void describe(auto& v, one_of<single_request> auto& m) { describe_file(v, m); }

void describe(auto& v, one_of<start_request> auto& m) {
    describe_file(v, m);
    v.number({.name = "totalParts", .lo = 1, .hi = max_parts}, m.total_parts);
}

// No fileSize: the name, the client's part count and the optional media type.
void describe(auto& v, one_of<start_parts_request> auto& m) {
    v.text({.name = "fileName", .non_empty = false}, m.file_name);
    v.number({.name = "totalParts", .lo = 1, .hi = max_parts}, m.total_parts);
    v.text({.name = "contentType", .max_bytes = 255, .chars = charset::printable_ascii, .optional = true},
           m.content_type);
}

void describe(auto& v, one_of<abort_request, list_parts_request> auto& m) { describe(v, m.upload); }

void describe(auto& v, one_of<presign_request> auto& m) {
    describe(v, m.upload);
    v.numbers({.name = "partNumbers", .lo = 1, .hi = max_parts}, m.part_numbers);
}

void describe(auto& v, one_of<complete_request> auto& m) {
    describe(v, m.upload);
    v.list(field::parts, m.parts, api_code::invalid_parts);
}

// ---- answers (service -> client)

// Part URLs, in start and presign answers.
void describe_urls(auto& v, auto& m) {
    v.list("presignedUrls", m.presigned_urls);
    v.time(field::expires_at, m.expires_at);
}

void describe(auto& v, one_of<presign_response> auto& m) { describe_urls(v, m); }

// The object an upload creates, in start and single answers.
void describe_object(auto& v, auto& m) {
    v.text(field::s3_key, m.s3_key);
    v.text(field::unique_file_name, m.unique_file_name);
    v.text(field::upload_token, m.upload_token);
}

void describe(auto& v, one_of<start_response> auto& m) {
    v.text(field::upload_id, m.upload_id);
    describe_object(v, m);
    describe_urls(v, m);
    v.number({.name = "partSize", .lo = 1, .hi = max_part_size}, m.part_size);
}

void describe(auto& v, one_of<start_parts_response> auto& m) {
    v.text(field::upload_id, m.upload_id);
    describe_object(v, m);
    v.texts({.name = "presignedUrls", .chars = charset::visible_ascii}, m.presigned_urls);
    v.time(field::expires_at, m.expires_at);
}

void describe(auto& v, one_of<single_response> auto& m) {
    v.text(field::url, m.url);
    describe_object(v, m);
    v.time(field::expires_at, m.expires_at);
}

void describe(auto& v, one_of<complete_response> auto& m) {
    v.constant(field::success, true);
    v.text(field::unique_file_name, m.unique_file_name);
    v.text({.name = "location", .non_empty = false}, m.location);
    v.text({.name = "etag", .non_empty = false}, m.etag);  // storage may not say
    v.number({.name = "size"}, m.size);
}

void describe(auto& v, one_of<abort_response> auto& m) {
    v.constant(field::success, true);
    v.text({.name = "message", .non_empty = false}, m.message);
}

void describe(auto& v, one_of<list_parts_response> auto& m) { v.list(field::parts, m.parts); }

void describe(auto& v, one_of<health_response> auto& m) { v.text({.name = "status"}, m.status); }

void describe(auto& v, one_of<error_body> auto& m) {
    v.text({.name = "code"}, m.code);
    v.text({.name = "message", .non_empty = false}, m.message);
}

void describe(auto& v, one_of<error_envelope> auto& m) { v.object("error", m.error); }

} // namespace wire_fields

namespace {

// ---- the two sides' wording --------------------------------------------------

// The service: api_error 400 "fileSize must be a whole number from 0 to ...".
class request_failure final : public failure {
public:
    [[noreturn]] void fail(std::string_view code, const std::string& path, const problem& p) const override {
        std::string why;
        switch (p.what) {
        case problem::kind::missing: why = "is required"; break;
        case problem::kind::wrong_type:
            why = "must be " + p.expected + (p.got.empty() ? "" : ", not " + std::string(p.got));
            break;
        case problem::kind::rule: why = p.rule; break;
        }
        throw api_error(400, std::string(code), path + " " + why);
    }
};

// The client: wire_error "start answer: presignedUrls[2].url: expected a string".
class answer_failure final : public failure {
public:
    explicit answer_failure(std::string_view answer) : answer_(answer) {}

    [[noreturn]] void fail(std::string_view, const std::string& path, const problem& p) const override {
        std::string why;
        switch (p.what) {
        case problem::kind::missing: why = "missing"; break;
        case problem::kind::wrong_type: why = "expected " + p.expected; break;
        case problem::kind::rule: why = p.rule; break;
        }
        throw wire_error(std::string(answer_) + ": " + path + ": " + why);
    }

private:
    std::string_view answer_;
};

[[noreturn]] void request_fail(std::string_view code, std::string message, int status = 400) {
    throw api_error(status, std::string(code), std::move(message));
}

template <class T>
std::string render(const T& m) {
    return json::serialize(writer::render(m));
}

template <class T>
std::string render_request(const T& r) {
    json::object o;
    writer w(o);
    w.text(field::action, std::string(wire_name<T>));
    describe(w, r);
    return json::serialize(o);
}

template <class T>
T parse_answer(std::string_view body) {
    constexpr std::string_view name = wire_name<T>;
    json::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec) throw wire_error(std::string(name) + ": not valid JSON (" + ec.message() + ")");
    if (!doc.is_object()) throw wire_error(std::string(name) + ": not a JSON object");
    return reader::read<T>(doc.get_object(), {}, answer_failure(name));
}

// ---- what the service accepts --------------------------------------------------

// RFC 7230 tchar.
bool is_tchar(char c) {
    return presign_text::is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// The name and media type every start and single carries: name sanitized,
// extension checked, media type checked (default application/octet-stream).
template <class Accepted, class Request>
Accepted accept_name_and_type(const Request& r, const service_config& config) {
    Accepted out;
    out.file_name = sanitize_file_name(r.file_name);
    check_extension(out.file_name, config);
    if (!r.content_type.empty()) {
        std::string_view main = presign_text::trim(std::string_view(r.content_type).substr(0, r.content_type.find(';')));
        auto slash = main.find('/');
        if (slash == std::string_view::npos || !is_token(main.substr(0, slash)) || !is_token(main.substr(slash + 1)))
            request_fail(api_code::invalid_request, "contentType must be a media type like application/octet-stream");
        out.content_type = r.content_type;
    }
    return out;
}

// The file fields start and single share: as above, and the size checked.
template <class Accepted, class Request>
Accepted accept_file(const Request& r, const service_config& config) {
    Accepted out = accept_name_and_type<Accepted>(r, config);
    out.file_size = r.file_size;
    if (r.file_size > config.max_file_size)
        request_fail(api_code::file_too_large, "fileSize " + std::to_string(r.file_size) +
                                                   " is above this service's limit of " +
                                                   std::to_string(config.max_file_size) + " bytes");
    return out;
}

start_req accept(const start_request& r, const service_config& config) {
    start_req req = accept_file<start_req>(r, config);
    req.plan = plan_parts(req.file_size, config.part_size);  // file_size <= max_object_size: cannot throw
    if (r.total_parts && *r.total_parts != req.plan.part_count)
        request_fail(api_code::part_count_mismatch,
                     "totalParts is " + std::to_string(*r.total_parts) + " but this service splits " +
                         std::to_string(req.file_size) + " bytes into " + std::to_string(req.plan.part_count) +
                         " parts of " + std::to_string(req.plan.part_size) + " bytes (the last " +
                         std::to_string(req.plan.last_part_size) + " bytes): send totalParts " +
                         std::to_string(req.plan.part_count) + " and cut the file with partSize " +
                         std::to_string(req.plan.part_size));
    return req;
}

// No size to check, so max_file_size cannot be checked either (see wire.hpp);
// S3 checks the parts' sizes at Complete. One consequence of it is checked
// here: S3 completes N parts only when the first N-1 are at least 5 MiB, so a
// totalParts whose smallest completable object is above max_file_size can
// only end in an object the service would have refused.
start_parts_req accept(const start_parts_request& r, const service_config& config) {
    start_parts_req req = accept_name_and_type<start_parts_req>(r, config);
    req.total_parts = r.total_parts;
    const std::uint64_t smallest = std::uint64_t{r.total_parts - 1} * min_part_size;
    if (smallest > config.max_file_size)
        request_fail(api_code::file_too_large,
                     "totalParts " + std::to_string(r.total_parts) + " makes an object of at least " +
                         std::to_string(smallest) + " bytes (every part but the last is at least 5 MiB), above "
                         "this service's limit of " + std::to_string(config.max_file_size) + " bytes");
    return req;
}

single_req accept(const single_request& r, const service_config& config) {
    single_req req = accept_file<single_req>(r, config);
    if (req.file_size > config.single_put_max)
        request_fail(api_code::file_too_large, "fileSize " + std::to_string(req.file_size) +
                                                   " is above the single-PUT limit of " +
                                                   std::to_string(config.single_put_max) +
                                                   " bytes: use action \"start\" for a multipart upload");
    return req;
}

complete_req accept(complete_request r, const service_config&) {
    if (r.parts.empty()) request_fail(api_code::invalid_parts, "parts must list at least one part");
    if (r.parts.size() > max_parts)
        request_fail(api_code::invalid_parts, "parts lists " + std::to_string(r.parts.size()) +
                                                  " entries; an upload has at most 10000 parts");
    for (std::size_t i = 1; i < r.parts.size(); ++i) {
        const std::uint32_t n = r.parts[i].part_number, previous = r.parts[i - 1].part_number;
        if (n <= previous)
            request_fail(api_code::invalid_parts, "parts[" + std::to_string(i) + "].PartNumber " + std::to_string(n) +
                                                      " is not above the previous " + std::to_string(previous) +
                                                      ": parts must be in strictly ascending order");
    }
    return r;
}

presign_req accept(presign_request r, const service_config& config) {
    if (r.part_numbers.empty()) request_fail(api_code::invalid_request, "partNumbers must list at least one part number");
    if (r.part_numbers.size() > config.url_batch)
        request_fail(api_code::invalid_request, "partNumbers lists " + std::to_string(r.part_numbers.size()) +
                                                    " parts; at most " + std::to_string(config.url_batch) +
                                                    " per request");
    std::vector<bool> seen(max_parts + 1, false);
    for (std::uint32_t n : r.part_numbers) {
        if (seen[n]) request_fail(api_code::invalid_request, "partNumbers lists part " + std::to_string(n) + " twice");
        seen[n] = true;
    }
    return r;
}

// abort, list-parts: the upload reference is all there is.
template <class Request>
Request accept(Request r, const service_config&) {
    return r;
}

// The request whose action is `action`, read and accepted; one of Requests.
template <class... Requests>
api_request accept_action(std::string_view name, const json::object& body, const service_config& config) {
    const request_failure wording;
    std::optional<api_request> out;
    (void)((name == wire_name<Requests> &&
            (out.emplace(accept(reader::read<Requests>(body, api_code::invalid_request, wording), config)), true)) ||
           ...);
    if (!out) {
        std::string known;
        ((known.append(known.empty() ? "" : ", ").append(wire_name<Requests>)), ...);
        request_fail(api_code::unknown_action, "unknown action; expected one of " + known);
    }
    return std::move(*out);
}

std::string_view action_of(const start_req&) { return wire_name<start_request>; }
std::string_view action_of(const start_parts_req&) { return wire_name<start_parts_request>; }
std::string_view action_of(const single_req&) { return wire_name<single_request>; }
template <class Request>
std::string_view action_of(const Request&) {
    return wire_name<Request>;
}

} // namespace

// ---- errors ---------------------------------------------------------------

std::string error_json(const api_error& error) { return render(error_envelope{{error.code, error.message}}); }

std::optional<api_error> parse_error_response(std::string_view body, int http_status) {
    try {
        auto e = parse_answer<error_envelope>(body);
        return api_error(http_status, std::move(e.error.code), std::move(e.error.message));
    } catch (const wire_error&) {
        return std::nullopt;
    }
}

// ---- requests -------------------------------------------------------------

void check_body_size(std::uint64_t body_bytes, const service_config& config) {
    if (body_bytes > config.max_body_bytes)
        request_fail(api_code::payload_too_large,
                     "the request body is " + std::to_string(body_bytes) + " bytes; the limit is " +
                         std::to_string(config.max_body_bytes),
                     413);
}

api_request parse_api_request(std::string_view body, const service_config& config) {
    check_body_size(body.size(), config);
    json::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec) request_fail(api_code::invalid_json, "the request body is not valid JSON: " + ec.message());
    if (!doc.is_object()) request_fail(api_code::invalid_json, "the request body must be a JSON object");
    const json::object& o = doc.get_object();
    std::string name;
    reader(o, "", api_code::invalid_request, request_failure()).text(field::action, name);
    // Two forms of start, told apart by fileSize (see wire.hpp).
    if (name == wire_name<start_request> && !presign_json::present(o, "fileSize")) {
        if (!presign_json::present(o, "totalParts"))
            request_fail(api_code::invalid_request,
                         "fileSize or totalParts is required: fileSize to let the service plan the parts, "
                         "totalParts to presign that many parts of your own size");
        return accept_action<start_parts_request>(name, o, config);
    }
    return accept_action<start_request, complete_request, abort_request, presign_request, list_parts_request,
                         single_request>(name, o, config);
}

std::string_view action_name(const api_request& request) {
    return std::visit([](const auto& r) { return action_of(r); }, request);
}

// ---- responses ------------------------------------------------------------

std::string format_expires_at(std::int64_t unix_seconds) {
    using namespace std::chrono;
    const sys_seconds tp{seconds(unix_seconds)};
    const auto day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss hms{tp - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.000Z", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buf;
}

std::optional<std::int64_t> parse_expires_at(std::string_view iso) {
    // YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z
    if (iso.size() < 20) return std::nullopt;
    auto number = [&](std::size_t at, std::size_t digits, unsigned& out) {
        out = 0;
        for (std::size_t i = at; i < at + digits; ++i) {
            if (!presign_text::is_digit(iso[i])) return false;
            out = out * 10 + static_cast<unsigned>(iso[i] - '0');
        }
        return true;
    };
    unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!number(0, 4, y) || iso[4] != '-' || !number(5, 2, mo) || iso[7] != '-' || !number(8, 2, d) ||
        iso[10] != 'T' || !number(11, 2, h) || iso[13] != ':' || !number(14, 2, mi) || iso[16] != ':' ||
        !number(17, 2, s))
        return std::nullopt;
    std::string_view rest = iso.substr(19);
    if (rest.starts_with('.')) {
        rest.remove_prefix(1);
        const std::size_t digits =
            static_cast<std::size_t>(std::find_if_not(rest.begin(), rest.end(), presign_text::is_digit) - rest.begin());
        if (digits == 0 || digits > 9) return std::nullopt;
        rest.remove_prefix(digits);
    }
    if (rest != "Z" || h > 23 || mi > 59 || s > 59) return std::nullopt;
    using namespace std::chrono;
    const year_month_day ymd{year(static_cast<int>(y)), month(mo), day(d)};
    if (!ymd.ok()) return std::nullopt;
    return duration_cast<seconds>(sys_days(ymd).time_since_epoch()).count() + std::int64_t{h} * 3600 +
           std::int64_t{mi} * 60 + s;
}

// ---- rendering and parsing, one message at a time ------------------------------

std::string request_json(const start_request& r) { return render_request(r); }
std::string request_json(const start_parts_request& r) { return render_request(r); }
std::string request_json(const single_request& r) { return render_request(r); }
std::string request_json(const presign_request& r) { return render_request(r); }
std::string request_json(const complete_request& r) { return render_request(r); }
std::string request_json(const abort_request& r) { return render_request(r); }
std::string request_json(const list_parts_request& r) { return render_request(r); }

std::string response_json(const start_response& r) { return render(r); }
std::string response_json(const start_parts_response& r) { return render(r); }
std::string response_json(const complete_response& r) { return render(r); }
std::string response_json(const abort_response& r) { return render(r); }
std::string response_json(const presign_response& r) { return render(r); }
std::string response_json(const list_parts_response& r) { return render(r); }
std::string response_json(const single_response& r) { return render(r); }
std::string response_json(const proxied_part_response& r) { return render(r); }
std::string response_json(const health_response& r) { return render(r); }
std::string abort_response_json() { return render(abort_response{}); }

start_response parse_start_response(std::string_view body) { return parse_answer<start_response>(body); }
start_parts_response parse_start_parts_response(std::string_view body) {
    return parse_answer<start_parts_response>(body);
}
complete_response parse_complete_response(std::string_view body) { return parse_answer<complete_response>(body); }
abort_response parse_abort_response(std::string_view body) { return parse_answer<abort_response>(body); }
presign_response parse_presign_response(std::string_view body) { return parse_answer<presign_response>(body); }
list_parts_response parse_list_parts_response(std::string_view body) {
    return parse_answer<list_parts_response>(body);
}
single_response parse_single_response(std::string_view body) { return parse_answer<single_response>(body); }
proxied_part_response parse_proxied_part_response(std::string_view body) {
    return parse_answer<proxied_part_response>(body);
}

} // namespace hoist::protocol
