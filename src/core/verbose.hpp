#pragma once
// NNACCEL_VERBOSE=1: the runtime logs each node's kernel, each plan's memory and the precision
// `auto` picked, on stderr. Read once per process.
#include <cstdlib>

namespace nnaccel {

inline bool verbose_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("NNACCEL_VERBOSE");
    return v != nullptr && v[0] != '\0' && v[0] != '0';
  }();
  return on;
}

}  // namespace nnaccel
