#include "bench_model.hpp"
#include "json_text.hpp"
#include "cli_units.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hoist::cli::bench {

namespace json = boost::json;

// ---- presets and specs --------------------------------------------------------------

const std::vector<workload>& workloads() {
    constexpr std::uint64_t KiB = 1024, GiB = 1024ull * 1024 * 1024;
    // awslabs/aws-crt-s3-benchmarks workloads/upload-*.src.json.
    static const std::vector<workload> all = {
        {"upload-64KiB-1x", 64 * KiB, 1},         {"upload-64KiB-1x-ram", 64 * KiB, 1},
        {"upload-64KiB-1_000x", 64 * KiB, 1000},  {"upload-256KiB-10_000x", 256 * KiB, 10000},
        {"upload-5GiB-1x", 5 * GiB, 1},           {"upload-5GiB-1x-ram", 5 * GiB, 1},
        {"upload-5GiB-10x", 5 * GiB, 10},         {"upload-5GiB-20x", 5 * GiB, 20},
        {"upload-30GiB-1x", 30 * GiB, 1},         {"upload-30GiB-1x-ram", 30 * GiB, 1},
    };
    return all;
}

std::optional<workload> find_workload(std::string_view name) {
    for (const auto& w : workloads())
        if (w.name == name) return w;
    return std::nullopt;
}

namespace {

std::uint64_t mix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::size_t at = 0;
    for (;;) {
        auto next = text.find(sep, at);
        out.push_back(text.substr(at, next == std::string::npos ? std::string::npos : next - at));
        if (next == std::string::npos) return out;
        at = next + 1;
    }
}

} // namespace

std::uint64_t size_spec::size_of(std::uint64_t index, std::uint64_t seed) const {
    if (choices.size() == 1) return choices[0].first;
    double u = static_cast<double>(mix64(index ^ mix64(seed)) >> 11) / 9007199254740992.0;   // [0, 1)
    for (const auto& [size, cumulative] : choices)
        if (u < cumulative) return size;
    return choices.back().first;
}

size_spec parse_size_spec(const std::string& text, const std::function<std::uint64_t(const std::string&)>& parse_size) {
    size_spec out;
    if (text.rfind("mixed:", 0) != 0) {
        out.choices = {{parse_size(text), 1.0}};
        return out;
    }
    auto body = text.substr(6);
    if (body.empty()) throw bench_error("--size mixed: needs SIZE:WEIGHT,... (e.g. mixed:4KiB:50,1MiB:30,64MiB:20)");
    double total = 0;
    for (const auto& item : split(body, ',')) {
        auto colon = item.find(':');
        std::string size_text = item.substr(0, colon);
        double weight = 1;
        if (colon != std::string::npos) {
            std::string w = item.substr(colon + 1);
            std::size_t pos = 0;
            try {
                weight = std::stod(w, &pos);
            } catch (const std::exception&) {
                pos = 0;
            }
            if (pos == 0 || pos != w.size() || !(weight > 0) || !std::isfinite(weight))
                throw bench_error("--size " + text + ": weight '" + w + "' of " + size_text +
                                  " is not a positive number");
        }
        if (size_text.empty()) throw bench_error("--size " + text + ": an empty size in the mix");
        out.choices.emplace_back(parse_size(size_text), weight);
        total += weight;
    }
    double running = 0;
    for (auto& [size, w] : out.choices) {
        running += w;
        w = running / total;
    }
    out.choices.back().second = 1.0;
    return out;
}

double parse_duration(const std::string& text) {
    auto bad = [&] { return bench_error("--duration '" + text + "' is not a duration (examples: 60s, 90, 2m, 1h)"); };
    std::size_t pos = 0;
    double number = 0;
    try {
        number = std::stod(text, &pos);
    } catch (const std::exception&) {
        throw bad();
    }
    if (text.find_first_of("eExXnN") < pos || !std::isfinite(number)) throw bad();
    std::string unit = text.substr(pos);
    double factor = 0;
    if (unit.empty() || unit == "s") factor = 1;
    else if (unit == "ms") factor = 0.001;
    else if (unit == "m" || unit == "min") factor = 60;
    else if (unit == "h") factor = 3600;
    else throw bad();
    double seconds = number * factor;
    if (!(seconds > 0) || seconds > 7 * 86400.0) throw bench_error("--duration '" + text + "' must be above 0 and at most a week");
    return seconds;
}

