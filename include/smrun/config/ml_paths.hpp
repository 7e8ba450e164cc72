#pragma once

// The /opt/ml layout (reference-toolkit.md §1). Everything is derived from one base directory so
// tests can point smrun at a temp tree with SAGEMAKER_BASE_DIR.

#include <filesystem>
#include <string>

namespace smrun::config {

inline constexpr const char* kDefaultBaseDir = "/opt/ml";

struct MlPaths {
  std::filesystem::path base;
  std::filesystem::path code;
  std::filesystem::path model;
  std::filesystem::path input;
  std::filesystem::path input_config;
  std::filesystem::path input_data;
  std::filesystem::path output;
  std::filesystem::path output_data;
  std::filesystem::path output_intermediate;
  std::filesystem::path hyperparameters_file;
  std::filesystem::path resource_config_file;
  std::filesystem::path input_data_config_file;
  std::filesystem::path checkpoint_config_file;
  std::filesystem::path success_file;
  std::filesystem::path failure_file;

  // <base>/input/data/<channel>, the channel name used as is (no sanitising), like the reference.
  std::filesystem::path channel(const std::string& name) const { return input_data / name; }
};

MlPaths ml_paths(const std::filesystem::path& base);

}  // namespace smrun::config
