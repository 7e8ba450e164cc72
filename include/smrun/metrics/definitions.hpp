#pragma once

// SageMaker metric definitions: the estimator's metric_definitions, a JSON list of
// {"Name": ..., "Regex": ...} objects, as SMRUN_METRIC_DEFINITIONS holds them.

#include <string>
#include <string_view>
#include <vector>

#include "smrun/base/expected.hpp"

namespace smrun::metrics {

struct MetricDefinition {
  std::string name;   // "train:loss"
  std::string regex;  // "loss=([0-9.]+)": ECMAScript, its first capture group is the value
  bool operator==(const MetricDefinition&) const = default;
};

// Parses and checks the JSON text: a list of objects, each with a non-empty string "Name" and a
// string "Regex" that compiles as an ECMAScript regular expression with at least one capture
// group (other keys are ignored, as SageMaker does). The error (kConfig) says what is wrong and
// where, e.g. `definition 2 ("train:loss"): "Regex" "loss=(" is not a valid regular expression
// (...)`, without the variable's name: the caller (src/settings) adds it.
base::Expected<std::vector<MetricDefinition>> parse_definitions(std::string_view json);

}  // namespace smrun::metrics
