#pragma once

#include "cli_bulk.hpp"
#include "cli_transfer.hpp"

namespace hoist::cli {

// `hoist sync DIR s3://BUCKET/PREFIX/`: uploads the files under DIR that are
// missing from the prefix, differ in size, or were modified after their object
// was stored (aws-cli's rule; --size-only: size alone). One ListObjectsV2 walk
// merged with a key-ordered directory walk: no HeadObject per file, and memory
// holds one listing page and one directory per level, however large the tree.
struct sync_command {
    CLI::App* app = nullptr;
    std::string source;
    std::string destination;
    bool size_only = false;
    bool dry_run = false;
    transfer_options transfer;
    bulk_options bulk;

    void add_to(CLI::App& parent);
    int run(const protocol::env_lookup& env, const protocol::file_reader& files) const;
};

} // namespace hoist::cli
