#pragma once

// The text of an errno value ("No such file or directory"), the one helper for it: thread-safe
// (std::strerror is not), and the same words std::error_code and the C library use.

#include <string>
#include <system_error>

namespace smrun::base {

inline std::string errno_text(int error_number) {
  return std::generic_category().message(error_number);
}

}  // namespace smrun::base
