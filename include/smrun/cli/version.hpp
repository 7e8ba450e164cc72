#pragma once

// What `smrun version` prints: "smrun 0.1.0 (commit 0dd077a, RelWithDebInfo, static)" — the
// project version, the git commit it was built from ("unknown" outside a git checkout), the
// CMake build type, and whether the binary is static (scripts/package.sh) or dynamic.

#include <string>

namespace smrun::cli {

std::string version_line();

}  // namespace smrun::cli
