#include "smrun/config/ml_paths.hpp"

namespace smrun::config {

MlPaths ml_paths(const std::filesystem::path& base) {
  MlPaths p;
  p.base = base;
  p.code = base / "code";
  p.model = base / "model";
  p.input = base / "input";
  p.input_config = p.input / "config";
  p.input_data = p.input / "data";
  p.output = base / "output";
  p.output_data = p.output / "data";
  p.output_intermediate = p.output / "intermediate";
  p.hyperparameters_file = p.input_config / "hyperparameters.json";
  p.resource_config_file = p.input_config / "resourceconfig.json";
  p.input_data_config_file = p.input_config / "inputdataconfig.json";
  p.checkpoint_config_file = p.input_config / "checkpointconfig.json";
  p.success_file = p.output / "success";
  p.failure_file = p.output / "failure";
  return p;
}

}  // namespace smrun::config
