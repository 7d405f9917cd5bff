// Units on the command line that are not plain sizes: transfer rates.
#pragma once

#include "cli_common.hpp"

#include <cstdint>
#include <string>

namespace hoist::cli {

// A transfer rate in bytes per second, from "50MB/s", "50MiB/s", "400Mbit/s",
// "1Gbit/s", "20M" (= 20MB/s), "2.5GB/s" or a plain number of bytes per
// second ("1000000"). Byte units: B, K/KB, M/MB, G/GB, T/TB (decimal: M = 10^6,
// as disks and networks count) and KiB, MiB, GiB, TiB (binary); bit units:
// bit, Kbit, Mbit, Gbit, Tbit (also kbps, Mbps, Gbps), divided by 8. "/s" is
// optional. "Mb" alone is refused: bits or bytes, say which. At least 10KB/s:
// below that each connection would sit silent between writes long enough
// for S3 to close it (its idle-socket timeout is ~20 s). Throws usage_error
// naming `option`.
std::uint64_t parse_rate(const std::string& text, const std::string& option);

// "0 B", "999 B", "1.5 kB", "12.3 MB": SI units, one decimal above bytes, as
// rates and sizes are quoted in progress lines and bench summaries.
std::string format_bytes(double bytes);

} // namespace hoist::cli
