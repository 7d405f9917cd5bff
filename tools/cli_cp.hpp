#pragma once

#include "cli_bulk.hpp"
#include "cli_transfer.hpp"

namespace hoist::cli {

// `hoist cp SOURCE... s3://BUCKET/KEY|PREFIX/`: one file with a progress bar
// and an optional JSON summary, or many (several sources, --recursive,
// --files-from) on one client with the job's progress and a JSON line per file.
struct cp_command {
    CLI::App* app = nullptr;
    std::vector<std::string> paths;        // SOURCE... then the destination (none with --via)
    std::optional<std::string> name;       // file name sent to the service (one file, --via)
    bool recursive = false;
    std::optional<std::string> files_from; // a list of paths, "-" for stdin
    bool null_separated = false;
    transfer_options transfer;
    bulk_options bulk;

    void add_to(CLI::App& parent);
    int run(const protocol::env_lookup& env, const protocol::file_reader& files) const;

private:
    int run_one(const std::string& source, const std::string& destination, const protocol::env_lookup& env,
                const protocol::file_reader& files) const;
    int run_many(const std::vector<std::string>& sources, const std::string& destination,
                 const protocol::env_lookup& env, const protocol::file_reader& files) const;
};

} // namespace hoist::cli