shard_spec parse_shard(const std::string& text) {
    auto bad = [&] { return bench_error("--shard '" + text + "' is not K/N with 1 <= K <= N (e.g. 1/4)"); };
    auto slash = text.find('/');
    if (slash == std::string::npos) throw bad();
    auto number = [&](const std::string& s) {
        if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) throw bad();
        return std::stoull(s);
    };
    shard_spec out{number(text.substr(0, slash)), number(text.substr(slash + 1))};
    if (out.n == 0 || out.k == 0 || out.k > out.n) throw bad();
    return out;
}

// ---- NDJSON ---------------------------------------------------------------------------

std::string to_ndjson(const run_info& r) {
    json::object o{{"type", "run"},         {"version", 1},           {"host", r.host},
                   {"shard", r.shard},      {"workload", r.workload}, {"size", r.size},
                   {"objects", r.objects},  {"duration", r.duration}, {"concurrency", r.concurrency},
                   {"part_size", r.part_size}, {"checksum", r.checksum}, {"target", r.target},
                   {"endpoint", r.endpoint}, {"start", r.start}};
    return to_json_text(o);
}

std::string to_ndjson(const op_record& r) {
    json::object o{{"type", r.type}, {"kind", r.kind}, {"key", r.key}};
    if (r.part) o["part"] = r.part;
    o["start"] = r.start;
    o["seconds"] = r.seconds;
    if (r.ttfb >= 0) o["ttfb"] = r.ttfb;
    o["bytes"] = r.bytes;
    o["ok"] = r.ok;
    if (r.status) o["status"] = r.status;
    if (!r.ok) o["error"] = r.error;
    o["retries"] = r.retries;
    return to_json_text(o);
}

std::string to_ndjson(const run_end& r) {
    json::object o{{"type", "end"},
                   {"host", r.host},
                   {"end", r.end},
                   {"cpu_seconds", r.cpu_seconds},
                   {"max_rss_bytes", r.max_rss_bytes},
                   {"connections_opened", r.connections_opened},
                   {"connections_peak", r.connections_peak},
                   {"deleted_objects", r.deleted_objects},
                   {"deleted_bytes", r.deleted_bytes},
                   {"interrupted", r.interrupted}};
    return to_json_text(o);
}

namespace {

const json::value* field(const json::object& o, std::string_view name) {
    auto it = o.find(name);
    return it == o.end() ? nullptr : &it->value();
}

std::string get_string(const json::object& o, std::string_view name, bool required = false) {
    auto* v = field(o, name);
    if (!v) {
        if (required) throw bench_error("no \"" + std::string(name) + "\"");
        return {};
    }
    if (!v->is_string()) throw bench_error("\"" + std::string(name) + "\" is not a string");
    return std::string(v->get_string());
}

double get_number(const json::object& o, std::string_view name, double fallback = 0, bool required = false) {
    auto* v = field(o, name);
    if (!v) {
        if (required) throw bench_error("no \"" + std::string(name) + "\"");
        return fallback;
    }
    if (v->is_double()) return v->get_double();
    if (v->is_int64()) return static_cast<double>(v->get_int64());
    if (v->is_uint64()) return static_cast<double>(v->get_uint64());
    throw bench_error("\"" + std::string(name) + "\" is not a number");
}

std::uint64_t get_count(const json::object& o, std::string_view name) {
    double d = get_number(o, name);
    if (d < 0) throw bench_error("\"" + std::string(name) + "\" is negative");
    return static_cast<std::uint64_t>(d);
}

bool get_bool(const json::object& o, std::string_view name, bool fallback = false) {
    auto* v = field(o, name);
    if (!v) return fallback;
    if (!v->is_bool()) throw bench_error("\"" + std::string(name) + "\" is not true or false");
    return v->get_bool();
}

} // namespace

