#include "cli_bench.hpp"
#include "bench_model.hpp"
#include "cli_units.hpp"

#include "hoist/engine/batch.hpp"
#include "hoist/engine/bucket.hpp"

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <unordered_map>

extern char** environ;

namespace hoist::cli {

namespace b = bench;

void bench_command::add_to(CLI::App& parent) {
    app = parent.add_subcommand(
        "bench", "Benchmark an S3 endpoint's upload path: s3://BUCKET/PREFIX/ gets generated objects (from memory), "
                 "measured request by request, then deleted (unless --keep); 'bench report FILE...' merges --json "
                 "files of several hosts");
    app->add_option("target", target, "s3://BUCKET/PREFIX/ where the objects go (PREFIX/<workload>/<n>)");
    std::vector<std::string> names;
    for (const auto& w : b::workloads()) names.push_back(w.name);
    app->add_option("--workload", workload,
                    "a workload of awslabs/aws-crt-s3-benchmarks, by name (e.g. upload-256KiB-10_000x, "
                    "upload-5GiB-1x; --workloads lists them): its size and count, no checksum unless --checksum")
        ->check(CLI::IsMember(names));
    app->add_flag("--workloads", list_workloads, "list the workload presets and exit");
    app->add_option("--size", size,
                    "object size: 256KiB, 8MiB, 1GiB, or a mix mixed:4KiB:50,1MiB:30,64MiB:20 (size:weight) "
                    "(default 8MiB)");
    app->add_option("--objects", objects, "objects to upload, every shard together (default: the workload's, else 100)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
    app->add_option("--duration", duration, "upload for this long instead (60s, 2m, 1h): objects keep starting until then");
    app->add_option("--concurrency", transfer.concurrency,
                    "requests in flight: small objects N at once, large ones N parts at once (N / parts objects)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app->add_option("--part-size", transfer.part_size,
                    "part size of multipart uploads, at least 5MiB (unless given, an object smaller than concurrency "
                    "x part size is cut into smaller parts, as hoist cp does)")
        ->capture_default_str();
    app->add_option("--multipart-threshold", transfer.multipart_threshold, "smaller objects go up in one PutObject")
        ->capture_default_str();
    app->add_option("--checksum", transfer.checksum, "per-part integrity: crc32c, md5 or none (default crc32c; none with --workload)")
        ->check(CLI::IsMember({"crc32c", "md5", "none"}));
    app->add_flag("--keep", keep, "keep the objects (default: delete them after the run, also after Ctrl-C)");
    app->add_option("--json", json_file,
                    "write every request and object to FILE as NDJSON (fields in README: hoist bench)");
    app->add_option("--shard", shard,
                    "K/N: this process uploads objects i with i % N == K-1 of the workload, so N processes anywhere "
                    "run it together; merge their --json files with 'hoist bench report'");
    app->add_option("--seed", seed, "seed of the generated data (a stable function of seed and object number)")
        ->capture_default_str();
    app->add_option("--max-bandwidth", transfer.max_bandwidth, "cap on bytes per second, all connections together");
    app->add_option("--retries", transfer.retries, "attempts per request, the first included")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app->add_option("--connect-timeout", transfer.connect_timeout, "seconds for TCP connect and TLS handshake")
        ->capture_default_str()
        ->check(CLI::Range(1, 600));
    app->add_option("--read-timeout", transfer.read_timeout, "seconds to wait for a response once a request is sent")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    app->add_option("--ca-bundle", transfer.ca_bundle, "PEM CA bundle to verify the endpoint (default: AWS_CA_BUNDLE)");
    app->add_flag("--no-verify-ssl", transfer.no_verify_ssl, "do not verify TLS certificates (insecure)");
    app->add_flag("--quiet", transfer.quiet, "no progress line");
    transfer.aws.add_to(*app);

    report_app = app->add_subcommand(
        "report", "Merge the --json files of hoist bench runs (several hosts or shards) on one time axis: the "
                  "summary, a CSV of throughput per second, a latency CDF CSV and, with gnuplot installed, a PNG chart");
    report_app->add_option("files", report_files, "NDJSON files written by hoist bench --json")->required();
    report_app->add_option("--out", report_out,
                           "prefix of the files written: PREFIX.csv, PREFIX-latency.csv, PREFIX.png, PREFIX.gp "
                           "(default: the first file's name without its extension)");
    report_app->add_flag("--no-chart", no_chart, "do not run gnuplot");
}

int bench_command::run(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    if (*report_app) return run_report();
    if (list_workloads) {
        for (const auto& w : b::workloads())
            std::cout << w.name << "  " << w.objects << " x " << w.size << " bytes\n";
        return exit_ok;
    }
    return run_bench(env, files);
}

namespace {

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
    return name;
}

struct usage_now {
    double cpu_seconds = 0;
    std::uint64_t max_rss_bytes = 0;
};

usage_now process_usage() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return {sec(ru.ru_utime) + sec(ru.ru_stime), static_cast<std::uint64_t>(ru.ru_maxrss) * 1024};
}

// What the run measured: requests (from the client's thread, as they end) and
// objects (from the caller's), kept for the summary and written to --json as
// they come, so an interrupted or killed run leaves its file readable.
class recorder {
public:
    recorder(std::string host, std::ofstream* json) : host_(std::move(host)), json_(json) {}

