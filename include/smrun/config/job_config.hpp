#pragma once

// The job's configuration files, read and validated once. Validation errors name the file, the
// JSON path and what was expected: "resourceconfig.json: $.hosts[1]: expected a string, got int".

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/config/ml_paths.hpp"
#include "smrun/config/py_value.hpp"

namespace smrun::config {

struct InstanceGroup {
  std::string name;
  std::vector<std::string> hosts;
  PyValue raw;  // the group object as written (SM_INSTANCE_GROUPS_DICT re-serialises it)
};

struct ResourceConfig {
  PyValue raw;  // whole document (SM_RESOURCE_CONFIG)
  std::string current_host;
  std::vector<std::string> hosts;
  std::string current_instance_type = "local";
  // The reference reads `current_group_name`; local mode writes `current_instance_group`, which
  // the reference ignores. smrun does the same (reference-toolkit.md §9.5).
  std::string current_group_name = "homogeneousCluster";
  std::string network_interface_name = "eth0";
  PyValue topology = PyValue::list();
  std::vector<InstanceGroup> instance_groups;  // file order
};

// checkpointconfig.json, an smrun addition (the reference ignores it).
struct CheckpointConfig {
  std::filesystem::path local_path = "/opt/ml/checkpoints";
  std::optional<std::string> s3_uri;
};

struct JobConfig {
  PyDict hyperparameters;  // raw values, file order (decoding is hyperparams/)
  ResourceConfig resource;
  PyValue input_data_config = PyValue::dict();
  std::optional<CheckpointConfig> checkpoint;
  bool resource_config_missing = false;  // synthesised for a single local host
};

// Reads <base>/input/config/*.json. hyperparameters.json and inputdataconfig.json may be absent
// ({}); a missing resourceconfig.json is synthesised the way the reference's local fallback
// writes it, with `hostname` as the only host.
base::Expected<JobConfig> load_job_config(const MlPaths& paths, const std::string& hostname);

// Parse helpers, exposed for tests and fuzzing: `file_label` prefixes every error.
base::Expected<ResourceConfig> parse_resource_config(const PyValue& doc,
                                                     const std::string& file_label);
base::Expected<CheckpointConfig> parse_checkpoint_config(const PyValue& doc,
                                                         const std::string& file_label);

// SageMaker's rule for channel names: letters, digits, '.', '-' and '_', and not "." or "..".
bool valid_channel_name(std::string_view name);

// Reads and parses one JSON file with Python's json semantics.
// Missing file -> std::nullopt; unreadable or invalid -> kConfig error naming the file.
base::Expected<std::optional<PyValue>> read_json_file(const std::filesystem::path& path);

}  // namespace smrun::config
