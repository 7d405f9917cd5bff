// `hoist cp` end to end through the real binary: input errors are one clear
// line on stderr with exit code 2 (usage) or 1 (the upload failed); SIGINT and
// SIGTERM during an upload abort it on the (strict, in-process) server, and a
// signal always ends hoist: blocked before the upload, or a second time while
// the abort hangs.
#include "process.hpp"
#include "s3_test_server.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

namespace t = hoist::test;
namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> env_creds() {
    return {{"AWS_ACCESS_KEY_ID", "AKIDCLI"}, {"AWS_SECRET_ACCESS_KEY", "cli-test-secret"}, {"HOME", "/nonexistent"}};
}

struct temp_dir {
    fs::path path = fs::temp_directory_path() / ("hoist-cli-cp-" + std::to_string(::getpid()));
    temp_dir() { fs::create_directories(path); }
    ~temp_dir() { fs::remove_all(path); }
};

t::process_result cp(std::vector<std::string> args, std::map<std::string, std::string> env = env_creds(),
                     int uid = -1) {
    args.insert(args.begin(), {HOIST_BINARY, "cp"});
    return t::run_process(args, env, 60, {}, uid);
}

std::map<std::string, std::string> server_env(const t::s3_test_server& server) {
    return {{"AWS_ACCESS_KEY_ID", server.config().access_key_id},
            {"AWS_SECRET_ACCESS_KEY", server.config().secret},
            {"HOME", "/nonexistent"}};
}

// hoist blocks SIGINT in every thread once its signal watcher is up: a signal
// sent before that would meet the default action, not hoist.
bool watching_signals(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("SigBlk:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> (SIGINT - 1)) & 1;
    return false;
}

// hoist running in the background, to be signalled. Every wait is bounded:
// run_process kills the child (SIGKILL, exit 137) after `timeout_seconds`,
// and a test that gives up early kills it on the way out.
struct background_run {
    std::atomic<int> pid{0};
    std::future<t::process_result> result;

    background_run(std::vector<std::string> args, std::map<std::string, std::string> env, int timeout_seconds) {
        result = std::async(std::launch::async, [this, args = std::move(args), env = std::move(env), timeout_seconds] {
            return t::run_process(args, env, timeout_seconds, {}, -1, [this](int p) { pid = p; });
        });
    }
    ~background_run() {
        if (result.valid() && running() && pid > 0) ::kill(pid, SIGKILL);
    }
    // hoist is up and watching its signals (at most 10 s).
    bool started() {
        for (int i = 0; i < 1000; ++i) {
            if (!running()) return false;
            if (pid > 0 && watching_signals(pid)) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
    bool running() const { return result.wait_for(0s) != std::future_status::ready; }
    void signal(int sig) const { ::kill(pid, sig); }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void check_error(const t::process_result& r, int code, const std::string& needle) {
    BOOST_TEST(r.exit_code == code, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(r.err.find(needle) != std::string::npos, "stderr: " << r.err);
    BOOST_TEST(r.err.find("cli-test-secret") == std::string::npos);
    // One line: the cause, not a stack of messages.
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, "stderr: " << r.err);
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_cp)

BOOST_AUTO_TEST_CASE(bad_input_is_a_usage_error) {
    temp_dir dir;
    auto file = dir.path / "data.bin";
    std::ofstream(file) << "hello";
    const std::string ep = "--endpoint-url=https://127.0.0.1:1";
    check_error(cp({(dir.path / "missing.bin").string(), "s3://bucket/k", ep}), 2, "no such file");
    check_error(cp({dir.path.string(), "s3://bucket/k", ep}), 2, "is a directory");
    check_error(cp({file.string(), "https://bucket/k", ep}), 2, "s3://BUCKET/KEY");
    check_error(cp({file.string(), "s3://bucket", ep}), 2, "key is missing");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--bogus"}), 2, "--bogus");
    check_error(cp({file.string(), "s3://bucket/k", ep}, {{"HOME", "/nonexistent"}}), 2, "credentials");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--part-size", "512KB"}), 2, "5 MiB");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--part-size", "lots"}), 2, "not a size");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--concurrency", "0"}), 2, "--concurrency");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--checksum", "sha1"}), 2, "--checksum");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--max-bandwidth", "50Mb/s"}), 2,
                "--max-bandwidth '50Mb/s': bits or bytes?");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--max-bandwidth", "fast"}), 2, "not a rate");
    check_error(cp({file.string(), "s3://bucket/k", ep, "--ca-bundle", (dir.path / "none.pem").string()}), 2,
                "CA bundle");
    check_error(cp({file.string(), "s3://bucket/k", "--endpoint-url", "ftp://x"}), 2, "https or http");
}