    void request(const std::string& key, const engine::request_observation& o) {
        b::op_record r;
        r.type = "request";
        r.kind = std::string(o.kind);
        r.key = key;
        r.part = o.part;
        r.start = std::chrono::duration<double>(o.start.time_since_epoch()).count();
        r.seconds = std::chrono::duration<double>(o.duration).count();
        r.ttfb = o.first_byte.count() < 0 ? -1 : std::chrono::duration<double>(o.first_byte).count();
        r.bytes = o.bytes;
        r.ok = o.ok;
        r.error = o.error;
        r.status = o.status;
        r.retries = o.retries;
        std::lock_guard lock(mutex_);
        auto& span = spans_[key];
        if (span.second == 0 || r.start < span.first) span.first = r.start;
        span.second = std::max(span.second, r.start + r.seconds);
        add(std::move(r));
    }

    // An object's record: from its first request's start to its last one's
    // end (the engine's own bookkeeping around them is not the server's time).
    void object(const engine::file_outcome& o) {
        b::op_record r;
        r.type = "object";
        r.kind = "object";
        r.key = o.key;
        r.bytes = o.size;
        r.ok = o.ok;
        if (!o.ok) r.error = std::string(engine::to_string(o.code));
        if (o.ok) r.retries = o.result.retries;
        std::lock_guard lock(mutex_);
        auto it = spans_.find(o.key);
        if (it != spans_.end() && it->second.second > 0) {
            r.start = it->second.first;
            r.seconds = it->second.second - it->second.first;
            spans_.erase(it);
        } else {
            r.seconds = o.seconds;
            r.start = unix_now() - o.seconds;
        }
        add(std::move(r));
    }

    void line(const std::string& text) {
        std::lock_guard lock(mutex_);
        if (json_) *json_ << text << '\n' << std::flush;
    }

    b::merged_runs snapshot() {
        std::lock_guard lock(mutex_);
        b::merged_runs m;
        m.ops = ops_;
        for (auto& op : m.ops) op.host = host_;
        return m;
    }

private:
    void add(b::op_record r) {
        if (json_) *json_ << b::to_ndjson(r) << '\n';
        ops_.push_back(std::move(r));
    }

    std::string host_;
    std::ofstream* json_;
    std::mutex mutex_;
    std::vector<b::op_record> ops_;
    std::unordered_map<std::string, std::pair<double, double>> spans_;   // key -> first start, last end
};

std::string index_key(const std::string& prefix, const std::string& label, std::uint64_t index, int width) {
    std::string n = std::to_string(index + 1);
    if (static_cast<int>(n.size()) < width) n.insert(0, static_cast<std::size_t>(width) - n.size(), '0');
    return prefix + label + "/" + n;
}

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t index) {
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + index;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

} // namespace

