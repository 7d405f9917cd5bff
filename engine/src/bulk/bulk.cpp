// The pure parts of bulk uploads: globs, filters, shards, keys, sync decisions.
#include "hoist/engine/bulk.hpp"

#include <charconv>

namespace hoist::engine::bulk {

namespace {

// One bracket expression at pattern[i] ('['). Returns the index after its ']'
// and whether `c` is in the set, or nullopt when there is no closing ']' (the
// '[' then matches itself, as fnmatch does).
std::optional<std::pair<std::size_t, bool>> match_set(std::string_view pattern, std::size_t i, char c) {
    std::size_t j = i + 1;
    bool negate = j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^');
    if (negate) ++j;
    bool found = false;
    bool first = true;
    while (j < pattern.size() && (first || pattern[j] != ']')) {
        first = false;
        char lo = pattern[j];
        if (j + 2 < pattern.size() && pattern[j + 1] == '-' && pattern[j + 2] != ']') {
            char hi = pattern[j + 2];
            auto u = static_cast<unsigned char>(c);
            if (static_cast<unsigned char>(lo) <= u && u <= static_cast<unsigned char>(hi)) found = true;
            j += 3;
        } else {
            if (lo == c) found = true;
            ++j;
        }
    }
    if (j >= pattern.size()) return std::nullopt;
    return std::pair{j + 1, found != negate};
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
    // Iterative matching with one backtrack point (the last '*'): linear in
    // practice, O(pattern x text) at worst, never exponential.
    std::size_t p = 0, t = 0;
    std::optional<std::pair<std::size_t, std::size_t>> star;   // (pattern after '*', text position)
    while (t < text.size()) {
        bool advanced = false;
        if (p < pattern.size()) {
            char pc = pattern[p];
            if (pc == '*') {
                star = {p + 1, t};
                ++p;
                continue;
            }
            if (pc == '?') {
                ++p, ++t;
                advanced = true;
            } else if (pc == '[') {
                if (auto set = match_set(pattern, p, text[t])) {
                    if (set->second) {
                        p = set->first, ++t;
                        advanced = true;
                    }
                } else if (text[t] == '[') {
                    ++p, ++t;
                    advanced = true;
                }
            } else if (pc == text[t]) {
                ++p, ++t;
                advanced = true;
            }
        }
        if (advanced) continue;
        if (!star) return false;
        // Let the last '*' swallow one more character and try again from there.
        p = star->first;
        t = ++star->second;
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

bool path_filter::included(std::string_view relative_path) const {
    bool in = true;
    for (const auto& r : rules_)
        if (glob_match(r.pattern, relative_path)) in = r.type == filter_rule::kind::include;
    return in;
}

bool shard::owns(std::string_view key) const noexcept {
    if (count <= 1) return true;
    std::uint64_t h = 0xcbf29ce484222325ull;   // FNV-1a 64
    for (unsigned char c : key) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h % count == index;
}

shard parse_shard(std::string_view text) {
    auto slash = text.find('/');
    auto bad = [&](const std::string& why) {
        return std::invalid_argument("--shard '" + std::string(text) + "': " + why +
                                     " (expected K/N with 0 <= K < N, e.g. 0/4)");
    };
    if (slash == std::string_view::npos) throw bad("no '/'");
    auto number = [&](std::string_view s, const char* what) {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size())
            throw bad(std::string(what) + " is not a whole number");
        return v;
    };
    shard s{number(text.substr(0, slash), "K"), number(text.substr(slash + 1), "N")};
    if (s.count == 0) throw bad("N must be at least 1");
    if (s.index >= s.count) throw bad("K must be below N (shards count from 0)");
    return s;
}

std::string key_for(std::string_view prefix, std::string_view relative_path) {
    std::string key(prefix);
    if (!key.empty() && key.back() != '/') key += '/';
    while (relative_path.substr(0, 2) == "./") relative_path.remove_prefix(2);
    key += relative_path;
    return key;
}

std::string_view to_string(sync_decision d) {
    switch (d) {
    case sync_decision::send_missing: return "missing";
    case sync_decision::send_size_differs: return "size differs";
    case sync_decision::send_newer: return "newer";
    case sync_decision::skip: return "unchanged";
    }
    return "?";
}

sync_decision decide_sync(const file_entry& local, const remote_object* remote, bool size_only) {
    if (!remote) return sync_decision::send_missing;
    if (remote->size != local.size) return sync_decision::send_size_differs;
    // Whole seconds: S3 keeps LastModified to the second (".000Z"), so a file
    // written in the same second as its upload ended would otherwise look newer
    // forever. (A change within that second is missed, as with aws-cli.)
    constexpr std::int64_t ns_per_s = 1'000'000'000;
    const std::int64_t mtime_s =
        local.mtime_ns >= 0 ? local.mtime_ns / ns_per_s : -((-local.mtime_ns + ns_per_s - 1) / ns_per_s);
    if (!size_only && mtime_s > remote->last_modified_s) return sync_decision::send_newer;
    return sync_decision::skip;
}

} // namespace hoist::engine::bulk
