// The part proxy's request target. See presign/proxy_route.hpp.
#include "hoist/protocol/presign/proxy_route.hpp"

#include "hoist/protocol/s3/part_plan.hpp"   // max_parts

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

namespace hoist::protocol {

namespace urls = boost::urls;

namespace {

api_error not_found() {
    return api_error(404, std::string(api_code::not_found),
                     "expected " + std::string(proxy_route_pattern) + "?key=KEY");
}

api_error invalid(std::string message) {
    return api_error(400, std::string(api_code::invalid_request), std::move(message));
}

// 1..10000 in decimal digits (leading zeros allowed), else 0.
std::uint32_t part_number_of(std::string_view text) {
    std::uint32_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return 0;
        n = n * 10 + static_cast<std::uint32_t>(c - '0');
        if (n > max_parts) return 0;   // also keeps n from overflowing
    }
    return n;
}

} // namespace

std::string proxy_part_target(const proxy_part_ref& ref) {
    std::string target(proxy_route_prefix);
    target += urls::encode(ref.upload_id, urls::unreserved_chars);
    target += "/parts/";
    target += std::to_string(ref.part_number);
    target += "?key=";
    target += urls::encode(ref.key, urls::unreserved_chars);
    return target;
}

proxy_part_ref parse_proxy_part_target(std::string_view target) {
    if (!target.starts_with(proxy_route_prefix)) throw not_found();
    auto parsed = urls::parse_origin_form(target);
    if (!parsed) throw invalid("the upload id or the key is missing or malformed");
    const urls::url_view url = *parsed;

    const auto segments = url.segments();   // percent-decoded
    if (segments.size() != 5 || !url.has_query()) throw not_found();
    auto segment = segments.begin();
    const std::string v1 = *segment++, uploads = *segment++, id = *segment++, parts = *segment++;
    const std::string number = *segment;
    if (v1 != "v1" || uploads != "uploads" || parts != "parts") throw not_found();

    // '+' is a '+' here, as in the path: the client encodes a space as %20.
    const auto params = url.params(urls::encoding_opts(false, false, false));
    const auto key = params.find("key");
    if (id.empty() || key == params.end() || (*key).value.empty())
        throw invalid("the upload id or the key is missing or malformed");
    if (params.count("key") > 1) throw invalid("the key is given more than once");

    proxy_part_ref ref;
    ref.upload_id = id;
    ref.key = (*key).value;
    ref.part_number = part_number_of(number);
    if (ref.part_number == 0) throw invalid("part number must be 1..10000");
    return ref;
}

} // namespace hoist::protocol
