#pragma once
// Input-dependent checks throw nnaccel::Error with a formatted message.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nnaccel/error.hpp"

namespace nnaccel {

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace nnaccel

#define NNA_CHECK(cond, ...)          \
  do {                                \
    if (!(cond)) ::nnaccel::fail(__VA_ARGS__); \
  } while (0)
