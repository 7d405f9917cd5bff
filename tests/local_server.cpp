#include "local_server.hpp"

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
#include <iostream>
#include <stdexcept>
#include <thread>

namespace hoist::test {

namespace fs = std::filesystem;

namespace {

constexpr int stop_seconds = 10;

const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string search_path() {
    const char* p = std::getenv("PATH");
    return p && *p ? p : default_path;
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

local_server_script::local_server_script(std::string name, const std::string& script,
                                         const std::vector<std::string>& args,
                                         const std::vector<std::string>& required, int startup_seconds)
    : name_(std::move(name)) {
    if (::access(script.c_str(), X_OK) != 0) throw std::runtime_error(name_ + ": " + script + " is missing");

    // The script's stderr goes to a file: it is silent unless something fails,
    // and then the file says why. Unlinked at once: nothing is left behind
    // even if this process is killed.
    std::string log_template = (fs::temp_directory_path() / "hoist-server-log.XXXXXX").string();
    log_fd_ = ::mkostemp(log_template.data(), O_CLOEXEC);
    if (log_fd_ < 0) throw std::runtime_error(name_ + ": cannot create a log file");
    ::unlink(log_template.c_str());

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(log_fd_);
        throw std::runtime_error(name_ + ": pipe failed");
    }

    // A controlled environment: only what the script and its server need.
    std::vector<std::string> env_strings = {"PATH=" + search_path(), "LC_ALL=C.UTF-8"};
    if (const char* tmp = std::getenv("TMPDIR")) env_strings.push_back(std::string("TMPDIR=") + tmp);
    std::vector<std::string> argv_strings = {script};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        for (int fd : {out[0], out[1], log_fd_}) ::close(fd);
        throw std::runtime_error(name_ + ": fork failed");
    }
    if (pid == 0) {
        // Its own process group, so that stop() reaches the server too; and a
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

    // KEY=VALUE lines, the last HOIST_S3_READY=1; bounded.
    std::string buffer;
    bool ready = false;
    std::string why = "it exited";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(startup_seconds);
    while (!ready) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            why = "it did not report ready within " + std::to_string(startup_seconds) + " s";
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
            values_[line.substr(0, eq)] = line.substr(eq + 1);
            if (line == "HOIST_S3_READY=1") ready = true;
        }
    }
    ::close(out[0]);
    std::string missing;
    for (const auto& key : required)
        if (value(key).empty()) missing += (missing.empty() ? "" : ", ") + key;
    if (!ready || !missing.empty()) {
        stop();
        std::string log = read_all(log_fd_);
        ::close(log_fd_);
        if (ready) why = "it did not report " + missing;
        throw std::runtime_error(name_ + ": " + script + " failed to start (" + why + ")" +
                                 (log.empty() ? std::string() : ": " + log));
    }
}

local_server_script::~local_server_script() {
    bool died_early = !running();
    stop();
    std::string log = read_all(log_fd_);
    ::close(log_fd_);
    if (died_early) std::cerr << name_ << ": the server exited before the test ended; its log:\n" << log;
    else if (!log.empty()) std::cerr << name_ << ": the server's log:\n" << log;
}

std::string local_server_script::value(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? std::string() : it->second;
}

void local_server_script::stop() {
    if (pid_ <= 0) return;
    if (!reaped_) terminate_group();
    pid_ = -1;
}

void local_server_script::terminate_group() {
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
    ::kill(-pid_, SIGKILL); // a server the script could not stop (no-op when the group is gone)
    reaped_ = true;
}

bool local_server_script::running() {
    if (pid_ <= 0 || reaped_) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    reaped_ = true; // stop() must not signal a pid that may be reused
    return false;
}

std::string local_server_script::log() const { return read_all(log_fd_); }

} // namespace hoist::test
