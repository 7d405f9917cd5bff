#pragma once

#include "cli_transfer.hpp"

#include <optional>
#include <string>
#include <vector>

namespace hoist::cli {

// `hoist bench s3://BUCKET/PREFIX/`: uploads generated data (in memory, never
// from disk) through the same client as `hoist cp`, measures every request
// (engine::upload_options::on_request) and object, prints throughput, latency
// by request kind, errors, connections, CPU and RSS, and deletes what it wrote
// unless --keep. `hoist bench report FILE...` merges the --json files of
// several runs (hosts, shards) on one time axis: the same summary, a CSV, and
// a PNG chart when gnuplot is installed. The pure parts are in bench_model.hpp.
struct bench_command {
    CLI::App* app = nullptr;
    CLI::App* report_app = nullptr;

    std::optional<std::string> target;
    std::optional<std::string> workload;
    std::optional<std::string> size;
    std::optional<std::uint64_t> objects;
    std::optional<std::string> duration;
    std::optional<std::string> shard;
    std::optional<std::string> json_file;
    std::uint64_t seed = 1;
    bool keep = false;
    bool list_workloads = false;
    transfer_options transfer;   // the options shared with cp (only those bench registers)

    std::vector<std::string> report_files;
    std::optional<std::string> report_out;
    bool no_chart = false;

    void add_to(CLI::App& parent);
    int run(const protocol::env_lookup& env, const protocol::file_reader& files) const;

private:
    int run_bench(const protocol::env_lookup& env, const protocol::file_reader& files) const;
    int run_report() const;
};

} // namespace hoist::cli
