// The presign service's wire format. See presign/wire.hpp.
#include "hoist/protocol/presign/wire.hpp"

#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/names.hpp"

#include "json_values.hpp"
#include "text.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <type_traits>

namespace hoist::protocol {

namespace json = boost::json;
using namespace presign_text;
using presign_json::as_uint;
using presign_json::kind_name;

namespace {

constexpr std::size_t max_key_bytes = 1024;           // S3's limit on object keys
constexpr std::size_t max_upload_id_bytes = 1024;
constexpr std::size_t max_upload_token_bytes = 512;
constexpr std::size_t max_etag_bytes = 1024;
constexpr std::size_t max_content_type_bytes = 255;

// RFC 7230 tchar.
bool is_tchar(char c) { return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos; }
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

[[noreturn]] void request_fail(std::string_view code, std::string message, int status = 400) {
    throw api_error(status, std::string(code), std::move(message));
}

class request_object {
public:
    explicit request_object(const json::object& o) : o_(o) {}

    const json::value* get(std::string_view name) const { return presign_json::present(o_, name); }

    const json::value& required(std::string_view name) const {
        const json::value* v = get(name);
        if (!v) request_fail(api_code::invalid_request, std::string(name) + " is required");
        return *v;
    }

    std::string string(std::string_view name, std::size_t max_bytes) const {
        const json::value& v = required(name);
        if (!v.is_string())
            request_fail(api_code::invalid_request,
                         std::string(name) + " must be a string, not " + std::string(kind_name(v)));
        std::string s(v.get_string());
        if (s.empty()) request_fail(api_code::invalid_request, std::string(name) + " must not be empty");
        if (s.size() > max_bytes)
            request_fail(api_code::invalid_request,
                         std::string(name) + " must be at most " + std::to_string(max_bytes) + " bytes");
        return s;
    }

    std::uint64_t uint(std::string_view name, std::uint64_t lo, std::uint64_t hi) const {
        return number(required(name), name, lo, hi, api_code::invalid_request);
    }

    std::optional<std::uint64_t> optional_uint(std::string_view name, std::uint64_t lo, std::uint64_t hi) const {
        const json::value* v = get(name);
        if (!v) return std::nullopt;
        return number(*v, name, lo, hi, api_code::invalid_request);
    }

