#include "source.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <csetjmp>
#include <csignal>
#include <cstring>
#include <mutex>
#include <vector>

namespace hoist::engine::detail {

namespace {

upload_error source_error(const std::string& name, const std::string& why) {
    return upload_error(upload_errc::source_error, "cannot read '" + name + "': " + why);
}

} // namespace

file_source::file_source(int fd, std::string name, bool owned) : fd_(fd), owned_(owned), name_(std::move(name)) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        int err = errno;
        if (owned_) ::close(fd_);
        throw source_error(name_, std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        if (owned_) ::close(fd_);
        throw source_error(name_, "it is a directory");
    }
    if (!S_ISREG(st.st_mode)) {
        if (owned_) ::close(fd_);
        throw source_error(name_, "not a regular file");
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    mtime_ = st.st_mtim;
    identity_ = {size_, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                 static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_dev)};
#ifdef POSIX_FADV_SEQUENTIAL
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
}

file_source file_source::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        throw source_error(path, err == ENOENT ? "no such file" : std::strerror(err));
    }
    return file_source(fd, path, true);
}

file_source file_source::adopt(int fd, std::string name) { return file_source(fd, std::move(name), false); }

file_source::file_source(file_source&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), owned_(o.owned_), name_(std::move(o.name_)), size_(o.size_), mtime_(o.mtime_),
      identity_(o.identity_) {}

file_source::~file_source() {
    if (fd_ >= 0 && owned_) ::close(fd_);
}

net::error_code file_source::read(std::uint64_t offset, std::span<char> out) const {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return net::error_code(errno, boost::system::system_category());
        }
        if (n == 0) return net::error_code(EIO, boost::system::system_category());  // shrank under us
        done += static_cast<std::size_t>(n);
    }
    return {};
}

namespace {

// SIGBUS inside scan() jumps back to it; anywhere else the previous
// disposition is restored and the fault re-raised as it would have been.
thread_local sigjmp_buf* scan_guard = nullptr;
struct sigaction previous_sigbus {};

void on_sigbus(int, siginfo_t*, void*) {
    if (scan_guard) siglongjmp(*scan_guard, 1);
    sigaction(SIGBUS, &previous_sigbus, nullptr);  // returning re-executes the fault under it
}

void install_sigbus_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, &previous_sigbus);
    });
}

} // namespace

net::error_code file_source::scan(std::uint64_t offset, std::uint64_t size,
                                  const std::function<void(const char*, std::size_t)>& consume) const {
    if (size == 0) return {};
    if (offset + size > size_) return net::error_code(EIO, boost::system::system_category());
    install_sigbus_handler();
    // Mapped page-cache pages count toward RSS while mapped: map a window at a
    // time so the checksum pass costs at most one window of memory.
    constexpr std::uint64_t window = 1024 * 1024;
    auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    for (std::uint64_t done = 0; done < size;) {
        std::uint64_t at = offset + done, len = std::min(window, size - done);
        std::uint64_t start = at & ~(page - 1), skip = at - start;
        void* map = ::mmap(nullptr, skip + len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd_, static_cast<off_t>(start));
        if (map == MAP_FAILED) return net::error_code(errno, boost::system::system_category());
        ::madvise(map, skip + len, MADV_SEQUENTIAL);
        const char* bytes = static_cast<const char*>(map) + skip;
        // sigsetjmp's second return means the file shrank while mapped.
        sigjmp_buf jump;
        const bool truncated = sigsetjmp(jump, 1) != 0;
        if (!truncated) {
            scan_guard = &jump;
            consume(bytes, static_cast<std::size_t>(len));
        }
        scan_guard = nullptr;
        ::munmap(map, skip + len);
        if (truncated) return net::error_code(EIO, boost::system::system_category());
        done += len;
    }
    return {};
}

bool file_source::changed() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return true;
    return static_cast<std::uint64_t>(st.st_size) != size_ || st.st_mtim.tv_sec != mtime_.tv_sec ||
           st.st_mtim.tv_nsec != mtime_.tv_nsec;
}

net::error_code memory_source::read(std::uint64_t offset, std::span<char> out) const {
    if (offset + out.size() > bytes_->size()) return net::error_code(EIO, boost::system::system_category());
    std::memcpy(out.data(), bytes_->data() + offset, out.size());
    return {};
}

net::error_code memory_source::scan(std::uint64_t offset, std::uint64_t size,
                                    const std::function<void(const char*, std::size_t)>& consume) const {
    if (offset + size > bytes_->size()) return net::error_code(EIO, boost::system::system_category());
    if (size) consume(bytes_->data() + offset, static_cast<std::size_t>(size));
    return {};
}

namespace {

constexpr std::uint64_t generated_block = 4 * 1024 * 1024;

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

const std::vector<std::uint64_t>& random_block() {
    static const std::vector<std::uint64_t> block = [] {
        std::vector<std::uint64_t> words(generated_block / 8);
        std::uint64_t state = 0x686F697374ull;   // fixed: the bytes are the same in every run
        for (auto& w : words) w = splitmix64(state++);
        return words;
    }();
    return block;
}

} // namespace

net::error_code generated_source::read(std::uint64_t offset, std::span<char> out) const {
    if (offset + out.size() > size_) return net::error_code(EIO, boost::system::system_category());
    const auto& block = random_block();
    const auto* bytes = reinterpret_cast<const unsigned char*>(block.data());
    std::size_t done = 0;
    while (done < out.size()) {
        const std::uint64_t at = offset + done;
        const std::uint64_t in_block = at % generated_block;
        const std::uint64_t key = splitmix64(seed_ * 0x100000001B3ull ^ splitmix64(at / generated_block));
        const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(out.size() - done, generated_block - in_block));
        char* dst = out.data() + done;
        std::memcpy(dst, bytes + in_block, len);
        // XOR the key in, byte i of the block taking byte (i mod 8) of the key:
        // the unaligned head byte by byte, then whole words.
        std::size_t i = 0;
        auto key_byte = [&](std::uint64_t pos) { return static_cast<char>(key >> (8 * (pos % 8))); };
        for (; i < len && (in_block + i) % 8 != 0; ++i) dst[i] ^= key_byte(in_block + i);
        for (; i + 8 <= len; i += 8) {
            std::uint64_t w;
            std::memcpy(&w, dst + i, 8);
            w ^= key;   // little-endian: byte j of w is byte j of the key
            std::memcpy(dst + i, &w, 8);
        }
        for (; i < len; ++i) dst[i] ^= key_byte(in_block + i);
        done += len;
    }
    return {};
}

net::error_code generated_source::scan(std::uint64_t offset, std::uint64_t size,
                                       const std::function<void(const char*, std::size_t)>& consume) const {
    if (offset + size > size_) return net::error_code(EIO, boost::system::system_category());
    std::vector<char> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(size, 256 * 1024)));
    for (std::uint64_t done = 0; done < size;) {
        std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - done));
        if (auto ec = read(offset + done, std::span<char>(buffer.data(), len))) return ec;
        consume(buffer.data(), len);
        done += len;
    }
    return {};
}

net::awaitable<net::error_code> memory_body::read(std::uint64_t offset, std::span<char> out) {
    if (offset + out.size() > data_.size()) co_return net::error_code(EIO, boost::system::system_category());
    std::memcpy(out.data(), data_.data() + offset, out.size());
    co_return net::error_code{};
}

} // namespace hoist::engine::detail
