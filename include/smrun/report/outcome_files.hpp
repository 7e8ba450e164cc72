#pragma once

#include <filesystem>
#include <string>

#include "smrun/base/expected.hpp"

namespace smrun::report {

// Writes output/failure unless it already exists: a failure file the user's program wrote
// explains its own failure better than we can (reference behaviour). Returns whether written.
base::Expected<bool> write_failure_file(const std::filesystem::path& path, const std::string& text);

// Writes the empty output/success marker.
base::Status write_success_file(const std::filesystem::path& path);

}  // namespace smrun::report
