// hoist against Ceph's RADOS Gateway (tools/rgw-local), a real distributed
// S3 implementation (issue 17). Unlike s3rver, RGW verifies every SigV4
// signature and Content-MD5, has ListParts, Abort and ListMultipartUploads,
// and enforces the 5 MiB part minimum. Like RGW 16 and many stores in the
// field, it accepts x-amz-checksum-crc32c and ignores it: hoist must notice
// and have the store verify Content-MD5 instead ("checksum":"md5").
// Objects are read back through URLs from `hoist presign` (so presigned GETs
// are tested too) with curl, and compared byte for byte.
#include "process.hpp"
#include "rgw.hpp"

#include "hoist/serve/service.hpp"
#include "hoist/sigv4/encoding.hpp"

#include <boost/json.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace t = hoist::test;
namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;
using namespace std::chrono_literals;

namespace {

const std::string bucket = "interop";
constexpr std::size_t mib = 1024 * 1024;

// One cluster for the whole executable, started by the first test that needs
// it (~4 s). If it cannot start, every test fails with the reason.
t::rgw_instance& rgw() {
    static t::rgw_instance instance({bucket});
    return instance;
}

struct temp_dir {
    fs::path path;
    temp_dir() {
        static int n = 0;
        path = fs::temp_directory_path() / ("hoist-rgw-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string random_bytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        std::uint64_t v = rng();
        for (std::size_t j = 0; j < 8 && i + j < size; ++j) bytes[i + j] = static_cast<char>(v >> (8 * j));
    }
    return bytes;
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    BOOST_TEST_REQUIRE(out.good());
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The environment hoist runs in: RGW's credentials from its file (never on a
// command line), no developer configuration, a state directory of the test's.
std::map<std::string, std::string> env(const fs::path& state = {}) {
    std::map<std::string, std::string> e{{"AWS_SHARED_CREDENTIALS_FILE", rgw().credentials_file()},
                                         {"AWS_CONFIG_FILE", "/nonexistent"},
                                         {"HOME", "/nonexistent"}};
    if (!state.empty()) e["XDG_STATE_HOME"] = state.string();
    return e;
}

// hoist SUBCOMMAND ARGS... against RGW's HTTPS endpoint.
std::vector<std::string> hoist_args(std::vector<std::string> args, const std::string& endpoint = {}) {
    args.insert(args.begin(), HOIST_BINARY);
    args.push_back("--endpoint-url");
    args.push_back(endpoint.empty() ? rgw().endpoint() : endpoint);
    // hoist presign only signs (no connection, no --ca-bundle).
    if ((endpoint.empty() || endpoint.starts_with("https:")) && args[1] != "presign") {
        args.push_back("--ca-bundle");
        args.push_back(rgw().ca_file());
    }
    return args;
}

boost::json::object json_line(const std::string& out) {
    try {
        auto v = boost::json::parse(out);
        if (v.is_object()) return v.as_object();
    } catch (const std::exception&) {
    }
    BOOST_FAIL("not one JSON object: " << out);
    return {};
}

// The object as RGW serves it to a presigned GET (hoist presign + curl).
std::optional<std::string> fetch(const std::string& key) {
    auto url = t::run_process(hoist_args({"presign", "s3://" + bucket + "/" + key}), env(), 30);
    if (url.exit_code != 0) {
        BOOST_ERROR("hoist presign failed: " << url.err);
        return std::nullopt;
    }
    std::string link = url.out.substr(0, url.out.find('\n'));
    temp_dir dir;
    auto out = dir.path / "object";
    auto r = t::run_process({"/usr/bin/curl", "-s", "--max-time", "60", "--cacert", rgw().ca_file(), "-o", out.string(), "-w",
                             "%{http_code}", link},
                            {{"PATH", "/usr/local/bin:/usr/bin:/bin"}}, 90);
    if (r.exit_code != 0 || r.out != "200") {
        BOOST_TEST_MESSAGE("presigned GET of " << key << ": curl exit " << r.exit_code << ", HTTP " << r.out);
        return std::nullopt;
    }
    return read_file(out);
}

void require_stored(const std::string& key, const std::string& content) {
    auto stored = fetch(key);
    BOOST_TEST_REQUIRE(stored.has_value(), "RGW has no " << key);
    BOOST_TEST(stored->size() == content.size());
    if (*stored != content) {
        std::size_t i = 0;
        while (i < stored->size() && i < content.size() && (*stored)[i] == content[i]) ++i;
        BOOST_ERROR("stored bytes differ from the file's, first at offset " << i);
    }
}

// The in-progress multipart uploads under `prefix`, as hoist uploads ls --json sees them.
std::vector<boost::json::object> open_uploads(const std::string& prefix) {
    auto r = t::run_process(hoist_args({"uploads", "ls", "s3://" + bucket + "/" + prefix, "--json"}), env(), 30);
    BOOST_TEST_REQUIRE(r.exit_code == 0, "hoist uploads ls: " << r.err);
    std::vector<boost::json::object> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
        if (!line.empty()) out.push_back(json_line(line));
    return out;
}

// Uploads `size` seeded random bytes with hoist cp at 5 MiB parts (so 5 MiB + 1
// is two parts, the second of one byte: RGW's minimum-size rule at its edge)
// and checks the report and the stored bytes.
void upload_and_compare(std::size_t size, const std::string& key) {
    temp_dir dir;
    const std::string content = random_bytes(size, 0x26a0000 + size);
    const fs::path file = dir.path / "upload.bin";
    write_file(file, content);
    auto r = t::run_process(hoist_args({"cp", file.string(), "s3://" + bucket + "/" + key, "--json", "--quiet",
                                        "--part-size", "5MiB", "--multipart-threshold", "5MiB"}),
                            env(dir.path / "state"), 180);
    BOOST_TEST_REQUIRE(r.exit_code == 0, "hoist cp exited " << r.exit_code << "; stderr: " << r.err);
    auto o = json_line(r.out);
    BOOST_TEST(o.at("bytes").to_number<std::uint64_t>() == size);
    const std::uint64_t parts = size < 5 * mib ? 1 : (size + 5 * mib - 1) / (5 * mib);
    BOOST_TEST(o.at("parts").to_number<std::uint64_t>() == parts);
    BOOST_TEST(o.at("method").as_string() == (size < 5 * mib ? "put" : "multipart"));
    // RGW ignores x-amz-checksum-crc32c: the check it did make is Content-MD5.
    BOOST_TEST(o.at("checksum").as_string() == "md5", r.out);
    BOOST_TEST(!o.contains("integrity_note"), r.out);
    BOOST_TEST(r.err.find("warning") == std::string::npos, r.err);
    BOOST_TEST_MESSAGE(size << " B: " << r.out);
    require_stored(key, content);
    BOOST_TEST(open_uploads(key).empty());
}

// A TCP relay to RGW's plain-HTTP endpoint that damages one byte in flight:
// 4096 bytes into the body of the first request for part `part` of any upload
// (TLS would make a damaged byte a failed record; a real path without TLS, or
// a faulty middlebox behind a TLS terminator, delivers it). Every connection
// is two pumps; the destructor closes the sockets and joins them.
class corrupting_relay {
public:
    corrupting_relay(std::uint16_t target_port, int part) : target_port_(target_port), marker_("partNumber=" + std::to_string(part) + "&") {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener_, 64) != 0)
            throw std::runtime_error("corrupting_relay: cannot listen");
        socklen_t len = sizeof a;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~corrupting_relay() {
        stop_ = true;
        acceptor_.join();
        std::lock_guard lock(mu_);
        for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
        for (auto& th : pumps_) th.join();
        for (int fd : fds_) ::close(fd);
        ::close(listener_);
    }
    std::uint16_t port() const { return port_; }
    bool damaged() const { return damaged_; }

private:
    void accept_loop() {
        while (!stop_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) continue;
            int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            a.sin_port = htons(target_port_);
            if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
                ::close(client);
                ::close(server);
                continue;
            }
            std::lock_guard lock(mu_);
            fds_.insert(fds_.end(), {client, server});
            pumps_.emplace_back([this, client, server] { pump(client, server, true); });
            pumps_.emplace_back([this, client, server] { pump(server, client, false); });
        }
    }