    static std::uint64_t number(const json::value& v, std::string_view name, std::uint64_t lo, std::uint64_t hi,
                                std::string_view code) {
        auto n = as_uint(v);
        if (!n || *n < lo || *n > hi)
            request_fail(code, std::string(name) + " must be a whole number from " + std::to_string(lo) + " to " +
                                   std::to_string(hi) + (v.is_number() ? "" : ", not " + std::string(kind_name(v))));
        return *n;
    }

private:
    const json::object& o_;
};

std::string parse_content_type(const request_object& r) {
    const json::value* v = r.get("contentType");
    if (!v) return "application/octet-stream";
    std::string ct = r.string("contentType", max_content_type_bytes);
    if (!is_printable_ascii(ct))
        request_fail(api_code::invalid_request, "contentType must be printable ASCII");
    std::string_view main = trim(std::string_view(ct).substr(0, ct.find(';')));
    auto slash = main.find('/');
    if (slash == std::string_view::npos || !is_token(main.substr(0, slash)) || !is_token(main.substr(slash + 1)))
        request_fail(api_code::invalid_request, "contentType must be a media type like application/octet-stream");
    return ct;
}

std::string parse_file_name(const request_object& r, const service_config& config) {
    const json::value& v = r.required("fileName");
    if (!v.is_string())
        request_fail(api_code::invalid_request, "fileName must be a string, not " + std::string(kind_name(v)));
    std::string name = sanitize_file_name(v.get_string());
    check_extension(name, config);
    return name;
}

std::uint64_t parse_file_size(const request_object& r, const service_config& config) {
    std::uint64_t size = r.uint("fileSize", 0, std::numeric_limits<std::uint64_t>::max());
    if (size > config.max_file_size)
        request_fail(api_code::file_too_large, "fileSize " + std::to_string(size) + " is above this service's limit of " +
                                                   std::to_string(config.max_file_size) + " bytes");
    return size;
}

upload_ref parse_upload_ref(const request_object& r) {
    upload_ref ref;
    ref.upload_id = r.string("uploadId", max_upload_id_bytes);
    if (!is_visible_ascii(ref.upload_id)) request_fail(api_code::invalid_request, "uploadId must be visible ASCII");
    ref.s3_key = r.string("s3Key", max_key_bytes);
    if (has_control_char(ref.s3_key)) request_fail(api_code::invalid_request, "s3Key contains a control character");
    ref.upload_token = r.string("uploadToken", max_upload_token_bytes);
    if (!is_visible_ascii(ref.upload_token)) request_fail(api_code::invalid_request, "uploadToken must be visible ASCII");
    return ref;
}

start_req parse_start(const request_object& r, const service_config& config) {
    start_req req;
    req.file_name = parse_file_name(r, config);
    req.file_size = parse_file_size(r, config);
    auto total = r.optional_uint("totalParts", 1, max_parts);
    req.content_type = parse_content_type(r);
    req.plan = plan_parts(req.file_size, config.part_size);  // file_size <= max_object_size: cannot throw
    if (total && *total != req.plan.part_count)
        request_fail(api_code::part_count_mismatch,
                     "totalParts is " + std::to_string(*total) + " but this service splits " +
                         std::to_string(req.file_size) + " bytes into " + std::to_string(req.plan.part_count) +
                         " parts of " + std::to_string(req.plan.part_size) + " bytes (the last " +
                         std::to_string(req.plan.last_part_size) + " bytes): send totalParts " +
                         std::to_string(req.plan.part_count) + " and cut the file with partSize " +
                         std::to_string(req.plan.part_size));
    return req;
}

complete_req parse_complete(const request_object& r) {
    complete_req req;
    req.upload = parse_upload_ref(r);
    const json::value& v = r.required("parts");
    if (!v.is_array()) request_fail(api_code::invalid_parts, "parts must be an array, not " + std::string(kind_name(v)));
    const json::array& a = v.get_array();
    if (a.empty()) request_fail(api_code::invalid_parts, "parts must list at least one part");
    if (a.size() > max_parts)
        request_fail(api_code::invalid_parts, "parts lists " + std::to_string(a.size()) +
                                                  " entries; an upload has at most 10000 parts");
    req.parts.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string at = "parts[" + std::to_string(i) + "]";
        if (!a[i].is_object())
            request_fail(api_code::invalid_parts, at + " must be an object, not " + std::string(kind_name(a[i])));
        const json::object& p = a[i].get_object();
        const json::value* num = p.if_contains("PartNumber");
        if (!num || num->is_null()) request_fail(api_code::invalid_parts, at + ".PartNumber is required");
        auto n = static_cast<std::uint32_t>(request_object::number(*num, at + ".PartNumber", 1, max_parts,
                                                                   api_code::invalid_parts));
        if (!req.parts.empty() && n <= req.parts.back().part_number)
            request_fail(api_code::invalid_parts, at + ".PartNumber " + std::to_string(n) + " is not above the previous " +
                                                      std::to_string(req.parts.back().part_number) +
                                                      ": parts must be in strictly ascending order");
        const json::value* etag = p.if_contains("ETag");
        if (!etag || etag->is_null()) request_fail(api_code::invalid_parts, at + ".ETag is required");
        if (!etag->is_string())
            request_fail(api_code::invalid_parts, at + ".ETag must be a string, not " + std::string(kind_name(*etag)));
        std::string tag(etag->get_string());
        if (tag.empty()) request_fail(api_code::invalid_parts, at + ".ETag must not be empty");
        if (tag.size() > max_etag_bytes) request_fail(api_code::invalid_parts, at + ".ETag is too long");
        if (has_control_char(tag)) request_fail(api_code::invalid_parts, at + ".ETag contains a control character");
        req.parts.push_back({n, std::move(tag), {}});
    }
    return req;
}

presign_req parse_presign(const request_object& r, const service_config& config) {
    presign_req req;
    req.upload = parse_upload_ref(r);
    const json::value& v = r.required("partNumbers");
    if (!v.is_array())
        request_fail(api_code::invalid_request, "partNumbers must be an array, not " + std::string(kind_name(v)));
    const json::array& a = v.get_array();
    if (a.empty()) request_fail(api_code::invalid_request, "partNumbers must list at least one part number");
    if (a.size() > config.url_batch)
        request_fail(api_code::invalid_request, "partNumbers lists " + std::to_string(a.size()) + " parts; at most " +
                                                    std::to_string(config.url_batch) + " per request");
    std::vector<bool> seen(max_parts + 1, false);
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto n = static_cast<std::uint32_t>(request_object::number(a[i], "partNumbers[" + std::to_string(i) + "]", 1,
                                                                   max_parts, api_code::invalid_request));
        if (seen[n]) request_fail(api_code::invalid_request, "partNumbers lists part " + std::to_string(n) + " twice");
        seen[n] = true;
        req.part_numbers.push_back(n);
    }
    return req;
}

