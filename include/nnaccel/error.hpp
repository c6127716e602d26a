#pragma once
// The one exception type of nnaccel. Every check that depends on input (file contents, shapes,
// flags) throws it with a message naming what is wrong; the CLI prints it on one line, exit 2.
#include <stdexcept>
#include <string>

namespace nnaccel {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace nnaccel
