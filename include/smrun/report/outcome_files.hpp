#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "smrun/base/expected.hpp"

namespace smrun::report {

// Writes output/failure unless it already exists: a failure file the user's program wrote
// explains its own failure better than we can (reference behaviour). Returns whether written.
base::Expected<bool> write_failure_file(const std::filesystem::path& path, const std::string& text);

// Outcome files left by an earlier run in `output_dir` (`failure`, `success`) are moved aside,
// so this run's outcome is the only one there. A failure file becomes `failure.previous`, or
// `.previous.N` one above the highest N there (never replacing one). An empty success marker
// becomes `success.previous`, replacing an older empty marker (anything else there is kept and
// the marker numbered like a failure). Returns the moves made (from, to).
base::Expected<std::vector<std::pair<std::filesystem::path, std::filesystem::path>>>
set_aside_previous_outcomes(const std::filesystem::path& output_dir);

// Writes the empty output/success marker.
base::Status write_success_file(const std::filesystem::path& path);

}  // namespace smrun::report