ndjson_line parse_ndjson(std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::monostate{};
    json::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec) throw bench_error("not JSON: " + ec.message());
    if (!v.is_object()) throw bench_error("not a JSON object");
    const auto& o = v.get_object();
    std::string type = get_string(o, "type", true);
    if (type == "run") {
        run_info r;
        r.host = get_string(o, "host");
        r.shard = get_string(o, "shard");
        r.workload = get_string(o, "workload");
        r.size = get_string(o, "size");
        r.objects = get_count(o, "objects");
        r.duration = get_number(o, "duration");
        r.concurrency = static_cast<unsigned>(get_count(o, "concurrency"));
        r.part_size = get_count(o, "part_size");
        r.checksum = get_string(o, "checksum");
        r.target = get_string(o, "target");
        r.endpoint = get_string(o, "endpoint");
        r.start = get_number(o, "start", 0, true);
        return r;
    }
    if (type == "request" || type == "object") {
        op_record r;
        r.type = type;
        r.kind = get_string(o, "kind", true);
        r.key = get_string(o, "key");
        r.part = static_cast<std::uint32_t>(get_count(o, "part"));
        r.start = get_number(o, "start", 0, true);
        r.seconds = get_number(o, "seconds", 0, true);
        if (r.seconds < 0) throw bench_error("\"seconds\" is negative");
        r.ttfb = get_number(o, "ttfb", -1);
        r.bytes = get_count(o, "bytes");
        r.ok = get_bool(o, "ok");
        r.error = get_string(o, "error");
        r.status = static_cast<unsigned>(get_count(o, "status"));
        r.retries = static_cast<unsigned>(get_count(o, "retries"));
        return r;
    }
    if (type == "end") {
        run_end r;
        r.host = get_string(o, "host");
        r.end = get_number(o, "end");
        r.cpu_seconds = get_number(o, "cpu_seconds");
        r.max_rss_bytes = get_count(o, "max_rss_bytes");
        r.connections_opened = get_count(o, "connections_opened");
        r.connections_peak = get_count(o, "connections_peak");
        r.deleted_objects = get_count(o, "deleted_objects");
        r.deleted_bytes = get_count(o, "deleted_bytes");
        r.interrupted = get_bool(o, "interrupted");
        return r;
    }
    throw bench_error("unknown \"type\": \"" + type + "\"");
}

void read_ndjson(std::string_view text, const std::string& name, merged_runs& into) {
    std::size_t number = 0, at = 0;
    std::string host;
    bool seen_run = false;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        auto line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        at = end == std::string_view::npos ? text.size() : end + 1;
        ++number;
        ndjson_line parsed;
        try {
            parsed = parse_ndjson(line);
        } catch (const bench_error& e) {
            throw bench_error(name + ":" + std::to_string(number) + ": " + e.what());
        }
        if (auto* r = std::get_if<run_info>(&parsed)) {
            host = r->host.empty() ? name : r->host;
            seen_run = true;
            into.runs.push_back(std::move(*r));
        } else if (auto* op = std::get_if<op_record>(&parsed)) {
            if (!seen_run)
                throw bench_error(name + ":" + std::to_string(number) + ": a record before the \"run\" line "
                                  "(not a hoist bench --json file?)");
            op->host = host;
            into.ops.push_back(std::move(*op));
        } else if (auto* e = std::get_if<run_end>(&parsed)) {
            if (e->host.empty()) e->host = host;
            into.ends.push_back(std::move(*e));
        }
    }
    if (!seen_run) throw bench_error(name + ": no \"run\" line (not a hoist bench --json file?)");
}

// ---- summary -------------------------------------------------------------------------

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    if (rank == 0) rank = 1;
    return sorted[std::min(rank, sorted.size()) - 1];
}

