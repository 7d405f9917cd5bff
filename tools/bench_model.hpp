// `hoist bench`'s pure parts: workload presets, size and duration specs, the
// records a run makes (and --json writes as NDJSON), and the summary computed
// from them -- the same for a live run and for `hoist bench report` over the
// files of many hosts. No I/O: strings and numbers in, strings and numbers out.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hoist::cli::bench {

// Bad input (a spec, a line of a file): what is wrong, for the user.
class bench_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The upload workloads of awslabs/aws-crt-s3-benchmarks (workloads/*.src.json),
// under their names: fileSize x numFiles, checksum null. hoist's data is always
// in RAM, so the "-ram" variants are the same workloads.
struct workload {
    std::string name;
    std::uint64_t size = 0;
    std::uint64_t objects = 0;
};
const std::vector<workload>& workloads();
std::optional<workload> find_workload(std::string_view name);

// --size: one size ("256KiB") or a mix, "mixed:4KiB:50,1MiB:30,64MiB:20"
// (size:weight, weights relative; a size without a weight weighs 1).
struct size_spec {
    std::vector<std::pair<std::uint64_t, double>> choices;   // size, cumulative weight in (0, 1]
    // Object `index`'s size: a stable function of (index, seed), so shards and
    // reruns agree on it, distributed by the weights.
    std::uint64_t size_of(std::uint64_t index, std::uint64_t seed) const;
    bool mixed() const { return choices.size() > 1; }
};
// `parse_size` reads one size ("256KiB") and throws for a bad one.
size_spec parse_size_spec(const std::string& text, const std::function<std::uint64_t(const std::string&)>& parse_size);

// "60s", "90", "2m", "1h", "1.5m": seconds. Throws bench_error.
double parse_duration(const std::string& text);

// "K/N" (1 <= K <= N): this process's share of a fleet run, objects whose
// index i has i % N == K - 1. Throws bench_error.
struct shard_spec {
    std::uint64_t k = 1, n = 1;
    bool owns(std::uint64_t index) const { return index % n == k - 1; }
    std::string text() const { return std::to_string(k) + "/" + std::to_string(n); }
};
shard_spec parse_shard(const std::string& text);

// One request (a call with its retries) or one object, as measured. Times are
// Unix seconds (wall clock), so the files of several hosts share one axis.
struct op_record {
    std::string type;          // "request" or "object"
    std::string kind;          // request: "PutObject", "UploadPart", ...; object: "object"
    std::string key;
    std::uint32_t part = 0;
    double start = 0;          // Unix seconds
    double seconds = 0;        // duration
    double ttfb = -1;          // request: seconds from the last byte sent to the response header; <0 none
    std::uint64_t bytes = 0;
    bool ok = false;
    std::string error;         // when !ok
    unsigned status = 0;
    unsigned retries = 0;
    std::string host;          // set when read back (from the run line)
};

// The first line of a run's file: what was run, where and by whom.
struct run_info {
    std::string host;
    std::string shard = "1/1";
    std::string workload;      // preset name, or "" for --size/--objects
    std::string size;          // as given ("256KiB", "mixed:...")
    std::uint64_t objects = 0; // planned for this shard (0: --duration)
    double duration = 0;       // --duration, seconds (0: --objects)
    unsigned concurrency = 0;
    std::uint64_t part_size = 0;
    std::string checksum;
    std::string target;        // s3://bucket/prefix/
    std::string endpoint;
    double start = 0;          // Unix seconds
};

// The last line: what the process cost, what it cleaned up.
struct run_end {
    std::string host;
    double end = 0;
    double cpu_seconds = 0;           // user + system, the whole process
    std::uint64_t max_rss_bytes = 0;
    std::uint64_t connections_opened = 0;
    std::uint64_t connections_peak = 0;
    std::uint64_t deleted_objects = 0;
    std::uint64_t deleted_bytes = 0;
    bool interrupted = false;
};

std::string to_ndjson(const run_info& r);
std::string to_ndjson(const op_record& r);
std::string to_ndjson(const run_end& r);

// One line of a file back; nothing for an empty line. Throws bench_error.
using ndjson_line = std::variant<std::monostate, run_info, op_record, run_end>;
ndjson_line parse_ndjson(std::string_view line);

// Everything read from one or more files.
struct merged_runs {
    std::vector<run_info> runs;
    std::vector<op_record> ops;
    std::vector<run_end> ends;
};
// Adds one file's lines (the records after a run line take its host). Throws
// bench_error naming `name` and the line number.
void read_ndjson(std::string_view text, const std::string& name, merged_runs& into);

// Nearest-rank percentile of sorted values (p in [0, 100]); 0 for none.
double percentile(const std::vector<double>& sorted, double p);

struct kind_summary {
    std::string kind;
    std::uint64_t count = 0, failed = 0, retries = 0, bytes = 0;
    // Seconds, over the requests that succeeded.
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
    double ttfb_p50 = 0, ttfb_p90 = 0, ttfb_p99 = 0;
    std::map<std::string, std::uint64_t> errors;   // code -> count
};

struct summary {
    std::uint64_t runs = 0;              // run lines: hosts, or shards of one host
    std::uint64_t objects_ok = 0, objects_failed = 0, bytes_ok = 0;
    double first_start = 0, last_end = 0, seconds = 0;   // over the objects
    double mb_per_s = 0, objects_per_s = 0;              // MB = 10^6 bytes
    std::vector<kind_summary> kinds;                     // by request count, most first
    // Per second from first_start: body bytes of the requests that succeeded,
    // spread over each request's time (MB/s); objects ended in that second.
    std::vector<double> mb_per_s_series, objects_per_s_series;
    double cpu_seconds = 0;
    std::uint64_t max_rss_bytes = 0;       // the largest of the hosts
    std::uint64_t connections_opened = 0, deleted_objects = 0, deleted_bytes = 0;
    bool interrupted = false;
    bool have_end = false;                 // some run_end was seen (a run killed hard has none)
};

summary summarize(const merged_runs& runs);

// Unicode block sparkline of `values`, at most `width` characters (values
// averaged into buckets when there are more); "" for none.
std::string sparkline(const std::vector<double>& values, std::size_t width);

// The summary as text for a terminal, lines ending in '\n'.
std::string format_summary(const summary& s);
// "1.5 MB", "512 KiB"-free: SI, as rates are quoted.
// "8.1 ms", "1.20 s"
std::string format_seconds(double seconds);

// CSV: second,mb_per_s,objects_per_s (one row per second of the merged run).
std::string series_csv(const summary& s);
// CSV: kind,latency_ms,fraction -- each kind's latency CDF (succeeded requests).
std::string latency_cdf_csv(const merged_runs& runs);
// A gnuplot script drawing throughput over time and the latency CDF into
// `png`, reading the two CSVs.
std::string gnuplot_script(const std::string& series_csv_path, const std::string& cdf_csv_path,
                           const std::vector<std::string>& kinds, const std::string& png);

} // namespace hoist::cli::bench
