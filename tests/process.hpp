// Runs a child process with an explicit environment and captures its exit
// code, stdout and stderr. For CLI tests: the child sees only the variables a
// test gives it, so the developer's own AWS settings cannot leak in.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hoist::test {

struct process_result {
    int exit_code = -1;   // 128+signal when killed by a signal
    std::string out;
    std::string err;
};

// `run_as_uid` >= 0 drops to that user (and its group id) in the child, for
// tests of permission errors when the suite runs as root.
// `timeout_seconds` bounds the run: the child is killed (SIGKILL) when it
// expires and exit_code is then 137.
// `on_start`, when given, is called in the parent with the child's pid right
// after the fork (for tests that signal the child while it runs).
process_result run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                           int timeout_seconds = 60, const std::string& stdin_data = {}, int run_as_uid = -1,
                           const std::function<void(int pid)>& on_start = {});

} // namespace hoist::test
