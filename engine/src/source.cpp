#include "source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
    : fd_(std::exchange(o.fd_, -1)), owned_(o.owned_), name_(std::move(o.name_)), size_(o.size_), mtime_(o.mtime_) {}

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

bool file_source::changed() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return true;
    return static_cast<std::uint64_t>(st.st_size) != size_ || st.st_mtim.tv_sec != mtime_.tv_sec ||
           st.st_mtim.tv_nsec != mtime_.tv_nsec;
}

net::error_code memory_body::read(std::uint64_t offset, std::span<char> out) {
    if (offset + out.size() > data_.size()) return net::error_code(EIO, boost::system::system_category());
    std::memcpy(out.data(), data_.data() + offset, out.size());
    return {};
}

} // namespace hoist::engine::detail
