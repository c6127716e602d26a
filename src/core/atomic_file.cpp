#include "core/atomic_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "core/check.hpp"

namespace nnaccel {

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::open(const std::string& path) {
  path_ = path;
  tmp_ = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp_.data());
  if (fd < 0) fail("cannot write '{}'", path);
  file_ = ::fdopen(fd, "wb");
  if (file_ == nullptr) {
    ::close(fd);
    std::remove(tmp_.c_str());
    fail("cannot write '{}'", path);
  }
}

void AtomicFile::commit() {
  bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (ok) ::chmod(tmp_.c_str(), 0644);
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    fail("could not write '{}'", path_);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  AtomicFile f;
  f.open(path);
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.stream()) != bytes.size())
    fail("could not write '{}'", path);
  f.commit();
}

}  // namespace nnaccel
