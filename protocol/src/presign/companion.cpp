// Uppy's Companion S3 routes. See presign/companion.hpp.
#include "hoist/protocol/presign/companion.hpp"

#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/s3/part_plan.hpp"   // max_parts
#include "hoist/protocol/s3/requests.hpp"    // presign_post

#include "json_values.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>

namespace hoist::protocol {

namespace json = boost::json;
namespace urls = boost::urls;

namespace {

[[noreturn]] void invalid(std::string message) {
    throw api_error(400, std::string(api_code::invalid_request), std::move(message));
}

std::uint32_t part_number_of(std::string_view text) {
    if (text.empty() || text.size() > 5) return 0;
    std::uint32_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return 0;
        n = n * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return n <= max_parts ? n : 0;
}

json::object parse_object(std::string_view body) {
    json::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object())
        throw api_error(400, std::string(api_code::invalid_json), "the request body must be a JSON object");
    return std::move(v.as_object());
}

} // namespace

companion_target parse_companion_target(browser_route route, std::string_view target) {
    auto parsed = urls::parse_origin_form(target);
    if (!parsed) invalid("the request target is malformed");
    const urls::url_view url = *parsed;
    companion_target out;

    // Path: /s3/multipart/{uploadId}[/{n}|/complete], percent-decoded.
    if (route != browser_route::s3_create && route != browser_route::s3_params) {
        const auto segments = url.segments();
        if (segments.size() < 3) invalid("the upload id is missing");
        auto it = segments.begin();
        ++it;
        ++it;
        out.upload_id = *it++;
        if (out.upload_id.empty()) invalid("the upload id is missing");
        // Percent-decoding lets any byte in (%00, %0D%0A, %20): the JSON API's rule.
        if (!is_upload_id(out.upload_id)) invalid("the upload id must be 1 to 1024 visible ASCII characters");
        if (route == browser_route::s3_sign_part) {
            if (it == segments.end()) invalid("the part number is missing");
            out.part_number = part_number_of(std::string(*it));
            if (out.part_number == 0) invalid("the part number must be a decimal 1..10000");
        }
    }

    // Query, as URLSearchParams writes it ('+' is a space).
    const auto params = url.params(urls::encoding_opts(true, false, false));
    auto one = [&](std::string_view name, bool required) -> std::string {
        if (params.count(name) > 1) invalid("the query parameter \"" + std::string(name) + "\" is given more than once");
        auto it = params.find(name);
        if (it == params.end() || (*it).value.empty()) {
            if (required)
                invalid("the query parameter \"" + std::string(name) + "\" is required and must not be empty");
            return {};
        }
        return (*it).value;
    };
    if (route == browser_route::s3_params) {
        out.filename = one("filename", true);
        out.type = one("type", false);
    } else if (route != browser_route::s3_create) {
        out.key = one("key", true);
    }
    return out;
}

companion_create parse_companion_create(std::string_view body) {
    const json::object o = parse_object(body);
    companion_create out;
    const json::value* name = presign_json::present(o, "filename");
    if (!name || !name->is_string() || name->get_string().empty())
        invalid("filename is required and must be a non-empty string");
    out.filename = std::string(name->get_string());
    const json::value* type = presign_json::present(o, "type");
    if (type && !type->is_string()) invalid("type must be a string");
    out.type = checked_content_type(type ? std::string_view(type->get_string()) : std::string_view{}, "type");
    return out;
}

std::vector<completed_part> parse_companion_complete(std::string_view body) {
    const json::object o = parse_object(body);
    auto fail = [](std::string message) { throw api_error(400, std::string(api_code::invalid_parts), std::move(message)); };
    const json::value* parts = presign_json::present(o, "parts");
    if (!parts || !parts->is_array()) fail("parts must be an array of {PartNumber, ETag}");
    const auto& a = parts->get_array();
    if (a.empty()) fail("parts must list at least one part");
    if (a.size() > max_parts) fail("an upload has at most 10000 parts");
    std::vector<completed_part> out;
    out.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string at = "parts[" + std::to_string(i) + "]";
        if (!a[i].is_object()) fail(at + " must be an object {PartNumber, ETag}");
        const auto& p = a[i].get_object();
        const json::value* n = presign_json::present(p, "PartNumber");
        const auto number = n ? presign_json::as_uint(*n) : std::nullopt;
        if (!number || *number < 1 || *number > max_parts) fail(at + ".PartNumber must be a whole number 1..10000");
        const json::value* etag = presign_json::present(p, "ETag");
        if (!etag || !etag->is_string() || etag->get_string().empty()) fail(at + ".ETag must be a non-empty string");
        out.push_back({static_cast<std::uint32_t>(*number), std::string(etag->get_string()), {}});
    }
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.part_number < y.part_number; });
    for (std::size_t i = 1; i < out.size(); ++i)
        if (out[i].part_number == out[i - 1].part_number)
            fail("PartNumber " + std::to_string(out[i].part_number) + " is listed twice");
    return out;
}

std::string companion_create_json(std::string_view key, std::string_view upload_id, std::string_view bucket) {
    return json::serialize(json::object{{"key", key}, {"uploadId", upload_id}, {"bucket", bucket}});
}

std::string companion_sign_part_json(std::string_view url, std::int64_t expires_seconds) {
    return json::serialize(json::object{{"url", url}, {"expires", expires_seconds}});
}

std::string companion_parts_json(const std::vector<part_info>& parts) {
    json::array a;
    a.reserve(parts.size());
    for (const auto& p : parts) a.push_back(json::object{{"PartNumber", p.part_number}, {"ETag", p.etag}, {"Size", p.size}});
    return json::serialize(a);
}

std::string companion_complete_json(std::string_view location, std::string_view key, std::string_view bucket) {
    return json::serialize(json::object{{"location", location}, {"key", key}, {"bucket", bucket}});
}

companion_params companion_post_form(const service_config& config, const sigv4::signer& signer, std::string_view key,
                                     std::string_view content_type, const sigv4::amz_date& date) {
    sigv4::post_policy policy;
    policy.bucket = config.storage.bucket;
    policy.key = std::string(key);
    // A key ending in "${filename}" would let S3 substitute the browser's
    // name; hoist's keys never do (sanitize_file_name turns '$' into '_').
    policy.fields.emplace_back("Content-Type", std::string(content_type));
    policy.conditions.push_back(
        sigv4::post_condition::content_length_range(0, std::min(config.max_file_size, config.single_put_max)));
    policy.expires = config.presign_expiry;
    auto post = presign_post(config.storage.ep, config.storage.style, policy, signer, config.storage.region, date);
    companion_params out;
    out.url = std::move(post.url);
    if (out.url.empty() || out.url.back() != '/') out.url += '/';
    out.fields = std::move(post.form.fields);
    out.expires_seconds = config.presign_expiry.count();
    return out;
}

std::string companion_params_json(const companion_params& params) {
    json::object fields;
    for (const auto& [name, value] : params.fields) fields[name] = value;
    return json::serialize(json::object{
        {"method", "POST"}, {"url", params.url}, {"fields", std::move(fields)}, {"expires", params.expires_seconds}});
}

} // namespace hoist::protocol