    // Copies until either side closes; upstream, watches for the marker.
    void pump(int from, int to, bool upstream) {
        std::string window;        // the request head so far (upstream)
        long body_offset = -1;     // bytes into the marked request's body; -1: not in one
        char buf[65536];
        for (;;) {
            pollfd p{from, POLLIN, 0};
            int n = ::poll(&p, 1, 30'000);   // a silent minute ends the pump
            if (n <= 0) break;
            ssize_t got = ::recv(from, buf, sizeof buf, 0);
            if (got <= 0) break;
            if (upstream && !damaged_) {
                for (ssize_t i = 0; i < got; ++i) {
                    if (body_offset >= 0) {
                        if (body_offset++ == 4096 && !damaged_.exchange(true)) buf[i] ^= 0x5a;
                        continue;
                    }
                    window.push_back(buf[i]);
                    if (window.ends_with("\r\n\r\n")) {
                        if (window.find(marker_) != std::string::npos && window.starts_with("PUT ")) body_offset = 0;
                        window.clear();
                    }
                    if (window.size() > 65536) window.clear();
                }
            }
            for (ssize_t sent = 0; sent < got;) {
                ssize_t w = ::send(to, buf + sent, static_cast<std::size_t>(got - sent), MSG_NOSIGNAL);
                if (w <= 0) return;
                sent += w;
            }
        }
        ::shutdown(to, SHUT_WR);
    }

    std::uint16_t target_port_;
    std::string marker_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false}, damaged_{false};
    std::thread acceptor_;
    std::mutex mu_;
    std::vector<int> fds_;
    std::vector<std::thread> pumps_;
};