BOOST_AUTO_TEST_CASE(unreadable_file_is_a_usage_error) {
    temp_dir dir;
    auto file = dir.path / "secret.bin";
    std::ofstream(file) << "hello";
    fs::permissions(file, fs::perms::none);
    fs::permissions(dir.path, fs::perms::all);
    // Root reads everything: drop to nobody (65534) for this check when root.
    int uid = ::geteuid() == 0 ? 65534 : -1;
    if (uid >= 0 && t::run_process({HOIST_BINARY, "--version"}, {}, 30, {}, uid).exit_code != 0) {
        // The build tree is not reachable for nobody (e.g. under /root): this
        // check cannot run here; it is not counted as a pass.
        BOOST_WARN_MESSAGE(false, "skipped: user 65534 cannot execute " HOIST_BINARY);
        return;
    }
    check_error(cp({file.string(), "s3://bucket/k", "--endpoint-url=https://127.0.0.1:1"}, env_creds(), uid), 2,
                "Permission denied");
}

BOOST_AUTO_TEST_CASE(unreachable_endpoint_fails_the_upload) {
    temp_dir dir;
    auto file = dir.path / "data.bin";
    std::ofstream(file) << "hello";
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    auto r = cp({file.string(), "s3://bucket/k", "--endpoint-url=https://127.0.0.1:1", "--retries", "2",
                 "--backoff-base", "0.01", "--quiet"});
    check_error(r, 1, "cannot connect to 127.0.0.1:1");
    BOOST_TEST(r.err.find("failed after 2 attempts") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(via_needs_a_token_and_no_destination) {
    temp_dir dir;
    auto file = dir.path / "data.bin";
    std::ofstream(file) << "hello";
    check_error(cp({file.string(), "--via", "http://127.0.0.1:1"}, {{"HOME", "/nonexistent"}}), 2, "--token");
    check_error(cp({file.string(), "s3://b-1/k", "--via", "http://127.0.0.1:1", "--token", "t"}), 2, "drop");
    check_error(cp({file.string()}), 2, "destination");
}

BOOST_AUTO_TEST_CASE(serve_refuses_a_bad_config_at_start) {
    temp_dir dir;
    auto serve = [&](const std::string& config_text) {
        auto path = dir.path / "service.json";
        std::ofstream(path) << config_text;
        return t::run_process({HOIST_BINARY, "serve", "--config", path.string()}, {{"HOME", "/nonexistent"}}, 30);
    };
    const std::string storage = R"("storage":{"endpoint":"https://127.0.0.1:9","region":"us-east-1","bucket":"bucket",
        "access_key_id":"AKID","secret_access_key":"cli-test-secret"})";
    const std::string tokens = R"("tokens":[{"sha256":")" + std::string(64, 'a') + R"(","user":"alice"}])";
    auto missing = t::run_process({HOIST_BINARY, "serve", "--config", (dir.path / "none.json").string()}, {}, 30);
    check_error(missing, 2, "does not exist");
    check_error(serve("{not json"), 2, "service config");
    check_error(serve("{" + storage + ",\"token_secret\":\"short\"," + tokens + "}"), 2, "token_secret");
    check_error(serve("{" + storage + ",\"token_secret\":\"" + std::string(40, 's') + "\"," + tokens +
                      ",\"listne\":\"127.0.0.1:1\"}"),
                2, "listne");
    check_error(serve("{" + storage + ",\"token_secret\":\"" + std::string(40, 's') + "\",\"tokens\":[]}"), 2,
                "tokens");
    // api_path, in the config and on the command line: refused at start.
    const std::string good = "{" + storage + ",\"token_secret\":\"" + std::string(40, 's') + "\"," + tokens;
    check_error(serve(good + ",\"api_path\":\"/healthz\"}"), 2, "api_path");
    check_error(serve(good + ",\"api_path\":\"api/upload\"}"), 2, "must start with '/'");
    auto path = dir.path / "good.json";
    std::ofstream(path) << good << "}";
    for (const auto& [bad, says] : std::vector<std::pair<std::string, std::string>>{
             {"/api/upload?x=1", "without a query"}, {"/s3/x", "taken by another route"}, {"/a/../b", "'..'"}}) {
        auto r = t::run_process({HOIST_BINARY, "serve", "--config", path.string(), "--api-path", bad},
                                {{"HOME", "/nonexistent"}}, 30);
        check_error(r, 2, "--api-path '" + bad + "': ");
        BOOST_TEST(r.err.find(says) != std::string::npos, r.err);
    }
}