single_req parse_single(const request_object& r, const service_config& config) {
    single_req req;
    req.file_name = parse_file_name(r, config);
    req.file_size = parse_file_size(r, config);
    if (req.file_size > config.single_put_max)
        request_fail(api_code::file_too_large, "fileSize " + std::to_string(req.file_size) +
                                                   " is above the single-PUT limit of " +
                                                   std::to_string(config.single_put_max) +
                                                   " bytes: use action \"start\" for a multipart upload");
    req.content_type = parse_content_type(r);
    return req;
}

// ---- responses ----------------------------------------------------------------

json::array urls_json(const std::vector<presigned_part>& parts) {
    json::array a;
    a.reserve(parts.size());
    for (const auto& p : parts) a.push_back(json::object{{"partNumber", p.part_number}, {"url", p.url}});
    return a;
}

} // namespace

// ---- errors ---------------------------------------------------------------

std::string error_json(const api_error& error) {
    return json::serialize(json::object{{"error", json::object{{"code", error.code}, {"message", error.message}}}});
}

void check_body_size(std::uint64_t body_bytes, const service_config& config) {
    if (body_bytes > config.max_body_bytes)
        request_fail(api_code::payload_too_large,
                     "the request body is " + std::to_string(body_bytes) + " bytes; the limit is " +
                         std::to_string(config.max_body_bytes),
                     413);
}

// ---- requests -------------------------------------------------------------

api_request parse_api_request(std::string_view body, const service_config& config) {
    check_body_size(body.size(), config);
    json::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec) request_fail(api_code::invalid_json, "the request body is not valid JSON: " + ec.message());
    if (!doc.is_object()) request_fail(api_code::invalid_json, "the request body must be a JSON object");
    request_object r(doc.get_object());

    const json::value& action_value = r.required("action");
    if (!action_value.is_string())
        request_fail(api_code::invalid_request, "action must be a string, not " + std::string(kind_name(action_value)));
    const std::string_view action = action_value.get_string();
    if (action == "start") return parse_start(r, config);
    if (action == "complete") return parse_complete(r);
    if (action == "abort") return abort_req{parse_upload_ref(r)};
    if (action == "presign") return parse_presign(r, config);
    if (action == "list-parts") return list_parts_req{parse_upload_ref(r)};
    if (action == "single") return parse_single(r, config);
    request_fail(api_code::unknown_action,
                 "unknown action; expected one of start, complete, abort, presign, list-parts, single");
}

std::string_view action_name(const api_request& request) {
    return std::visit(
        [](const auto& r) -> std::string_view {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, start_req>) return "start";
            else if constexpr (std::is_same_v<T, complete_req>) return "complete";
            else if constexpr (std::is_same_v<T, abort_req>) return "abort";
            else if constexpr (std::is_same_v<T, presign_req>) return "presign";
            else if constexpr (std::is_same_v<T, list_parts_req>) return "list-parts";
            else return "single";
        },
        request);
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

std::string response_json(const start_response& r) {
    return json::serialize(json::object{
        {"uploadId", r.upload_id},
        {"s3Key", r.s3_key},
        {"uniqueFileName", r.unique_file_name},
        {"presignedUrls", urls_json(r.presigned_urls)},
        {"uploadToken", r.upload_token},
        {"partSize", r.part_size},
        {"expiresAt", format_expires_at(r.expires_at)},
    });
}

std::string response_json(const complete_response& r) {
    return json::serialize(json::object{
        {"success", true},
        {"uniqueFileName", r.unique_file_name},
        {"location", r.location},
        {"etag", r.etag},
        {"size", r.size},
    });
}

std::string response_json(const presign_response& r) {
    return json::serialize(json::object{
        {"presignedUrls", urls_json(r.presigned_urls)},
        {"expiresAt", format_expires_at(r.expires_at)},
    });
}

std::string response_json(const list_parts_response& r) {
    json::array parts;
    parts.reserve(r.parts.size());
    for (const auto& p : r.parts)
        parts.push_back(json::object{{"PartNumber", p.part_number}, {"ETag", p.etag}, {"Size", p.size}});
    return json::serialize(json::object{{"parts", std::move(parts)}});
}

std::string response_json(const single_response& r) {
    return json::serialize(json::object{
        {"url", r.url},
        {"s3Key", r.s3_key},
        {"uniqueFileName", r.unique_file_name},
        {"uploadToken", r.upload_token},
        {"expiresAt", format_expires_at(r.expires_at)},
    });
}

std::string abort_response_json() {
    return json::serialize(json::object{{"success", true}, {"message", "Upload aborted"}});
}

} // namespace hoist::protocol