std::uint16_t port_of(const std::string& url) {
    return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// The lines of the journal files hoist keeps under XDG_STATE_HOME: its
// record of parts the store acknowledged.
int journaled_parts(const fs::path& state) {
    int lines = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(state / "hoist", ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        std::ifstream in(it->path());
        for (std::string line; std::getline(in, line);) lines += line.starts_with("{\"part\":");
    }
    return lines;
}

// hoist cp killed with SIGKILL once `parts` parts are journaled: an
// interrupted upload left on the store.
void kill_midway(const std::vector<std::string>& args, const fs::path& state, int parts) {
    std::atomic<int> pid{0};
    auto run = std::async(std::launch::async, [&] {
        return t::run_process(args, env(state), 120, {}, -1, [&](int p) { pid = p; });
    });
    bool reached = false;
    for (int i = 0; i < 3000 && !reached; ++i) {   // at most ~60 s
        if (run.wait_for(20ms) == std::future_status::ready) break;
        reached = journaled_parts(state) >= parts;
    }
    if (reached && pid > 0) ::kill(pid, SIGKILL);
    auto r = run.get();
    BOOST_TEST_REQUIRE(reached, "hoist did not journal " << parts << " parts; exit " << r.exit_code << ": " << r.err);
    BOOST_TEST(r.exit_code == 128 + SIGKILL);
}

const std::size_t sizes[] = {0, 1, 5 * mib + 1, 64 * mib};

} // namespace

BOOST_AUTO_TEST_SUITE(interop_rgw)

BOOST_DATA_TEST_CASE(cp_stores_the_file_byte_exact_and_rgw_verifies_md5, bdata::make(sizes), size) {
    upload_and_compare(size, "sizes/object-" + std::to_string(size) + ".bin");
}

BOOST_AUTO_TEST_CASE(cp_key_with_spaces_unicode_and_plus) {
    upload_and_compare(5 * mib + 1, "odd keys/a b+c=d ünï cødé ✓ (1)~.bin");
}

BOOST_AUTO_TEST_CASE(cp_from_stdin_is_a_multipart_stream) {
    const std::string content = random_bytes(11 * mib + 3, 0x57d1);
    temp_dir dir;
    auto r = t::run_process(hoist_args({"cp", "-", "s3://" + bucket + "/stdin.bin", "--json", "--quiet", "--part-size",
                                        "5MiB"}),
                            env(dir.path / "state"), 120, content);
    BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
    auto o = json_line(r.out);
    BOOST_TEST(o.at("method").as_string() == "multipart");
    BOOST_TEST(o.at("parts").to_number<int>() == 3);
    BOOST_TEST(o.at("checksum").as_string() == "md5");
    require_stored("stdin.bin", content);
}

