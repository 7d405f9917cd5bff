#include "cli_sync.hpp"

#include "hoist/engine/bucket.hpp"
#include "hoist/protocol/presign/wire.hpp"

#include <sys/stat.h>

#include <iostream>

namespace hoist::cli {

void sync_command::add_to(CLI::App& parent) {
    app = parent.add_subcommand("sync",
                                "Upload the files under DIR that s3://BUCKET/PREFIX/ lacks or holds in another "
                                "version (size, or modified since it was stored)");
    app->add_option("source", source, "the directory to upload from")->required();
    app->add_option("destination", destination, "s3://BUCKET/PREFIX/")->required();
    app->add_flag("--size-only", size_only, "send a file only when missing or of another size (ignore times)");
    app->add_flag("--dry-run", dry_run, "say what would be uploaded, upload nothing");
    transfer.add_to(*app);
    bulk.add_to(*app);
}

int sync_command::run(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    engine::cancel_token cancel;
    signal_watcher signals(cancel, {.first = {},
                                    .waiting = "hoist: stopping: aborting the multipart uploads in progress; "
                                               "interrupt again to exit now",
                                    .left_behind = "multipart uploads may be left on the server "
                                                   "(hoist uploads ls lists them)"});
    if (transfer.via) throw usage_error("sync compares with the bucket's listing: it needs the bucket, not --via");
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw usage_error("sync: " + source + " is not a directory");
    auto dest = protocol::parse_s3_url(destination, /*key_required=*/false);
    auto filter = bulk.filter(*app);
    auto shard = bulk.shard_spec();
    engine::upload_options bucket_options = transfer.make(*app, env, files, dest.bucket);
    // The listing covers exactly the keys this tree maps to: the prefix as a folder.
    const std::string list_prefix = engine::bulk::key_for(dest.key, "");

    bulk_run run(transfer, bulk, signals, cancel);
    engine::object_lister lister(run.client(), bucket_options, list_prefix);
    engine::bulk::sync_merge merge;
    auto pull = [&]() -> std::optional<engine::bulk::remote_object> {
        auto o = lister.next();
        if (!o) return std::nullopt;
        return engine::bulk::remote_object{o->key, o->size, protocol::parse_expires_at(o->last_modified).value_or(0)};
    };

    bool listing_failed = false;
    engine::bulk::tree_walker walker(source, engine::bulk::tree_walker::order::key);
    try {
        while (auto item = walker.next()) {
            using kind = engine::bulk::walk_item::kind;
            const auto& f = item->file;
            if (!filter.included(f.relative)) continue;
            std::string key = engine::bulk::key_for(dest.key, f.relative);
            if (!shard.owns(key)) continue;
            if (item->type == kind::error) {
                run.local_failure(f.path, key, item->message);
                continue;
            }
            if (item->type == kind::skipped) {
                run.skipped(f.path, item->message);
                continue;
            }
            auto decision = engine::bulk::decide_sync(f, merge.find(key, pull), size_only);
            if (decision == engine::bulk::sync_decision::skip) {
                run.unchanged(f.path, key, f.size);
                continue;
            }
            if (dry_run) {
                std::cerr << "hoist: (dry run) would upload " << f.path << " to s3://" << dest.bucket << "/" << key
                          << " (" << engine::bulk::to_string(decision) << ")\n";
                continue;
            }
            if (!run.upload(f.path, at_key(bucket_options, key), f.size)) break;
        }
    } catch (const engine::upload_error& e) {
        // The listing failed (after its retries): what was started finishes,
        // nothing more is sent on a half-known picture of the bucket.
        std::cerr << "hoist: error: listing s3://" << dest.bucket << "/" << list_prefix << ": " << e.what() << '\n';
        listing_failed = true;
    }
    int code = run.finish(signals);
    signals.set_stage(signal_watcher::stage::local);
    return listing_failed && code == exit_ok ? exit_failed : code;
}

} // namespace hoist::cli
