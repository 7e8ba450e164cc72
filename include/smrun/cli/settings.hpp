#pragma once

// smrun's own knobs, all from SMRUN_* environment variables (listed in env-spec/). A malformed
// value is a config error naming the variable: a typo must not silently change behaviour.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "smrun/base/expected.hpp"
#include "smrun/config/ml_paths.hpp"
#include "smrun/env/env_list.hpp"

namespace smrun::cli {

struct RunSettings {
  std::filesystem::path base_dir = config::kDefaultBaseDir;  // SAGEMAKER_BASE_DIR
  std::chrono::seconds term_grace{110};                      // SMRUN_TERM_GRACE_SECONDS
  bool pack_model = true;                                    // SMRUN_PACK_MODEL
  bool pack_required = false;  // SMRUN_PACK_MODEL=required: a failed pack fails the job
  std::optional<std::filesystem::path> model_archive;  // SMRUN_MODEL_ARCHIVE
  int pack_level = 6;                                  // SMRUN_PACK_LEVEL
};

base::Expected<RunSettings> read_run_settings(const env::EnvSnapshot& env);

// "1/true/yes/on" and "0/false/no/off" (case-insensitive); anything else is an error.
base::Expected<bool> parse_switch(const std::string& name, const std::string& value);

}  // namespace smrun::cli