// RGW checks signatures (s3rver does not): a wrong secret is refused, said
// clearly, and never printed.
BOOST_AUTO_TEST_CASE(a_wrong_secret_is_refused_clearly) {
    temp_dir dir;
    auto creds = dir.path / "credentials";
    const std::string wrong = "wrong-secret-for-the-test-0123456789abcd";
    std::ofstream(creds) << "[default]\naws_access_key_id = " << rgw().access_key_id()
                         << "\naws_secret_access_key = " << wrong << "\n";
    auto file = dir.path / "f.bin";
    write_file(file, "hello");
    auto e = env();
    e["AWS_SHARED_CREDENTIALS_FILE"] = creds.string();
    auto r = t::run_process(hoist_args({"cp", file.string(), "s3://" + bucket + "/wrong-secret.bin", "--retries", "1"}),
                            e, 60);
    BOOST_TEST(r.exit_code == 1, "exit " << r.exit_code << ": " << r.err);
    BOOST_TEST(r.err.find("SignatureDoesNotMatch") != std::string::npos, r.err);
    BOOST_TEST(r.err.find(wrong) == std::string::npos);
    BOOST_TEST(!fetch("wrong-secret.bin").has_value());
}

// Issue 17's acceptance test: a part damaged on the way is refused by RGW
// (Content-MD5, 400 BadDigest), sent again, and the object is byte-exact.
BOOST_AUTO_TEST_CASE(a_part_damaged_in_flight_is_refused_by_rgw_and_sent_again) {
    corrupting_relay relay(port_of(rgw().http_endpoint()), 2);
    temp_dir dir;
    const std::string content = random_bytes(17 * mib, 0xbad);
    auto file = dir.path / "f.bin";
    write_file(file, content);
    auto r = t::run_process(hoist_args({"cp", file.string(), "s3://" + bucket + "/damaged.bin", "--json", "--quiet",
                                        "--part-size", "5MiB"},
                                       "http://127.0.0.1:" + std::to_string(relay.port())),
                            env(dir.path / "state"), 120);
    BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
    BOOST_TEST(relay.damaged());
    auto o = json_line(r.out);
    BOOST_TEST(o.at("retries").to_number<int>() >= 1, r.out);
    BOOST_TEST(o.at("checksum").as_string() == "md5");
    require_stored("damaged.bin", content);
}

// Resume against a store with ListParts: killed, listed, resumed; then an
// orphan cleaned up with hoist uploads abort.
BOOST_AUTO_TEST_CASE(a_killed_upload_is_listed_resumed_and_orphans_are_aborted) {
    temp_dir dir;
    const std::string content = random_bytes(40 * mib, 0x2e5);
    auto file = dir.path / "big.bin";
    write_file(file, content);
    const auto state = dir.path / "state";
    // 8 parts of 5 MiB at 20 MB/s: ~2 s, killed at half.
    auto args = hoist_args({"cp", file.string(), "s3://" + bucket + "/resume/big.bin", "--json", "--quiet",
                            "--part-size", "5MiB", "--concurrency", "2", "--max-bandwidth", "20MB/s"});
    kill_midway(args, state, 4);
    auto left = open_uploads("resume/");
    BOOST_TEST_REQUIRE(left.size() == 1u);
    BOOST_TEST(left[0].at("key").as_string() == "resume/big.bin");
    BOOST_TEST(left[0].at("parts").to_number<int>() >= 4);

    auto r = t::run_process(args, env(state), 120);
    BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
    auto o = json_line(r.out);
    BOOST_TEST(o.at("parts_resumed").to_number<int>() >= 4, r.out);
    BOOST_TEST(o.at("bytes_resumed").to_number<std::uint64_t>() >= 20 * mib, r.out);
    BOOST_TEST(o.at("upload_id").as_string() == left[0].at("upload_id").as_string());
    require_stored("resume/big.bin", content);
    BOOST_TEST(open_uploads("resume/").empty());

    // An orphan (the journal is another run's, in another state directory).
    auto orphan_args = hoist_args({"cp", file.string(), "s3://" + bucket + "/orphans/big.bin", "--quiet",
                                   "--part-size", "5MiB", "--concurrency", "2", "--max-bandwidth", "20MB/s"});
    kill_midway(orphan_args, dir.path / "state2", 2);
    BOOST_TEST_REQUIRE(open_uploads("orphans/").size() == 1u);
    auto dry = t::run_process(hoist_args({"uploads", "abort", "s3://" + bucket + "/orphans/", "--dry-run"}), env(), 30);
    BOOST_TEST(dry.exit_code == 0, dry.err);
    BOOST_TEST(open_uploads("orphans/").size() == 1u);
    auto abort = t::run_process(hoist_args({"uploads", "abort", "s3://" + bucket + "/orphans/"}), env(), 30);
    BOOST_TEST(abort.exit_code == 0, abort.err);
    BOOST_TEST(open_uploads("orphans/").empty());
}

