// JSON text for the CLI's machine-readable output (--json lines, hoist bench's
// NDJSON): boost::json::serialize, except that doubles are written in plain
// decimal ("0.0123", "94.2") instead of Boost.JSON 1.81's shortest exponent
// form ("1.23E-2", "9.42E1"). Both are valid JSON, but people read these lines
// and feed them to awk, spreadsheets and `jq -r`, which print the exponent back.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace hoist::cli {

// Doubles get up to 9 decimals (nanoseconds for seconds), trailing zeros
// trimmed to one ("2.0"); a magnitude of 1e15 or more keeps 17 significant
// digits (exponent form, still exact); NaN and infinities become null (JSON
// has neither). Everything else is exactly boost::json::serialize.
std::string to_json_text(const boost::json::value& v);

} // namespace hoist::cli