summary summarize(const merged_runs& runs) {
    summary s;
    s.runs = runs.runs.size();

    bool any = false;
    double first = 0, last = 0;
    for (const auto& op : runs.ops) {
        if (op.type != "object") continue;
        if (op.ok) {
            ++s.objects_ok;
            s.bytes_ok += op.bytes;
        } else {
            ++s.objects_failed;
        }
        if (!any || op.start < first) first = op.start;
        if (!any || op.start + op.seconds > last) last = op.start + op.seconds;
        any = true;
    }
    s.first_start = first;
    s.last_end = last;
    s.seconds = last - first;
    if (s.seconds > 0) {
        s.mb_per_s = static_cast<double>(s.bytes_ok) / 1e6 / s.seconds;
        s.objects_per_s = static_cast<double>(s.objects_ok) / s.seconds;
    }

    // Per kind.
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> samples;   // latency, ttfb
    std::map<std::string, kind_summary> kinds;
    for (const auto& op : runs.ops) {
        if (op.type != "request") continue;
        auto& k = kinds[op.kind];
        k.kind = op.kind;
        ++k.count;
        k.retries += op.retries;
        if (!op.ok) {
            ++k.failed;
            ++k.errors[op.error.empty() ? "unknown" : op.error];
            continue;
        }
        k.bytes += op.bytes;
        samples[op.kind].first.push_back(op.seconds);
        if (op.ttfb >= 0) samples[op.kind].second.push_back(op.ttfb);
    }
    for (auto& [name, k] : kinds) {
        auto& [lat, ttfb] = samples[name];
        std::sort(lat.begin(), lat.end());
        std::sort(ttfb.begin(), ttfb.end());
        k.p50 = percentile(lat, 50);
        k.p90 = percentile(lat, 90);
        k.p99 = percentile(lat, 99);
        k.max = lat.empty() ? 0 : lat.back();
        k.ttfb_p50 = percentile(ttfb, 50);
        k.ttfb_p90 = percentile(ttfb, 90);
        k.ttfb_p99 = percentile(ttfb, 99);
        s.kinds.push_back(k);
    }
    std::stable_sort(s.kinds.begin(), s.kinds.end(),
                     [](const kind_summary& a, const kind_summary& b) { return a.count > b.count; });

    // Per second. Body bytes of each request that succeeded are spread evenly
    // over its time, so a 64 MiB part counts in every second it was sent in.
    if (any && s.seconds > 0) {
        const std::size_t bins = static_cast<std::size_t>(std::ceil(s.seconds));
        s.mb_per_s_series.assign(bins, 0);
        s.objects_per_s_series.assign(bins, 0);
        auto bin_of = [&](double t) {
            double offset = std::max(0.0, t - first);
            return std::min(bins - 1, static_cast<std::size_t>(offset));
        };
        for (const auto& op : runs.ops) {
            if (!op.ok) continue;
            if (op.type == "object") {
                s.objects_per_s_series[bin_of(op.start + op.seconds)] += 1;
                continue;
            }
            if (op.kind != "PutObject" && op.kind != "UploadPart") continue;
            double a = std::max(op.start, first), b = std::min(op.start + op.seconds, last);
            if (b <= a) {
                s.mb_per_s_series[bin_of(a)] += static_cast<double>(op.bytes) / 1e6;
                continue;
            }
            const double rate = static_cast<double>(op.bytes) / 1e6 / (b - a);
            for (double t = a; t < b;) {
                std::size_t bin = bin_of(t);
                double bin_end = first + static_cast<double>(bin + 1);
                double upto = std::min(b, bin == bins - 1 ? b : bin_end);
                if (upto <= t) upto = b;   // rounding at a bin edge
                s.mb_per_s_series[bin] += rate * (upto - t);
                t = upto;
            }
        }
        // The last bin may be a fraction of a second: scale it to a rate,
        // unless it is too short for that to mean anything (10 ms holding the
        // last object would read as 100 objects/s).
        double tail = s.seconds - static_cast<double>(bins - 1);
        if (tail >= 0.5 && tail < 1) {
            s.mb_per_s_series.back() /= tail;
            s.objects_per_s_series.back() /= tail;
        }
    }

    for (const auto& e : runs.ends) {
        s.have_end = true;
        s.cpu_seconds += e.cpu_seconds;
        s.max_rss_bytes = std::max(s.max_rss_bytes, e.max_rss_bytes);
        s.connections_opened += e.connections_opened;
        s.deleted_objects += e.deleted_objects;
        s.deleted_bytes += e.deleted_bytes;
        s.interrupted = s.interrupted || e.interrupted;
    }
    return s;
}

