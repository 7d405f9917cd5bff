// A local S3 server started by one of the tools/ scripts (tools/s3rver-local,
// tools/rgw-local): the script runs in its own process group, prints
// KEY=VALUE lines on stdout (HOIST_S3_ENDPOINT=..., and last
// HOIST_S3_READY=1), then stays in the foreground until SIGTERM, when it stops
// its server and removes its temporary directory itself.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace hoist::test {

class local_server_script {
public:
    // Runs `script` (a path under the source tree's tools/) with `args` in a
    // controlled environment (PATH, LC_ALL, TMPDIR) and waits at most
    // `startup_seconds` for HOIST_S3_READY=1. Throws std::runtime_error, with
    // the script's stderr, when it does not get there or a `required` key is
    // missing. `name` prefixes messages.
    local_server_script(std::string name, const std::string& script, const std::vector<std::string>& args,
                        const std::vector<std::string>& required, int startup_seconds);
    // Stops the script (SIGTERM to its process group, SIGKILL after 10 s),
    // waits for it, and prints its stderr when it had something to say.
    ~local_server_script();
    local_server_script(const local_server_script&) = delete;
    local_server_script& operator=(const local_server_script&) = delete;

    // A value the script printed ("" if none).
    std::string value(const std::string& key) const;
    // Whether the script (and so its server) is still running.
    bool running();
    // What the script wrote on stderr so far.
    std::string log() const;

private:
    void stop();
    void terminate_group();

    std::string name_;
    pid_t pid_ = -1;      // the script's pid, also its process group id
    bool reaped_ = false; // the script has exited and was waited for
    int log_fd_ = -1;     // the script's stderr (an unlinked temporary file)
    std::map<std::string, std::string> values_;
};

} // namespace hoist::test
