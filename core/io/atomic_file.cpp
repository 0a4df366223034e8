#include "io/atomic_file.h"

#include "common/error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <unistd.h>

namespace layerlab {

namespace fs = std::filesystem;

std::string randomFileSuffix() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char* digits = "0123456789abcdef";
    std::string s(8, '0');
    for (auto& c : s)
        c = digits[rng() % 16];
    return s;
}

AtomicFileWriter::AtomicFileWriter(const fs::path& target) : target_(target) {
    fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    tmp_ = dir / ("." + target.filename().string() + ".tmp-" + randomFileSuffix());
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(target, std::string("cannot create temporary file: ") + std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) {
        std::error_code ec;
        fs::remove(tmp_, ec);
    }
}

void AtomicFileWriter::write(const void* data, size_t bytes) {
    auto* p = static_cast<const char*>(data);
    while (bytes > 0) {
        ssize_t n = ::write(fd_, p, bytes);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(target_, std::string("write failed: ") + std::strerror(errno));
        }
        p += n;
        bytes -= static_cast<size_t>(n);
    }
}

void AtomicFileWriter::commit() {
    if (::fsync(fd_) != 0) throw Error(target_, std::string("fsync failed: ") + std::strerror(errno));
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw Error(target_, std::string("close failed: ") + std::strerror(errno));
    std::error_code ec;
    fs::rename(tmp_, target_, ec);
    if (ec) throw Error(target_, "cannot move the finished file into place: " + ec.message());
    committed_ = true;
}

void writeFileAtomically(const fs::path& target, std::string_view content) {
    AtomicFileWriter w(target);
    w.write(content);
    w.commit();
}

} // namespace layerlab