std::string sparkline(const std::vector<double>& values, std::size_t width) {
    if (values.empty() || width == 0) return {};
    std::vector<double> v;
    if (values.size() <= width) {
        v = values;
    } else {
        for (std::size_t i = 0; i < width; ++i) {
            std::size_t a = i * values.size() / width, b = (i + 1) * values.size() / width;
            double sum = 0;
            for (std::size_t j = a; j < b; ++j) sum += values[j];
            v.push_back(b > a ? sum / static_cast<double>(b - a) : 0);
        }
    }
    static const char* blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
    double top = *std::max_element(v.begin(), v.end());
    std::string out;
    for (double x : v) {
        int level = top > 0 ? static_cast<int>(std::lround(x / top * 7)) : 0;
        out += blocks[std::clamp(level, 0, 7)];
    }
    return out;
}

std::string format_seconds(double seconds) {
    char buf[32];
    if (seconds < 1) std::snprintf(buf, sizeof buf, "%.1f ms", seconds * 1000);
    else std::snprintf(buf, sizeof buf, "%.2f s", seconds);
    return buf;
}

std::string format_summary(const summary& s) {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%llu object%s%s, %s in %.2f s%s: %.1f MB/s, %.1f objects/s\n",
                  static_cast<unsigned long long>(s.objects_ok), s.objects_ok == 1 ? "" : "s",
                  s.objects_failed ? (", " + std::to_string(s.objects_failed) + " FAILED").c_str() : "",
                  format_bytes(static_cast<double>(s.bytes_ok)).c_str(), s.seconds,
                  s.runs > 1 ? (" from " + std::to_string(s.runs) + " runs").c_str() : "", s.mb_per_s,
                  s.objects_per_s);
    out += line;
    if (!s.mb_per_s_series.empty()) {
        auto [lo, hi] = std::minmax_element(s.mb_per_s_series.begin(), s.mb_per_s_series.end());
        std::snprintf(line, sizeof line, "  MB/s each second  %s  (min %.1f, max %.1f)\n",
                      sparkline(s.mb_per_s_series, 60).c_str(), *lo, *hi);
        out += line;
        auto [olo, ohi] = std::minmax_element(s.objects_per_s_series.begin(), s.objects_per_s_series.end());
        std::snprintf(line, sizeof line, "  objects/s         %s  (min %.0f, max %.0f)\n",
                      sparkline(s.objects_per_s_series, 60).c_str(), *olo, *ohi);
        out += line;
    }
    if (!s.kinds.empty()) {
        std::snprintf(line, sizeof line, "  %-24s %7s %6s %7s %10s %10s %10s %10s %10s %10s\n", "request", "count",
                      "failed", "retries", "p50", "p90", "p99", "max", "ttfb p50", "ttfb p99");
        out += line;
        for (const auto& k : s.kinds) {
            std::snprintf(line, sizeof line, "  %-24s %7llu %6llu %7llu %10s %10s %10s %10s %10s %10s\n",
                          k.kind.c_str(), static_cast<unsigned long long>(k.count),
                          static_cast<unsigned long long>(k.failed), static_cast<unsigned long long>(k.retries),
                          format_seconds(k.p50).c_str(), format_seconds(k.p90).c_str(), format_seconds(k.p99).c_str(),
                          format_seconds(k.max).c_str(), format_seconds(k.ttfb_p50).c_str(),
                          format_seconds(k.ttfb_p99).c_str());
            out += line;
        }
        for (const auto& k : s.kinds)
            for (const auto& [code, n] : k.errors) {
                std::snprintf(line, sizeof line, "  errors: %s %s x%llu\n", k.kind.c_str(), code.c_str(),
                              static_cast<unsigned long long>(n));
                out += line;
            }
    }
    if (s.have_end) {
        std::snprintf(line, sizeof line, "  connections opened %llu; client CPU %.2f s (%.0f%% of one core); max RSS %s\n",
                      static_cast<unsigned long long>(s.connections_opened), s.cpu_seconds,
                      s.seconds > 0 ? 100.0 * s.cpu_seconds / s.seconds / static_cast<double>(std::max<std::uint64_t>(s.runs, 1)) : 0.0,
                      format_bytes(static_cast<double>(s.max_rss_bytes)).c_str());
        out += line;
    }
    return out;
}

