#pragma once

// hyperparameters.json -> decoded values -> the user's argv and SM_HP_* values, exactly as the
// reference toolkit (environment.read_hyperparameters, mapping.split_by_criteria,
// mapping.to_cmd_args, mapping.to_env_vars).

#include <string>
#include <string_view>
#include <vector>

#include "smrun/config/py_value.hpp"

namespace smrun::hyperparams {

// json.loads() every value; a value that fails (not JSON, or not a string at all) is kept as it
// is. Key order is preserved.
config::PyDict decode_hyperparameters(const config::PyDict& raw);

// The reference's reserved tuple (params.SAGEMAKER_HYPERPARAMETERS): removed from the user's
// hyperparameters although two of them lack the sagemaker_ prefix.
const std::vector<std::string>& reserved_hyperparameter_names();

struct SplitHyperparameters {
  config::PyDict user;       // -> argv, SM_HPS, SM_HP_*
  config::PyDict sagemaker;  // reserved names + every sagemaker_* key ("included" in the reference)
  config::PyDict framework;  // sagemaker minus the reserved tuple -> SM_FRAMEWORK_PARAMS
  config::PyDict smrun;      // smrun_* keys: smrun's own settings, never shown to the user program
};

// mapping.split_by_criteria: `included` = keys listed in `keys` or starting with a non-empty
// `prefix`; `excluded` = the rest; order preserved.
struct SplitByCriteria {
  config::PyDict included;
  config::PyDict excluded;
};
SplitByCriteria split_by_criteria(const config::PyDict& dictionary,
                                  const std::vector<std::string>& keys, std::string_view prefix);

// Split decoded hyperparameters, preserving order within each part.
SplitHyperparameters split_hyperparameters(const config::PyDict& decoded);

// mapping.to_cmd_args: keys sorted by code point, "--key" ("-k" for one character, "" for an
// empty key), value rendered with Python str() (dicts as sorted "k=v,k=v", None as "").
std::vector<std::string> to_cmd_args(const config::PyDict& user_hyperparameters);

// mapping.to_env_vars value format: None -> "", str -> as is, else compact sorted ASCII JSON.
std::string format_env_value(const config::PyValue& value);

// mapping.to_env_vars key format: "SM_" + str(key).upper() (no other sanitising); an empty key
// gives "" like the reference (callers pass "hp_<name>", "channel_<name>", never empty).
std::string format_env_key(std::string_view key);

}  // namespace smrun::hyperparams
