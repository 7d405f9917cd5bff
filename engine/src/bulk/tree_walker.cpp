// The directory walk of bulk uploads: POSIX readdir and fstatat relative to
// each directory's descriptor (no path re-resolution per file; a level holds
// one open directory).
#include "hoist/engine/bulk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hoist::engine::bulk {

namespace {

std::string join(const std::string& a, const std::string& b) {
    if (a.empty()) return b;
    return a.back() == '/' ? a + b : a + "/" + b;
}

std::int64_t mtime_ns(const struct stat& st) {
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

} // namespace

struct tree_walker::state {
    struct level {
        DIR* dir = nullptr;                 // owns the descriptor
        std::string relative;               // of this directory, "" for the root
        // key order: every name of the directory, sorted, and the next one's index
        std::vector<std::pair<std::string, bool>> names;   // (name, is a directory)
        std::size_t next = 0;
        bool listed = false;
    };

    std::string root;
    order walk_order;
    std::vector<level> stack;
    bool started = false;

    ~state() {
        for (auto& l : stack)
            if (l.dir) ::closedir(l.dir);
    }

    std::string path_of(const std::string& relative) const { return relative.empty() ? root : join(root, relative); }

    // Opens a directory as a new level; an error item if it cannot be read.
    std::optional<walk_item> push(int parent_fd, const std::string& name, const std::string& relative) {
        int fd = parent_fd < 0 ? ::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                               : ::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
        if (!d) {
            int err = errno;
            if (fd >= 0) ::close(fd);
            walk_item item{walk_item::kind::error, {path_of(relative), relative, 0, 0},
                           "cannot read directory " + path_of(relative) + ": " + std::strerror(err)};
            return item;
        }
        stack.push_back(level{d, relative, {}, 0, false});
        return std::nullopt;
    }

    // Classifies one directory entry (by fstatat relative to its directory).
    // Returns a file, skipped or error item; sets `is_dir` for a directory.
    std::optional<walk_item> classify(level& l, const std::string& name, bool& is_dir) {
        is_dir = false;
        std::string relative = l.relative.empty() ? name : l.relative + "/" + name;
        file_entry entry{path_of(relative), relative, 0, 0};
        struct stat st {};
        if (::fstatat(::dirfd(l.dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            return walk_item{walk_item::kind::error, entry, "cannot stat " + entry.path + ": " + std::strerror(errno)};
        if (S_ISDIR(st.st_mode)) {
            is_dir = true;
            return std::nullopt;
        }
        if (S_ISLNK(st.st_mode)) {
            struct stat target {};
            if (::fstatat(::dirfd(l.dir), name.c_str(), &target, 0) != 0)
                return walk_item{walk_item::kind::error, entry,
                                 "symlink " + entry.path + " leads nowhere: " + std::strerror(errno)};
            if (S_ISDIR(target.st_mode))
                return walk_item{walk_item::kind::skipped, entry,
                                 "skipped " + entry.path + ": a symlink to a directory (not followed)"};
            st = target;
        }
        if (!S_ISREG(st.st_mode))
            return walk_item{walk_item::kind::skipped, entry, "skipped " + entry.path + ": not a regular file"};
        entry.size = static_cast<std::uint64_t>(st.st_size);
        entry.mtime_ns = mtime_ns(st);
        return walk_item{walk_item::kind::file, std::move(entry), {}};
    }

    // Key order: a directory's names sorted as their keys sort, a directory as "name/".
    void list(level& l) {
        l.listed = true;
        while (dirent* e = ::readdir(l.dir)) {
            std::string name = e->d_name;
            if (name == "." || name == "..") continue;
            bool dir = e->d_type == DT_DIR;
            if (e->d_type == DT_UNKNOWN) {
                struct stat st {};
                dir = ::fstatat(::dirfd(l.dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
            }
            l.names.emplace_back(std::move(name), dir);
        }
        auto sort_key = [](const std::pair<std::string, bool>& n) { return n.second ? n.first + "/" : n.first; };
        std::sort(l.names.begin(), l.names.end(),
                  [&](const auto& a, const auto& b) { return sort_key(a) < sort_key(b); });
    }

    // The next name of the top level, or nullopt when it is exhausted.
    std::optional<std::string> next_name(level& l) {
        if (walk_order == order::key) {
            if (!l.listed) list(l);
            if (l.next >= l.names.size()) return std::nullopt;
            return std::move(l.names[l.next++].first);
        }
        while (dirent* e = ::readdir(l.dir)) {
            std::string name = e->d_name;
            if (name != "." && name != "..") return name;
        }
        return std::nullopt;
    }

    std::optional<walk_item> next() {
        if (!started) {
            started = true;
            if (auto problem = push(-1, root, "")) return problem;
        }
        while (!stack.empty()) {
            auto& top = stack.back();
            auto name = next_name(top);
            if (!name) {
                ::closedir(top.dir);
                stack.pop_back();
                continue;
            }
            bool is_dir = false;
            auto item = classify(top, *name, is_dir);
            if (is_dir) {
                std::string relative = top.relative.empty() ? *name : top.relative + "/" + *name;
                int fd = ::dirfd(top.dir);
                if (auto problem = push(fd, *name, relative)) return problem;
                continue;
            }
            return item;
        }
        return std::nullopt;
    }
};

tree_walker::tree_walker(std::string root, order o) : state_(std::make_unique<state>()) {
    state_->root = std::move(root);
    state_->walk_order = o;
}
tree_walker::~tree_walker() = default;
tree_walker::tree_walker(tree_walker&&) noexcept = default;
tree_walker& tree_walker::operator=(tree_walker&&) noexcept = default;

std::optional<walk_item> tree_walker::next() { return state_->next(); }

} // namespace hoist::engine::bulk