int bench_command::run_bench(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    engine::cancel_token cancel;
    signal_watcher signals(cancel, {.first = "hoist: stopping: cutting the uploads in flight, then deleting what was "
                                             "written (unless --keep); interrupt again to exit now",
                                    .waiting = {},
                                    .left_behind = "objects of this run may be left under the prefix"});
    if (!target) throw usage_error("bench needs the destination s3://BUCKET/PREFIX/ (or: hoist bench report FILE...)");
    if (workload && size) throw usage_error("--workload sets the size: give --workload or --size, not both");
    if (objects && duration) throw usage_error("--objects and --duration: give one (a count, or a time)");

    std::optional<b::workload> preset;
    if (workload) preset = b::find_workload(*workload);
    std::string size_text = size.value_or("8MiB");
    b::size_spec sizes;
    try {
        if (preset) sizes.choices = {{preset->size, 1.0}};
        else sizes = b::parse_size_spec(size_text, [](const std::string& s) { return parse_size(s, "--size"); });
        if (preset) size_text = std::to_string(preset->size);
    } catch (const b::bench_error& e) {
        throw usage_error(e.what());
    }
    double seconds_limit = 0;
    b::shard_spec my_shard;
    try {
        if (duration) seconds_limit = b::parse_duration(*duration);
        if (shard) my_shard = b::parse_shard(*shard);
    } catch (const b::bench_error& e) {
        throw usage_error(e.what());
    }
    const std::uint64_t total = duration ? 0 : objects.value_or(preset ? preset->objects : 100);

    auto dest = protocol::parse_s3_url(*target, /*key_required=*/false);
    std::string prefix = dest.key;
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    // Keys as aws-crt-s3-benchmarks names them: upload/256KiB-10_000x/00001.
    const std::string label = preset ? preset->name.substr(preset->name.rfind("upload-", 0) == 0 ? 7 : 0) : "hoist-bench";
    const int width = duration ? 8 : std::max<int>(5, static_cast<int>(std::to_string(total).size()));

    transfer_options t = transfer;
    t.no_resume = true;   // generated data has no file to resume
    if (preset && app->count("--checksum") == 0) t.checksum = "none";   // their workloads: checksum null
    engine::upload_options bucket_options = t.make(*app, env, files, dest.bucket);
    bucket_options.fit_parts_in_flight = false;   // --concurrency is what runs

    std::ofstream json;
    if (json_file) {
        json.open(*json_file, std::ios::trunc);
        if (!json) throw usage_error("--json " + *json_file + ": " + std::strerror(errno));
    }
    const std::string host = host_name();
    auto rec = std::make_shared<recorder>(host, json_file ? &json : nullptr);

    b::run_info info;
    info.host = host;
    info.shard = my_shard.text();
    info.workload = preset ? preset->name : "";
    info.size = size_text;
    info.duration = seconds_limit;
    info.concurrency = t.concurrency;
    info.part_size = bucket_options.part_size;
    info.checksum = t.checksum;
    info.target = "s3://" + dest.bucket + "/" + prefix;
    info.endpoint = bucket_options.location.ep.origin();
    info.start = unix_now();
    // Indices k-1, k-1+n, ... below total.
    info.objects = total >= my_shard.k ? (total - my_shard.k) / my_shard.n + 1 : 0;
    rec->line(b::to_ndjson(info));

    // Objects in flight: enough to keep --concurrency requests going, no
    // more. Small objects are one request each (N at once); a large one is
    // parts, so N / parts of them (a 64 MiB object of 8 parts at N = 8: one at
    // a time, as `hoist cp` sends one file). More objects than that would only
    // queue for the N connections and finish together, their Completes
    // (the store's concatenation) bunched at the end of each wave. A mix goes
    // by its smallest size.
    std::uint64_t smallest = sizes.choices[0].first;
    for (const auto& c : sizes.choices) smallest = std::min(smallest, c.first);
    const std::uint64_t parts =
        smallest < bucket_options.multipart_threshold
            ? 1
            : std::max<std::uint64_t>(1, (smallest + bucket_options.part_size - 1) / bucket_options.part_size);
    engine::batch_options bopts;
    bopts.files_in_flight = static_cast<unsigned>(std::max<std::uint64_t>(1, (t.concurrency + parts - 1) / parts));
    // The client as `hoist cp` sizes it for the same shape (cli_bulk.cpp):
    // requests are bounded by objects x parts in flight above; the connection
    // budget is headroom, so that a connection the server closed is replaced
    // at once rather than after an idle one is given up (on s3rver, a budget
    // of exactly --concurrency cost small objects 10-20%).
    engine::client_options copts;
    copts.max_connections = std::max<std::size_t>(copts.max_connections, bopts.files_in_flight + t.concurrency + 4);
    copts.max_bytes_per_second = t.bytes_per_second();
    engine::client client(copts);


    const bool tty = ::isatty(STDERR_FILENO) == 1;
    std::vector<std::string> keys;              // every key submitted (what the clean-up deletes)
    std::uint64_t ok_objects = 0, ok_bytes = 0, failed = 0, cancelled = 0;
    std::uint64_t errors_shown = 0;
    const auto started = std::chrono::steady_clock::now();
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> samples;
    auto last_line = started;
    bool drawn = false;
    auto progress = [&](bool final) {
        auto now = std::chrono::steady_clock::now();
        auto stats = client.stats();
        samples.emplace_back(now, stats.bytes_acked);
        while (samples.size() > 2 && now - samples.front().first > std::chrono::seconds(3)) samples.pop_front();
        if (t.quiet) return;
        if (final) {
            if (drawn && tty) std::cerr << "\r\033[K" << std::flush;
            drawn = false;
            return;
        }
        if (!tty && now - last_line < std::chrono::seconds(5)) return;
        last_line = now;
        double rate = 0;
        if (samples.size() >= 2) {
            double dt = std::chrono::duration<double>(samples.back().first - samples.front().first).count();
            if (dt > 0) rate = static_cast<double>(samples.back().second - samples.front().second) / dt;
        }
        char line[256];
        std::snprintf(line, sizeof line, "bench %.1f s  objects %llu%s%s  %s  %.1f MB/s%s",
                      std::chrono::duration<double>(now - started).count(),
                      static_cast<unsigned long long>(ok_objects),
                      info.objects ? ("/" + std::to_string(info.objects)).c_str() : "",
                      failed ? (" (" + std::to_string(failed) + " failed)").c_str() : "",
                      format_bytes(static_cast<double>(stats.bytes_acked)).c_str(), rate / 1e6,
                      seconds_limit > 0 ? ("  of " + std::to_string(static_cast<long>(seconds_limit)) + " s").c_str()
                                        : "");
        if (tty) {
            std::cerr << "\r\033[K" << line << std::flush;
            drawn = true;
        } else {
            std::cerr << "hoist: " << line << '\n';
        }
    };

    bopts.cancel = cancel;
    bopts.tick = std::chrono::milliseconds(tty ? 200 : 1000);
    engine::batch batch(
        client, bopts,
        [&](const engine::file_outcome& o) {
            rec->object(o);
            if (o.ok) {
                ++ok_objects;
                ok_bytes += o.size;
            } else if (o.code == engine::upload_errc::cancelled && cancel.cancelled()) {
                ++cancelled;
            } else {
                ++failed;
                if (errors_shown++ < 10) {
                    if (drawn && tty) std::cerr << "\r\033[K";
                    drawn = false;
                    std::cerr << "hoist: error: " << o.key << ": " << o.error << '\n';
                }
            }
        },
        [&] { progress(false); });
    signals.set_stage(signal_watcher::stage::engine);

    const auto deadline = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        std::chrono::duration<double>(seconds_limit));
    for (std::uint64_t i = 0; duration || i < total; ++i) {
        if (duration && std::chrono::steady_clock::now() >= deadline) break;
        if (!my_shard.owns(i)) continue;
        std::string key = index_key(prefix, label, i, width);
        std::uint64_t object_size = sizes.size_of(i, seed);
        engine::upload_options o = at_key(bucket_options, key);
        o.on_request = [rec, key](const engine::request_observation& obs) { rec->request(key, obs); };
        keys.push_back(key);
        if (!batch.submit(engine::upload_source::generated(object_size, mix_seed(seed, i)), std::move(o), object_size)) {
            keys.pop_back();
            break;
        }
    }
    batch.finish();
    progress(true);
    const bool interrupted = signals.signal_number() > 0;
    const auto usage = process_usage();   // before the clean-up: the run's cost, not the deletion's

    b::run_end end;
    end.host = host;
    end.end = unix_now();
    end.cpu_seconds = usage.cpu_seconds;
    end.max_rss_bytes = usage.max_rss_bytes;
    // The client's count: an upload's own (upload_result::connections_opened)
    // is its pool's count while it ran, shared with the uploads beside it.
    const auto client_stats = client.stats();
    end.connections_opened = client_stats.connections_opened;
    end.connections_peak = client_stats.connections_peak;
    end.interrupted = interrupted;

    int code = interrupted ? 128 + signals.signal_number() : (failed ? exit_failed : exit_ok);
    std::string cleanup;
    if (!keep && !keys.empty()) {
        // Every key submitted: one whose upload failed may still have been
        // stored (an answer lost after the server stored it); a missing key
        // is no error to DeleteObjects.
        try {
            auto deleted = engine::delete_objects(client, bucket_options, keys, 4);
            end.deleted_objects = ok_objects;
            end.deleted_bytes = ok_bytes;
            cleanup = "hoist bench: deleted " + std::to_string(ok_objects) + " objects (" +
                      format_bytes(static_cast<double>(ok_bytes)) + ") under " + info.target;
            if (!deleted.failures.empty()) {
                cleanup += "; " + std::to_string(deleted.failures.size()) + " could not be deleted, e.g. " +
                           deleted.failures[0].key + ": " + deleted.failures[0].code + " " +
                           deleted.failures[0].message;
                if (code == exit_ok) code = exit_failed;
            }
        } catch (const engine::upload_error& e) {
            cleanup = "hoist: error: deleting the objects written under " + info.target + " failed: " + e.what();
            if (code == exit_ok) code = exit_failed;
        }
    } else if (keep) {
        cleanup = "hoist bench: kept " + std::to_string(ok_objects) + " objects (" +
                  format_bytes(static_cast<double>(ok_bytes)) + ") under " + info.target + " (--keep)";
    }
    rec->line(b::to_ndjson(end));
    signals.set_stage(signal_watcher::stage::local);

    auto merged = rec->snapshot();
    merged.runs.push_back(info);
    merged.ends.push_back(end);
    auto s = b::summarize(merged);
    if (interrupted) std::cout << "hoist bench: interrupted; what was measured until then:\n";
    std::cout << b::format_summary(s);
    if (cancelled) std::cout << "  " << cancelled << " uploads cut by the interruption (not counted)\n";
    std::cout << std::flush;
    if (!cleanup.empty()) std::cerr << cleanup << '\n';
    if (json_file) {
        json.close();
        if (!json) {
            std::cerr << "hoist: error: --json " << *json_file << ": write failed\n";
            if (code == exit_ok) code = exit_failed;
        }
    }
    return code;
}

