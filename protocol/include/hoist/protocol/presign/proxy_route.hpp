// The presign service's part proxy: PUT /v1/uploads/{uploadId}/parts/{n}?key=KEY,
// a part sent through the service (for clients that cannot reach the storage)
// and streamed on to it as an UploadPart. The client builds the target with
// proxy_part_target, the service reads it with parse_proxy_part_target; both
// with Boost.URL's percent-encoding, so any upload id and key round-trip.
// Headers: Authorization, X-Upload-Token, Content-Length, Content-MD5?; the
// answer is a proxied_part_response (wire.hpp).
#pragma once

#include "hoist/protocol/presign/wire.hpp"   // api_error

#include <cstdint>
#include <string>
#include <string_view>

namespace hoist::protocol {

inline constexpr std::string_view proxy_route_prefix = "/v1/uploads/";
// The route as logs and metrics name it, never with a real id.
inline constexpr std::string_view proxy_route_pattern = "/v1/uploads/{uploadId}/parts/{n}";

struct proxy_part_ref {
    std::string upload_id;
    std::uint32_t part_number = 0;
    std::string key;
};

// "/v1/uploads/{id}/parts/{n}?key=..." with everything but RFC 3986 unreserved
// characters percent-encoded in the id and the key ('+' as %2B, ' ' as %20,
// '/' as %2F), so that every URL parser reads the same values back.
std::string proxy_part_target(const proxy_part_ref& ref);

// The upload id, part number and key of a request target. Throws api_error:
// 404 not_found when it is not /v1/uploads/ID/parts/N?QUERY (other segments,
// no query); 400 invalid_request for a malformed percent-encoding, an empty id,
// a missing, empty or repeated key, or a part number that is not a decimal
// 1..10000. Other query parameters are ignored; '+' in the key is a '+'.
proxy_part_ref parse_proxy_part_target(std::string_view target);

} // namespace hoist::protocol