BOOST_AUTO_TEST_CASE(sync_uploads_nothing_the_second_time) {
    temp_dir dir;
    auto tree = dir.path / "tree";
    fs::create_directories(tree / "a" / "b");
    const std::vector<std::pair<std::string, std::string>> files{
        {"top.txt", "top"}, {"a/one.bin", random_bytes(1000, 1)}, {"a/b/two.bin", random_bytes(6 * mib, 2)}};
    for (const auto& [name, data] : files) write_file(tree / name, data);
    auto sync = [&] {
        auto r = t::run_process(hoist_args({"sync", tree.string(), "s3://" + bucket + "/sync/", "--json", "--quiet"}),
                                env(dir.path / "state"), 120);
        BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
        auto last = r.out.substr(r.out.rfind("{\"summary\""));
        return json_line(last);
    };
    auto first = sync();
    BOOST_TEST(first.at("uploaded").to_number<int>() == 3);
    for (const auto& [name, data] : files) require_stored("sync/" + name, data);
    auto second = sync();
    BOOST_TEST(second.at("uploaded").to_number<int>() == 0);
    BOOST_TEST(second.at("unchanged").to_number<int>() == 3);
}

// hoist serve with RGW as its storage, hoist cp --via through it: presigned
// part URLs that RGW verifies, Complete by the service.
BOOST_AUTO_TEST_CASE(cp_via_the_presign_service_with_rgw_as_storage) {
    auto& s = rgw();
    std::string secret;
    {
        std::ifstream in(s.credentials_file());
        for (std::string line; std::getline(in, line);)
            if (line.starts_with("aws_secret_access_key = ")) secret = line.substr(24);
    }
    BOOST_TEST_REQUIRE(!secret.empty());
    const std::string token = "rgw-interop-bearer-token";
    hoist::engine::service_options opt;
    opt.config = hoist::protocol::parse_service_config(
        R"({"listen":"127.0.0.1:0","storage":{"endpoint":")" + s.endpoint() + R"(","region":"us-east-1","bucket":")" +
        bucket + R"(","path_style":true,"ca_bundle":")" + s.ca_file() + R"("},
           "token_secret":"rgw-interop-service-secret-of-32-bytes-or-more",
           "tokens":[{"sha256":")" + hoist::sigv4::sha256_hex(token) + R"(","user":"carol"}],"part_size":5242880})");
    opt.storage_credentials.access_key_id = s.access_key_id();
    opt.storage_credentials.secret_access_key = hoist::sigv4::secret_string(secret);
    opt.log = [](std::string_view) {};
    std::promise<std::uint16_t> port;
    opt.on_listening = [&](std::uint16_t p) { port.set_value(p); };
    hoist::engine::cancel_token cancel;
    std::thread service([&] { hoist::engine::run_service(opt, cancel); });
    struct stop_service {
        hoist::engine::cancel_token& c;
        std::thread& t;
        ~stop_service() {
            c.cancel();
            t.join();
        }
    } stopper{cancel, service};
    auto f = port.get_future();
    BOOST_REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    std::string url = "http://127.0.0.1:" + std::to_string(f.get());

    temp_dir dir;
    for (std::size_t size : {std::size_t{1000}, 12 * mib + 1}) {
        BOOST_TEST_CONTEXT("size " << size) {
            auto file = dir.path / ("via-" + std::to_string(size) + ".bin");
            const auto content = random_bytes(size, 0x71a + size);
            write_file(file, content);
            auto r = t::run_process({HOIST_BINARY, "cp", file.string(), "--via", url, "--token", token, "--ca-bundle",
                                     s.ca_file(), "--json", "--quiet"},
                                    {{"HOME", "/nonexistent"}, {"XDG_STATE_HOME", (dir.path / "state").string()}}, 180);
            BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
            auto o = json_line(r.out);
            BOOST_TEST(o.at("method").as_string() == (size < 8 * mib ? "single-put" : "presigned-s3"));
            BOOST_TEST(o.at("checksum").as_string() == "md5");
            std::string key(o.at("key").as_string());
            BOOST_TEST(key.starts_with("uploads/carol/carol_"));
            require_stored(key, content);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