BOOST_DATA_TEST_CASE(a_signal_aborts_the_multipart_upload, bdata::make({SIGINT, SIGTERM}), sig) {
    t::s3_test_server server;
    server.create_bucket("bucket");
    // Part 2 stalls (the server reads half of it, then stops reading for 20 s):
    // the upload is in flight when the signal comes.
    server.inject({t::s3_op::upload_part, 2}, {t::fault_kind::stall, 20000ms});
    temp_dir dir;
    auto file = dir.path / "data.bin";
    std::ofstream(file, std::ios::binary) << std::string(12 * 1024 * 1024 + 3, 'x');
    std::map<std::string, std::string> env{{"AWS_ACCESS_KEY_ID", server.config().access_key_id},
                                           {"AWS_SECRET_ACCESS_KEY", server.config().secret},
                                           {"HOME", "/nonexistent"}};
    std::atomic<int> pid{0};
    auto upload = std::async(std::launch::async, [&] {
        return t::run_process({HOIST_BINARY, "cp", file.string(), "s3://bucket/obj", "--endpoint-url",
                               server.endpoint_url(), "--ca-bundle", server.ca_file(), "--path-style", "--part-size",
                               "5MiB", "--multipart-threshold", "5MiB", "--quiet", "--json"},
                              env, 60, {}, -1, [&](int p) { pid = p; });
    });
    // All three parts have reached the server (at most 10 s), part 2 is stuck.
    bool in_flight = false;
    for (int i = 0; i < 1000 && !in_flight; ++i) {
        in_flight = server.statistics().by_op[t::s3_op::upload_part] >= 3;
        std::this_thread::sleep_for(10ms);
    }
    BOOST_REQUIRE_MESSAGE(in_flight && pid > 0, "the upload did not start");
    std::this_thread::sleep_for(100ms);
    ::kill(pid, sig);
    auto r = upload.get();
    BOOST_TEST(r.exit_code == 128 + sig, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(r.err.find("cancelled") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("aborted") != std::string::npos, r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, "one line: " << r.err);
    BOOST_TEST(r.err.find(server.config().secret) == std::string::npos);
    BOOST_TEST(r.out.find("\"aborted\":true") != std::string::npos, r.out);
    // On the server: aborted, no orphan, no object.
    BOOST_TEST(server.open_uploads().empty());
    BOOST_TEST(server.aborted_uploads().size() == 1u);
    BOOST_TEST(!server.object("bucket", "obj").has_value());
}

// hoist blocked before any request -- in open() of a FIFO that no writer opens
// (the engine waits there before its event loop, which the cancel cannot
// reach) -- still ends promptly on one signal, and nothing reached the server.
BOOST_DATA_TEST_CASE(a_signal_ends_hoist_blocked_before_the_upload, bdata::make({SIGINT, SIGTERM}), sig) {
    t::s3_test_server server;
    server.create_bucket("bucket");
    temp_dir dir;
    auto fifo = dir.path / "fifo";
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    background_run run({HOIST_BINARY, "cp", fifo.string(), "s3://bucket/obj", "--endpoint-url", server.endpoint_url(),
                        "--ca-bundle", server.ca_file(), "--path-style", "--quiet"},
                       server_env(server), 10);
    BOOST_REQUIRE_MESSAGE(run.started(), "hoist did not start watching its signals");
    std::this_thread::sleep_for(300ms);  // into open(), waiting for a writer
    BOOST_REQUIRE_MESSAGE(run.running(), "hoist ended without a writer");
    auto sent = std::chrono::steady_clock::now();
    run.signal(sig);
    auto r = run.result.get();
    double took = seconds_since(sent);
    BOOST_TEST(r.exit_code == 128 + sig, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(took < 3.0, "ended " << took << " s after the signal");
    BOOST_TEST(r.err.find("interrupted") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("before the upload started") != std::string::npos, r.err);
    BOOST_TEST(r.err.find(server.config().secret) == std::string::npos);
    BOOST_TEST(server.statistics().requests == 0, "no CreateMultipartUpload, no request at all");
}

// Blocked before the engine is even called -- reading a credentials file that
// is a FIFO -- one signal ends hoist at once.
BOOST_AUTO_TEST_CASE(a_signal_ends_hoist_blocked_reading_credentials) {
    temp_dir dir;
    auto fifo = dir.path / "credentials";
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    background_run run({HOIST_BINARY, "cp", "/dev/null", "s3://bucket/obj", "--endpoint-url=https://127.0.0.1:1"},
                       {{"AWS_SHARED_CREDENTIALS_FILE", fifo.string()}, {"HOME", "/nonexistent"}}, 10);
    BOOST_REQUIRE_MESSAGE(run.started(), "hoist did not start watching its signals (before reading credentials)");
    std::this_thread::sleep_for(300ms);
    BOOST_REQUIRE_MESSAGE(run.running(), "hoist ended without a writer");
    auto sent = std::chrono::steady_clock::now();
    run.signal(SIGTERM);
    auto r = run.result.get();
    BOOST_TEST(r.exit_code == 128 + SIGTERM, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(seconds_since(sent) < 3.0);
    BOOST_TEST(r.err.find("interrupted") != std::string::npos, r.err);
}

namespace {

// A multipart upload of three parts whose part 2 stalls at the server, with the
// AbortMultipartUpload answered after `abort_delay`; the first signal comes
// once all three parts are in flight. Returns when the process ended or the
// test gave up.
struct hanging_abort {
    t::s3_test_server server;
    temp_dir dir;
    std::unique_ptr<background_run> run;
    std::chrono::steady_clock::time_point first_signal;

    explicit hanging_abort(std::chrono::milliseconds abort_delay) {
        server.create_bucket("bucket");
        server.inject({t::s3_op::upload_part, 2}, {t::fault_kind::stall, 20000ms});
        server.inject({t::s3_op::abort, std::nullopt}, {t::fault_kind::slow_first_byte, abort_delay});
        auto file = dir.path / "data.bin";
        std::ofstream(file, std::ios::binary) << std::string(12 * 1024 * 1024 + 3, 'x');
        run = std::make_unique<background_run>(
            std::vector<std::string>{HOIST_BINARY, "cp", file.string(), "s3://bucket/obj", "--endpoint-url",
                                     server.endpoint_url(), "--ca-bundle", server.ca_file(), "--path-style",
                                     "--part-size", "5MiB", "--multipart-threshold", "5MiB", "--quiet", "--json"},
            server_env(server), 60);
    }
    // Waits (bounded) for the parts in flight, sends `sig`, waits for the abort request.
    void interrupt(int sig) {
        BOOST_REQUIRE_MESSAGE(run->started(), "hoist did not start watching its signals");
        bool in_flight = false;
        for (int i = 0; i < 1000 && !in_flight; ++i) {
            in_flight = server.statistics().by_op[t::s3_op::upload_part] >= 3;
            std::this_thread::sleep_for(10ms);
        }
        BOOST_REQUIRE_MESSAGE(in_flight, "the upload did not start");
        std::this_thread::sleep_for(100ms);
        first_signal = std::chrono::steady_clock::now();
        run->signal(sig);
        bool aborting = false;
        for (int i = 0; i < 1000 && !aborting; ++i) {
            aborting = server.statistics().by_op[t::s3_op::abort] >= 1;
            std::this_thread::sleep_for(10ms);
        }
        BOOST_REQUIRE_MESSAGE(aborting, "no AbortMultipartUpload after the signal");
    }
};

} // namespace

// One signal while the abort is slow: hoist waits for it (never exits with
// the upload left behind), says why it is still running, then reports it.
BOOST_AUTO_TEST_CASE(one_signal_waits_for_a_slow_abort) {
    hanging_abort h(3000ms);
    h.interrupt(SIGINT);
    auto r = h.run->result.get();
    double took = seconds_since(h.first_signal);
    BOOST_TEST(r.exit_code == 130, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(took >= 2.9, "ended " << took << " s after the signal (the abort is answered after 3 s)");
    BOOST_TEST(r.err.find("interrupt again") != std::string::npos, "the wait is explained: " << r.err);
    BOOST_TEST(r.err.find("(multipart upload aborted)") != std::string::npos, r.err);
    BOOST_TEST(r.out.find("\"aborted\":true") != std::string::npos, r.out);
    BOOST_TEST(h.server.open_uploads().empty());
    BOOST_TEST(h.server.aborted_uploads().size() == 1u);
}

// A second signal while the abort hangs ends hoist at once, saying what may
// be left on the server.
BOOST_AUTO_TEST_CASE(a_second_signal_ends_hoist_at_once) {
    hanging_abort h(20000ms);
    h.interrupt(SIGINT);
    // Past the notice (2 s): still running, the abort in flight.
    std::this_thread::sleep_until(h.first_signal + 2500ms);
    BOOST_REQUIRE_MESSAGE(h.run->running(), "the first signal ended hoist while its abort was in flight");
    auto sent = std::chrono::steady_clock::now();
    h.run->signal(SIGINT);
    auto r = h.run->result.get();
    double took = seconds_since(sent);
    BOOST_TEST(r.exit_code == 130, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(took < 2.0, "ended " << took << " s after the second signal (the abort hangs for 20 s)");
    BOOST_TEST(r.err.find("interrupted again") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("multipart upload may be left on the server") != std::string::npos, r.err);
    BOOST_TEST(r.err.find(h.server.config().secret) == std::string::npos);
}

// `hoist serve` shares the watcher: a signal stops the service (exit 0).
BOOST_AUTO_TEST_CASE(serve_stops_on_a_signal) {
    temp_dir dir;
    auto config = dir.path / "service.json";
    std::ofstream(config) << R"({"storage":{"endpoint":"https://127.0.0.1:9","region":"us-east-1","bucket":"bucket",
        "access_key_id":"AKID","secret_access_key":"cli-test-secret"},"token_secret":")"
                          << std::string(40, 's') << R"(","tokens":[{"sha256":")" << std::string(64, 'a')
                          << R"(","user":"alice"}]})";
    background_run run({HOIST_BINARY, "serve", "--config", config.string(), "--listen", "127.0.0.1:0", "--api-path",
                        "/api/upload"},
                       {{"HOME", "/nonexistent"}}, 10);
    BOOST_REQUIRE_MESSAGE(run.started(), "hoist serve did not start watching its signals");
    std::this_thread::sleep_for(300ms);
    BOOST_REQUIRE_MESSAGE(run.running(), "hoist serve ended by itself");
    run.signal(SIGTERM);
    auto r = run.result.get();
    BOOST_TEST(r.exit_code == 0, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(r.err.find("listening on") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("stopping") != std::string::npos, r.err);
}

// Resume (issue 15): hoist killed with SIGKILL at about half of its parts, run
// again with the same arguments, finishes byte-exact and sends at most ~55% of
// the bytes again (the server's count of stored part bytes says so). The
// journal lives under XDG_STATE_HOME, in the test's temporary directory.
BOOST_AUTO_TEST_CASE(a_killed_upload_resumes_on_the_next_run) {
    t::s3_test_server server;
    server.create_bucket("bucket");
    temp_dir dir;
    auto file = dir.path / "data.bin";
    std::string data(50 * 1024 * 1024, '\0');   // 10 parts of 5 MiB
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
    std::ofstream(file, std::ios::binary) << data;
    auto env = server_env(server);
    env["XDG_STATE_HOME"] = (dir.path / "state").string();
    const auto journals = dir.path / "state" / "hoist" / "uploads";
    // Parts 6 to 10 answer late: the kill lands while they are in flight.
    for (std::uint32_t n = 6; n <= 10; ++n)
        server.inject({t::s3_op::upload_part, n}, {t::fault_kind::slow_first_byte, 1500ms});
    const std::vector<std::string> args{HOIST_BINARY, "cp", file.string(), "s3://bucket/obj", "--endpoint-url",
                                        server.endpoint_url(), "--ca-bundle", server.ca_file(), "--path-style",
                                        "--part-size", "5MiB", "--concurrency", "2", "--quiet", "--json"};
    // The parts the journal holds, as hoist recorded them.
    auto journaled = [&] {
        int lines = 0;
        if (!fs::exists(journals)) return lines;
        for (const auto& f : fs::directory_iterator(journals)) {
            std::ifstream in(f.path());
            std::string line;
            while (std::getline(in, line)) lines += line.starts_with("{\"part\":");
        }
        return lines;
    };
    {
        background_run run(args, env, 60);
        bool half = false;
        for (int i = 0; i < 5000 && !half && run.running(); ++i) {   // at most ~10 s
            half = journaled() >= 5;
            if (!half) std::this_thread::sleep_for(2ms);
        }
        BOOST_REQUIRE_MESSAGE(half, "hoist did not record 5 parts");
        run.signal(SIGKILL);
        auto r = run.result.get();
        BOOST_TEST(r.exit_code == 128 + SIGKILL);
    }
    BOOST_TEST(server.open_uploads().size() == 1u);
    // UploadParts counted when their headers arrive: a part of the killed run
    // that the server still finishes storing after the kill is not counted
    // as the second run's (its stored bytes would be). Every part is 5 MiB.
    // The killed run's last request may still sit in the server's socket
    // buffer and be parsed after the kill (a CI run under load counted one
    // such request as the second run's): wait until the count has not moved
    // for 500 ms (at most ~5 s) before taking it.
    auto part_requests = [&] { return server.statistics().by_op[t::s3_op::upload_part]; };
    int requests_before = part_requests();
    for (int quiet = 0, i = 0; quiet < 10 && i < 100; ++i) {
        std::this_thread::sleep_for(50ms);
        const int now = part_requests();
        quiet = now == requests_before ? quiet + 1 : 0;
        requests_before = now;
    }

    auto r = t::run_process(args, env, 60);
    BOOST_TEST(r.exit_code == 0, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST((server.object("bucket", "obj") == data), "the object differs from the file");
    const std::uint64_t sent_again = static_cast<std::uint64_t>(part_requests() - requests_before) * 5 * 1024 * 1024;
    BOOST_TEST_MESSAGE("killed with " << requests_before << " UploadPart requests made; the second run sent "
                                      << sent_again << " of " << data.size() << " bytes; stdout: " << r.out);
    BOOST_TEST(sent_again <= data.size() * 55 / 100, sent_again << " of " << data.size() << " bytes sent again");
    BOOST_TEST(sent_again > 0u);
    BOOST_TEST(r.out.find("\"bytes_resumed\":" + std::to_string(data.size() - sent_again)) != std::string::npos,
               r.out);
    BOOST_TEST(server.open_uploads().empty());
    BOOST_TEST(journaled() == 0, "the completed upload's journal entry is removed");
}

// Ctrl-C with --keep-on-failure: the message says the upload can go on, and
// the next run continues it; --no-resume neither continues nor records.
BOOST_AUTO_TEST_CASE(keep_on_failure_says_the_upload_resumes_and_no_resume_starts_over) {
    t::s3_test_server server;
    server.create_bucket("bucket");
    server.inject({t::s3_op::upload_part, 3}, {t::fault_kind::stall, 20000ms});
    temp_dir dir;
    auto file = dir.path / "data.bin";
    std::string data(15 * 1024 * 1024, 'r');
    std::ofstream(file, std::ios::binary) << data;
    auto env = server_env(server);
    env["XDG_STATE_HOME"] = (dir.path / "state").string();
    std::vector<std::string> args{HOIST_BINARY, "cp", file.string(), "s3://bucket/obj", "--endpoint-url",
                                  server.endpoint_url(), "--ca-bundle", server.ca_file(), "--path-style",
                                  "--part-size", "5MiB", "--concurrency", "3"};
    {
        auto keep = args;
        keep.push_back("--keep-on-failure");
        keep.push_back("--quiet");
        background_run run(keep, env, 60);
        BOOST_REQUIRE(run.started());
        bool in_flight = false;
        for (int i = 0; i < 1000 && !in_flight; ++i) {
            in_flight = server.statistics().by_op[t::s3_op::upload_part] >= 3;
            std::this_thread::sleep_for(10ms);
        }
        BOOST_REQUIRE(in_flight);
        // Parts 1 and 2 stored (part 3 stalls), so the journal has parts to
        // keep; then a moment for hoist to read their answers (a slow machine
        // may still record fewer: the checks below hold either way).
        for (int i = 0; i < 1000 && server.statistics().part_bytes < 10 * 1024 * 1024; ++i)
            std::this_thread::sleep_for(10ms);
        std::this_thread::sleep_for(200ms);
        run.signal(SIGINT);
        auto r = run.result.get();
        BOOST_TEST(r.exit_code == 130, "exit " << r.exit_code << ", stderr: " << r.err);
        BOOST_TEST(r.err.find("again resumes it") != std::string::npos, r.err);
    }
    BOOST_REQUIRE(server.open_uploads().size() == 1u);
    const auto kept = server.open_uploads().front();

    auto no_resume = args;
    no_resume.push_back("--no-resume");
    auto fresh = t::run_process(no_resume, env, 60);
    BOOST_TEST(fresh.exit_code == 0, fresh.err);
    BOOST_TEST(fresh.err.find("resumed") == std::string::npos, fresh.err);
    BOOST_TEST(server.open_uploads().size() == 1u, "--no-resume leaves the kept upload alone");

    auto resumed_args = args;
    resumed_args.push_back("--json");
    auto resumed = t::run_process(resumed_args, env, 60);
    BOOST_TEST(resumed.exit_code == 0, resumed.err);
    // The kept upload is the one completed (not a new one)...
    BOOST_TEST(resumed.out.find("\"upload_id\":\"" + kept + "\"") != std::string::npos, resumed.out);
    // ...and the parts it already held were not sent again, when the first run
    // lived to record them.
    if (resumed.out.find("\"parts_resumed\":0") == std::string::npos)
        BOOST_TEST(resumed.err.find("resumed upload " + kept) != std::string::npos, resumed.err);
    BOOST_TEST((server.object("bucket", "obj") == data));
    BOOST_TEST(server.open_uploads().empty());
}

BOOST_AUTO_TEST_SUITE_END()