namespace {

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    if (!path) return false;
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    return false;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
}

// gnuplot SCRIPT, waited for; its exit status (-1 when it did not start).
int run_gnuplot(const std::string& script) {
    pid_t pid = 0;
    const char* argv[] = {"gnuplot", script.c_str(), nullptr};
    if (::posix_spawnp(&pid, "gnuplot", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0) return -1;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

int bench_command::run_report() const {
    b::merged_runs runs;
    for (const auto& name : report_files) {
        std::ifstream in(name, std::ios::binary);
        if (!in) throw usage_error(name + ": " + std::strerror(errno));
        std::stringstream text;
        text << in.rdbuf();
        try {
            b::read_ndjson(text.str(), name, runs);
        } catch (const b::bench_error& e) {
            throw usage_error(e.what());
        }
    }
    auto s = b::summarize(runs);
    std::cout << b::format_summary(s) << std::flush;

    std::string prefix = report_out.value_or(report_files[0]);
    if (!report_out) {
        auto slash = prefix.rfind('/');
        auto dot = prefix.rfind('.');
        if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) prefix.erase(dot);
    }
    const std::string series = prefix + ".csv", cdf = prefix + "-latency.csv";
    write_file(series, b::series_csv(s));
    write_file(cdf, b::latency_cdf_csv(runs));
    std::cerr << "hoist bench report: wrote " << series << " and " << cdf;
    if (no_chart) {
        std::cerr << '\n';
        return exit_ok;
    }
    if (!on_path("gnuplot")) {
        std::cerr << "; no chart: gnuplot is not installed (Debian: apt install gnuplot-nox)\n";
        return exit_ok;
    }
    std::vector<std::string> kinds;
    for (const auto& k : s.kinds) kinds.push_back(k.kind);
    const std::string script = prefix + ".gp", png = prefix + ".png";
    write_file(script, b::gnuplot_script(series, cdf, kinds, png));
    int status = run_gnuplot(script);
    if (status != 0) {
        std::cerr << "; gnuplot " << script << " failed (exit " << status << "): no chart\n";
        return exit_failed;
    }
    std::cerr << ", and the chart " << png << " (gnuplot " << script << ")\n";
    return exit_ok;
}

} // namespace hoist::cli
