// Many files at once: which files (a directory walk, include/exclude rules, a
// shard of the keys), under which keys, and whether `sync` must send them.
// Everything here but tree_walker is pure (no I/O) and unit-tested; the batch
// that runs the uploads on one client is in batch.hpp.
//
// Memory does not grow with the number of files: the walk is a stream, read
// one directory entry at a time (a sorted walk holds one directory's names per
// level of depth, which `sync` needs to merge with the bucket's listing).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::engine::bulk {

// fnmatch(3) without flags, as aws-cli's --include/--exclude use it: `*` and
// `?` match any character, '/' included; `[abc]`, `[a-z]`, `[!x]` a set; a
// `[` without its `]` matches itself. Bounded: O(pattern x text) time.
bool glob_match(std::string_view pattern, std::string_view text);

// aws-cli's filter semantics: every file is included; the rules apply in the
// order given and the last one whose pattern matches the file's path relative
// to its source directory decides ("--exclude '*' --include '*.log'": only
// logs).
struct filter_rule {
    enum class kind { include, exclude } type;
    std::string pattern;
};

class path_filter {
public:
    path_filter() = default;
    explicit path_filter(std::vector<filter_rule> rules) : rules_(std::move(rules)) {}
    bool included(std::string_view relative_path) const;
    bool empty() const noexcept { return rules_.empty(); }

private:
    std::vector<filter_rule> rules_;
};

// `--shard K/N`: this process takes the keys whose hash falls in share K of N
// (0 <= K < N). The hash is FNV-1a 64 of the key's bytes: stable across hosts,
// versions and schedulers, so N processes started anywhere split one tree with
// no coordination, each key in exactly one share.
struct shard {
    unsigned index = 0;
    unsigned count = 1;
    bool owns(std::string_view key) const noexcept;
};
// "3/8". Throws std::invalid_argument with a message naming what is wrong.
shard parse_shard(std::string_view text);

// The object key of a file: `prefix` (a "folder": '/' added unless empty or
// already there) then the path relative to the source directory, with '/'
// separators, as aws-cli maps `cp --recursive DIR s3://B/PREFIX`.
std::string key_for(std::string_view prefix, std::string_view relative_path);

// A file the walk found.
struct file_entry {
    std::string path;         // as opened: the source directory joined with `relative`
    std::string relative;     // '/'-separated, no leading "./"
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;   // modification time, ns since the epoch
};

// What the walk yields: a file; a path it skips on purpose (a symlink to a
// directory, a FIFO), which the caller reports as a notice; or an error with
// one path (an unreadable directory, a file that vanished), which the caller
// counts as a failed file, and goes on.
struct walk_item {
    enum class kind { file, skipped, error } type = kind::file;
    file_entry file;          // for skipped and error: path and relative only
    std::string message;      // why skipped, or the error
};

// Walks the regular files under `root` (and symlinks to regular files: their
// content is uploaded, as aws-cli and rsync -L do). Symlinks to directories are
// not followed (a link back up the tree would never end, and rclone does not
// follow them either): they are reported as skipped, so that nothing is left
// out silently. Other special files (FIFOs, sockets, devices) likewise.
//
// sorted: each directory's entries in the order their keys sort in S3 (UTF-8
// bytes, a directory as "name/"), so the whole walk comes out in key order,
// as ListObjectsV2 lists; this costs one directory's names per level in memory.
// Unsorted: the kernel's order, one entry at a time.
class tree_walker {
public:
    enum class order { kernel, key };
    tree_walker(std::string root, order o);
    ~tree_walker();
    tree_walker(tree_walker&&) noexcept;
    tree_walker& operator=(tree_walker&&) noexcept;

    // The next file or problem; nullopt when the walk is over.
    std::optional<walk_item> next();

private:
    struct state;
    std::unique_ptr<state> state_;
};

// What `sync` does with a local file, given the object of the same key in the
// bucket's listing (if any). aws-cli's rule: send a file that is missing, whose
// size differs, or that was modified after the object was stored (the object's
// LastModified is when the upload ended, so a file not touched since is not
// sent again), compared in whole seconds as S3 keeps them. size_only: the size
// alone decides (for trees copied with new mtimes).
struct remote_object {
    std::string key;
    std::uint64_t size = 0;
    std::int64_t last_modified_s = 0;   // whole seconds since the epoch, as S3 keeps LastModified
};
enum class sync_decision { send_missing, send_size_differs, send_newer, skip };
std::string_view to_string(sync_decision);
sync_decision decide_sync(const file_entry& local, const remote_object* remote, bool size_only);

// Merges a stream of local files in key order with the bucket's listing in key
// order (both as S3 sorts keys: bytewise), one item of each at a time, so
// `sync` needs no map of either side. Pure: the caller feeds both streams.
class sync_merge {
public:
    // The remote object matching `key`, if any; skips remote objects whose
    // keys sort before it. `pull` gives the next remote object, nullopt at the
    // end. Keys must come in ascending order (std::logic_error otherwise: an
    // unsorted walk is a bug).
    template <class Pull>
    const remote_object* find(const std::string& key, Pull&& pull) {
        if (!last_key_.empty() && key < last_key_) throw std::logic_error("sync_merge: local keys out of order");
        last_key_ = key;
        while (true) {
            if (!current_ && !done_) {
                current_ = pull();
                if (!current_) done_ = true;
            }
            if (!current_) return nullptr;
            if (current_->key < key) {
                current_.reset();
                continue;
            }
            return current_->key == key ? &*current_ : nullptr;
        }
    }

private:
    std::optional<remote_object> current_;
    bool done_ = false;
    std::string last_key_;
};

} // namespace hoist::engine::bulk
