#include "smrun/cli/version.hpp"

#include <fmt/format.h>

// Generated at build time by cmake/build_info.cmake (target smrun_build_info).
#include "smrun_build_info.hpp"

namespace smrun::cli {

std::string version_line() {
  return fmt::format("smrun {} (commit {}, {}, {})", SMRUN_BUILD_VERSION, SMRUN_BUILD_COMMIT,
                     SMRUN_BUILD_TYPE, SMRUN_BUILD_LINKAGE);
}

}  // namespace smrun::cli
