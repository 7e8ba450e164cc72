#pragma once

#include <string>
#include <string_view>

namespace smrun::base {

// `text` with control characters and backslashes escaped (\n, \x1b, ...), so a hostile name
// (an archive member, a URL from a config file) cannot break an error message into several lines.
std::string printable(std::string_view text);

}  // namespace smrun::base
