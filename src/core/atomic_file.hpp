#pragma once
// Writing a file atomically: write to a temporary next to it, flush, fsync, rename on commit();
// the temporary is removed if commit() is never reached.
#include <cstdio>
#include <string>

namespace nnaccel {

class AtomicFile {
 public:
  AtomicFile() = default;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();
  void open(const std::string& path);  // throws Error if the folder is not writable
  std::FILE* stream() { return file_; }
  void commit();  // throws Error on a write failure

 private:
  std::string path_;
  std::string tmp_;
  std::FILE* file_ = nullptr;
};

// Writes bytes to path atomically.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace nnaccel
