// hoist bench's pure parts (tools/bench_model.cpp): presets, specs, NDJSON
// round trips, percentiles, the summary of merged runs, the sparkline.
#include "bench_model.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <stdexcept>

namespace b = hoist::cli::bench;

namespace {

// A small size parser for the specs: plain bytes, KiB, MiB.
std::uint64_t size_of(const std::string& s) {
    std::size_t pos = 0;
    auto n = std::stoull(s, &pos);
    auto unit = s.substr(pos);
    if (unit.empty()) return n;
    if (unit == "KiB") return n * 1024;
    if (unit == "MiB") return n * 1024 * 1024;
    throw std::invalid_argument("bad size " + s);
}

b::op_record request(std::string kind, double start, double seconds, std::uint64_t bytes, bool ok = true,
                     double ttfb = -1) {
    b::op_record r;
    r.type = "request";
    r.kind = std::move(kind);
    r.start = start;
    r.seconds = seconds;
    r.bytes = bytes;
    r.ok = ok;
    r.ttfb = ttfb;
    if (!ok) r.error = "SlowDown";
    return r;
}

b::op_record object(double start, double seconds, std::uint64_t bytes, bool ok = true) {
    auto r = request("object", start, seconds, bytes, ok);
    r.type = "object";
    if (!ok) r.error = "retries exhausted";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(bench_model)

BOOST_AUTO_TEST_CASE(presets_are_aws_crt_s3_benchmarks_upload_workloads) {
    auto w = b::find_workload("upload-256KiB-10_000x");
    BOOST_REQUIRE(w);
    BOOST_TEST(w->size == 262144u);
    BOOST_TEST(w->objects == 10000u);
    auto big = b::find_workload("upload-30GiB-1x");
    BOOST_REQUIRE(big);
    BOOST_TEST(big->size == 30ull * 1024 * 1024 * 1024);
    BOOST_TEST(big->objects == 1u);
    BOOST_TEST(b::find_workload("upload-5GiB-20x")->objects == 20u);
    BOOST_TEST(!b::find_workload("download-5GiB-1x"));
}

BOOST_AUTO_TEST_CASE(size_specs_one_or_mixed) {
    auto one = b::parse_size_spec("256KiB", size_of);
    BOOST_TEST(!one.mixed());
    BOOST_TEST(one.size_of(7, 1) == 262144u);

    auto mix = b::parse_size_spec("mixed:1KiB:3,1MiB:1", size_of);
    BOOST_REQUIRE(mix.mixed());
    std::uint64_t small = 0, large = 0;
    for (std::uint64_t i = 0; i < 4000; ++i) (mix.size_of(i, 42) == 1024 ? small : large)++;
    BOOST_TEST(small + large == 4000u);
    // 3:1 by weight, within a few percent for 4,000 draws.
    BOOST_TEST(std::abs(static_cast<double>(small) / 4000 - 0.75) < 0.04);
    // Stable: the same index and seed give the same size.
    BOOST_TEST(mix.size_of(123, 42) == mix.size_of(123, 42));

    BOOST_CHECK_THROW(b::parse_size_spec("mixed:", size_of), b::bench_error);
    BOOST_CHECK_THROW(b::parse_size_spec("mixed:1KiB:x", size_of), b::bench_error);
    BOOST_CHECK_THROW(b::parse_size_spec("mixed:1KiB:-1", size_of), b::bench_error);
}

BOOST_AUTO_TEST_CASE(durations_and_shards) {
    BOOST_TEST(b::parse_duration("60s") == 60.0);
    BOOST_TEST(b::parse_duration("90") == 90.0);
    BOOST_TEST(b::parse_duration("2m") == 120.0);
    BOOST_TEST(b::parse_duration("1h") == 3600.0);
    BOOST_TEST(b::parse_duration("500ms") == 0.5);
    for (const char* bad : {"", "s", "0", "-5s", "10x", "1e3", "nan"})
        BOOST_TEST_CONTEXT(bad) { BOOST_CHECK_THROW(b::parse_duration(bad), b::bench_error); }

    auto s = b::parse_shard("2/3");
    BOOST_TEST(s.k == 2u);
    BOOST_TEST(s.n == 3u);
    BOOST_TEST(s.owns(1));
    BOOST_TEST(s.owns(4));
    BOOST_TEST(!s.owns(0));
    BOOST_TEST(!s.owns(2));
    for (const char* bad : {"0/2", "3/2", "1/0", "1", "a/b", "/2", "1/"})
        BOOST_TEST_CONTEXT(bad) { BOOST_CHECK_THROW(b::parse_shard(bad), b::bench_error); }
}

BOOST_AUTO_TEST_CASE(ndjson_round_trip) {
    b::run_info run;
    run.host = "h1";
    run.shard = "1/2";
    run.size = "256KiB";
    run.objects = 10;
    run.concurrency = 8;
    run.start = 1764770000.25;
    auto back = b::parse_ndjson(b::to_ndjson(run));
    BOOST_REQUIRE(std::holds_alternative<b::run_info>(back));
    BOOST_TEST(std::get<b::run_info>(back).shard == "1/2");
    BOOST_TEST(std::get<b::run_info>(back).start == 1764770000.25);

    auto op = request("UploadPart", 1764770001.5, 0.125, 8388608, false, 0.01);
    op.part = 3;
    op.retries = 2;
    auto line = b::to_ndjson(op);
    auto parsed = b::parse_ndjson(line);
    BOOST_REQUIRE(std::holds_alternative<b::op_record>(parsed));
    const auto& r = std::get<b::op_record>(parsed);
    BOOST_TEST(r.kind == "UploadPart");
    BOOST_TEST(r.part == 3u);
    BOOST_TEST(r.bytes == 8388608u);
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.error == "SlowDown");
    BOOST_TEST(r.retries == 2u);
    BOOST_TEST(r.ttfb == 0.01);

    BOOST_TEST(std::holds_alternative<std::monostate>(b::parse_ndjson("  ")));
    BOOST_CHECK_THROW(b::parse_ndjson("{"), b::bench_error);
    BOOST_CHECK_THROW(b::parse_ndjson("[1]"), b::bench_error);
    BOOST_CHECK_THROW(b::parse_ndjson(R"({"type":"nope"})"), b::bench_error);
    BOOST_CHECK_THROW(b::parse_ndjson(R"({"type":"request","kind":"PutObject","seconds":1})"), b::bench_error);
}

BOOST_AUTO_TEST_CASE(read_ndjson_names_file_and_line) {
    b::merged_runs runs;
    try {
        b::read_ndjson("{\"type\":\"run\",\"host\":\"a\",\"start\":1}\nnot json\n", "a.ndjson", runs);
        BOOST_FAIL("accepted a bad line");
    } catch (const b::bench_error& e) {
        BOOST_TEST(std::string(e.what()).find("a.ndjson:2:") == 0);
    }
    b::merged_runs none;
    BOOST_CHECK_THROW(b::read_ndjson(b::to_ndjson(object(1, 1, 1)) + "\n", "x", none), b::bench_error);
}

BOOST_AUTO_TEST_CASE(percentiles_nearest_rank) {
    std::vector<double> v;
    for (int i = 1; i <= 100; ++i) v.push_back(i);
    BOOST_TEST(b::percentile(v, 50) == 50.0);
    BOOST_TEST(b::percentile(v, 90) == 90.0);
    BOOST_TEST(b::percentile(v, 99) == 99.0);
    BOOST_TEST(b::percentile(v, 100) == 100.0);
    BOOST_TEST(b::percentile({7.0}, 50) == 7.0);
    BOOST_TEST(b::percentile({}, 50) == 0.0);
    BOOST_TEST(b::percentile({1.0, 2.0, 3.0}, 50) == 2.0);
}

BOOST_AUTO_TEST_CASE(two_hosts_merge_on_one_time_axis) {
    // Two hosts, each 10 objects of 1 MB over the same 2 seconds: together
    // 20 MB in 2 s, 10 MB/s, the sum of their 5 MB/s each.
    b::run_info ra, rc;
    ra.host = "a";
    ra.shard = "1/2";
    ra.start = 1000;
    rc.host = "c";
    rc.shard = "2/2";
    rc.start = 1000;
    std::string a = b::to_ndjson(ra) + "\n";
    std::string c = b::to_ndjson(rc) + "\n";
    for (int i = 0; i < 10; ++i) {
        double start = 1000 + 0.2 * i;
        a += b::to_ndjson(request("PutObject", start, 0.2, 1'000'000, true, 0.005)) + "\n";
        a += b::to_ndjson(object(start, 0.2, 1'000'000)) + "\n";
        c += b::to_ndjson(request("PutObject", start, 0.2, 1'000'000, true, 0.015)) + "\n";
        c += b::to_ndjson(object(start, 0.2, 1'000'000)) + "\n";
    }
    c += b::to_ndjson(request("PutObject", 1000.5, 0.1, 1'000'000, false)) + "\n";
    b::run_end ea, ec;
    ea.host = "a";
    ea.cpu_seconds = 0.5;
    ea.max_rss_bytes = 10;
    ea.connections_opened = 4;
    ec.host = "c";
    ec.cpu_seconds = 0.25;
    ec.max_rss_bytes = 30;
    ec.connections_opened = 3;
    a += b::to_ndjson(ea) + "\n";
    c += b::to_ndjson(ec) + "\n";

    b::merged_runs runs;
    b::read_ndjson(a, "a", runs);
    b::read_ndjson(c, "c", runs);
    auto s = b::summarize(runs);
    BOOST_TEST(s.runs == 2u);
    BOOST_TEST(s.objects_ok == 20u);
    BOOST_TEST(s.bytes_ok == 20'000'000u);
    BOOST_TEST(std::abs(s.seconds - 2.0) < 1e-6);
    BOOST_TEST(std::abs(s.mb_per_s - 10.0) < 1e-6);
    BOOST_TEST(std::abs(s.objects_per_s - 10.0) < 1e-6);
    BOOST_REQUIRE(s.kinds.size() == 1u);
    BOOST_TEST(s.kinds[0].kind == "PutObject");
    BOOST_TEST(s.kinds[0].count == 21u);
    BOOST_TEST(s.kinds[0].failed == 1u);
    BOOST_TEST(s.kinds[0].errors.at("SlowDown") == 1u);
    BOOST_TEST(std::abs(s.kinds[0].p50 - 0.2) < 1e-9);
    BOOST_TEST(std::abs(s.kinds[0].ttfb_p50 - 0.005) < 1e-9);   // 10 of 20 at 5 ms: the 10th is 5 ms
    BOOST_TEST(std::abs(s.kinds[0].ttfb_p99 - 0.015) < 1e-9);
    // Two whole seconds at 10 MB/s each, bytes spread over the requests' times.
    BOOST_REQUIRE(s.mb_per_s_series.size() == 2u);
    BOOST_TEST(std::abs(s.mb_per_s_series[0] - 10.0) < 1e-6);
    BOOST_TEST(std::abs(s.mb_per_s_series[1] - 10.0) < 1e-6);
    BOOST_TEST(s.objects_per_s_series[0] + s.objects_per_s_series[1] == 20.0);
    BOOST_TEST(s.cpu_seconds == 0.75);
    BOOST_TEST(s.max_rss_bytes == 30u);
    BOOST_TEST(s.connections_opened == 7u);

    auto text = b::format_summary(s);
    BOOST_TEST(text.find("20 objects") != std::string::npos);
    BOOST_TEST(text.find("10.0 MB/s") != std::string::npos);
    BOOST_TEST(text.find("from 2 runs") != std::string::npos);
    BOOST_TEST(text.find("errors: PutObject SlowDown x1") != std::string::npos);

    auto csv = b::series_csv(s);
    BOOST_TEST(csv.find("0,10.000,") != std::string::npos);
    auto cdf = b::latency_cdf_csv(runs);
    BOOST_TEST(cdf.find("PutObject,200.000,1.000000") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sparkline_scales_to_the_peak) {
    BOOST_TEST(b::sparkline({}, 10) == "");
    BOOST_TEST(b::sparkline({0, 7, 14}, 10) == "\u2581\u2585\u2588");
    // 8 values into 4 characters: averaged pairs.
    BOOST_TEST(b::sparkline({0, 0, 2, 2, 4, 4, 8, 8}, 4) == "\u2581\u2583\u2585\u2588");
}

BOOST_AUTO_TEST_CASE(gnuplot_script_quotes_paths) {
    auto script = b::gnuplot_script("a'b.csv", "cdf.csv", {"PutObject"}, "out.png");
    BOOST_TEST(script.find("'a''b.csv'") != std::string::npos);
    BOOST_TEST(script.find("set output 'out.png'") != std::string::npos);
    BOOST_TEST(script.find("title 'PutObject'") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