std::string series_csv(const summary& s) {
    std::string out = "second,mb_per_s,objects_per_s\n";
    char line[96];
    for (std::size_t i = 0; i < s.mb_per_s_series.size(); ++i) {
        std::snprintf(line, sizeof line, "%zu,%.3f,%.3f\n", i, s.mb_per_s_series[i], s.objects_per_s_series[i]);
        out += line;
    }
    return out;
}

std::string latency_cdf_csv(const merged_runs& runs) {
    std::map<std::string, std::vector<double>> by_kind;
    for (const auto& op : runs.ops)
        if (op.type == "request" && op.ok) by_kind[op.kind].push_back(op.seconds);
    std::string out = "kind,latency_ms,fraction\n";
    char line[128];
    for (auto& [kind, v] : by_kind) {
        std::sort(v.begin(), v.end());
        // At most ~1,000 points a kind: enough for a curve, small for 10^6 requests.
        const std::size_t step = std::max<std::size_t>(1, v.size() / 1000);
        for (std::size_t i = 0; i < v.size(); i += step) {
            std::snprintf(line, sizeof line, "%s,%.3f,%.6f\n", kind.c_str(), v[i] * 1000,
                          static_cast<double>(i + 1) / static_cast<double>(v.size()));
            out += line;
        }
        if ((v.size() - 1) % step != 0) {
            std::snprintf(line, sizeof line, "%s,%.3f,%.6f\n", kind.c_str(), v.back() * 1000, 1.0);
            out += line;
        }
    }
    return out;
}

std::string gnuplot_script(const std::string& series_csv_path, const std::string& cdf_csv_path,
                           const std::vector<std::string>& kinds, const std::string& png) {
    auto quoted = [](const std::string& s) {
        std::string q = "'";
        for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
        return q + "'";
    };
    std::string out;
    out += "set terminal pngcairo size 1200,500 noenhanced\n";
    out += "set output " + quoted(png) + "\n";
    out += "set datafile separator ','\n";
    out += "set multiplot layout 1,2\n";
    out += "set title 'Throughput'\nset xlabel 'second'\nset ylabel 'MB/s'\nset grid\nset key off\n";
    out += "plot " + quoted(series_csv_path) + " skip 1 using 1:2 with lines lw 2\n";
    out += "set title 'Request latency CDF'\nset xlabel 'ms'\nset ylabel 'fraction'\nset logscale x\nset key bottom right\n";
    out += "plot ";
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        if (i) out += ", ";
        // Rows of other kinds give NaN and are skipped.
        out += quoted(cdf_csv_path) + " skip 1 using (strcol(1) eq " + quoted(kinds[i]) +
               " ? $2 : NaN):3 with lines lw 2 title " + quoted(kinds[i]);
    }
    if (kinds.empty()) out += "0 notitle";
    out += "\nunset multiplot\n";
    return out;
}

} // namespace hoist::cli::bench
