#pragma once

// Whole reads and writes on a descriptor, retried on EINTR and short transfers.

#include <string>
#include <string_view>

namespace smrun::base {

// Writes all of `data`. Returns 0, or the errno of the write that failed.
int write_all(int fd, std::string_view data);

// Appends everything up to EOF to `out`. Returns 0, or the errno of the read that failed.
int read_all(int fd, std::string& out);

}  // namespace smrun::base
