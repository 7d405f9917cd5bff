#include "s3rver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hoist::test {

namespace fs = std::filesystem;

namespace {

constexpr int startup_seconds = 30;
constexpr int stop_seconds = 10;

const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string search_path() {
    const char* p = std::getenv("PATH");
    return p && *p ? p : default_path;
}

bool on_path(const std::string& program, const std::string& path) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty()) continue;
        if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    }
    return false;
}

std::string read_all(int fd) {
    std::string text;
    char buf[4096];
    for (off_t at = 0;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
    return text;
}

} // namespace

s3rver_instance::s3rver_instance(const std::vector<std::string>& buckets) {
    const std::string root = HOIST_SOURCE_DIR;
    const std::string script = root + "/tools/s3rver-local";
    const std::string path = search_path();
    if (::access(script.c_str(), X_OK) != 0) throw std::runtime_error("s3rver_instance: " + script + " is missing");
    if (!on_path("node", path))
        throw std::runtime_error("s3rver_instance: node is not installed (not on PATH); run tools/install-deps");
    if (!fs::exists(root + "/tools/node/node_modules/s3rver/package.json"))
        throw std::runtime_error("s3rver_instance: s3rver is not installed in " + root +
                                 "/tools/node/node_modules; run tools/install-deps");

    // The server's stderr goes to a file: it is silent unless something fails,
    // and then the file says why. Unlinked at once: nothing is left behind
    // even if this process is killed.
    std::string log_template = (fs::temp_directory_path() / "hoist-s3rver-log.XXXXXX").string();
    log_fd_ = ::mkostemp(log_template.data(), O_CLOEXEC);
    if (log_fd_ < 0) throw std::runtime_error("s3rver_instance: cannot create a log file");
    ::unlink(log_template.c_str());

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(log_fd_);
        throw std::runtime_error("s3rver_instance: pipe failed");
    }

    // A controlled environment: only what node, openssl and curl need.
    std::vector<std::string> env_strings = {"PATH=" + path, "LC_ALL=C.UTF-8"};
    if (const char* tmp = std::getenv("TMPDIR")) env_strings.push_back(std::string("TMPDIR=") + tmp);
    std::vector<std::string> argv_strings = {script};
    for (const auto& b : buckets) argv_strings.insert(argv_strings.end(), {"--bucket", b});
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        for (int fd : {out[0], out[1], log_fd_}) ::close(fd);
        throw std::runtime_error("s3rver_instance: fork failed");
    }
    if (pid == 0) {
        // Its own process group, so that stop() reaches node too; and a
        // SIGTERM if the test process dies without running the destructor.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) _exit(1);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);
        int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        ::dup2(out[1], 1);
        ::dup2(log_fd_, 2);
        ::close_range(3, ~0U, 0);
        ::execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    ::setpgid(pid, pid); // also here: whichever runs first
    pid_ = pid;
    ::close(out[1]);

    // Four lines, KEY=VALUE, the last HOIST_S3_READY=1; bounded.
    std::string buffer;
    bool ready = false;
    const char* why = "it exited";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(startup_seconds);
    while (!ready) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            why = "it did not report ready within 30 s";
            break;
        }
        pollfd p{out[0], POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            why = "poll failed";
            break;
        }
        if (n == 0) continue;
        char buf[4096];
        ssize_t got = ::read(out[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break; // EOF: the script ended
        buffer.append(buf, static_cast<std::size_t>(got));
        for (std::size_t eol; (eol = buffer.find('\n')) != std::string::npos; buffer.erase(0, eol + 1)) {
            std::string line = buffer.substr(0, eol);
            auto eq = line.find('=');
            if (eq == std::string::npos) continue;
            std::string key = line.substr(0, eq), value = line.substr(eq + 1);
            if (key == "HOIST_S3_ENDPOINT") endpoint_ = value;
            else if (key == "HOIST_S3_CA") ca_file_ = value;
            else if (key == "HOIST_S3_DATA") data_dir_ = value;
            else if (key == "HOIST_S3_READY" && value == "1") ready = true;
        }
    }
    ::close(out[0]);
    if (!ready || endpoint_.empty() || ca_file_.empty() || data_dir_.empty()) {
        stop();
        std::string log = read_all(log_fd_);
        ::close(log_fd_);
        if (ready) why = "it did not report all of HOIST_S3_ENDPOINT, HOIST_S3_CA and HOIST_S3_DATA";
        throw std::runtime_error("s3rver_instance: tools/s3rver-local failed to start (" + std::string(why) + ")" +
                                 (log.empty() ? std::string() : ": " + log));
    }
}

s3rver_instance::~s3rver_instance() {
    bool died_early = !running();
    stop();
    std::string log = read_all(log_fd_);
    ::close(log_fd_);
    if (died_early) std::cerr << "s3rver_instance: the server exited before the test ended; its log:\n" << log;
    else if (!log.empty()) std::cerr << "s3rver_instance: the server's log:\n" << log;
}

void s3rver_instance::stop() {
    if (pid_ <= 0) return;
    if (!reaped_) terminate_group();
    pid_ = -1;
    // The script removes its directory itself; if it was killed, do it here.
    if (!data_dir_.empty()) {
        fs::path dir = fs::path(data_dir_).parent_path();
        std::error_code ec;
        if (dir.filename().string().starts_with("hoist-s3rver.") && fs::exists(dir, ec)) fs::remove_all(dir, ec);
    }
}

void s3rver_instance::terminate_group() {
    ::kill(-pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(stop_seconds);
    bool reaped = false;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || (r < 0 && errno == ECHILD)) {
            reaped = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!reaped) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    ::kill(-pid_, SIGKILL); // a node the script could not stop (no-op when the group is gone)
    reaped_ = true;
}

bool s3rver_instance::running() {
    if (pid_ <= 0 || reaped_) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    reaped_ = true; // stop() must not signal a pid that may be reused
    return false;
}

std::string s3rver_instance::object_path(const std::string& bucket, const std::string& key) const {
    return data_dir_ + "/" + bucket + "/" + key + "._S3rver_object";
}

std::optional<std::string> s3rver_instance::stored_object(const std::string& bucket, const std::string& key) const {
    std::string path = object_path(bucket, key);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string bytes(static_cast<std::size_t>(fs::file_size(path)), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<std::size_t>(in.gcount()) != bytes.size()) return std::nullopt;
    return bytes;
}

std::vector<std::string> s3rver_instance::pending_uploads(const std::string& bucket) const {
    std::vector<std::string> ids;
    std::error_code ec;
    for (fs::directory_iterator it(data_dir_ + "/" + bucket + "/._S3rver_uploads", ec), end; !ec && it != end;
         it.increment(ec))
        ids.push_back(it->path().filename().string());
    return ids;
}

std::string s3rver_instance::log() const { return read_all(log_fd_); }

} // namespace hoist::test
