#include "smrun/hyperparams/hyperparameters.hpp"

#include <algorithm>

#include "smrun/base/unicode.hpp"
#include "smrun/config/py_json.hpp"
#include "smrun/hyperparams/py_format.hpp"

namespace smrun::hyperparams {

using config::PyDict;
using config::PyValue;

namespace {

constexpr std::string_view kSagemakerPrefix = "sagemaker_";
constexpr std::string_view kSmrunPrefix = "smrun_";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool contains(const std::vector<std::string>& names, std::string_view key) {
  return std::find(names.begin(), names.end(), key) != names.end();
}

// sorted(d.items()) order: (W)UTF-8 byte order is code point order.
std::vector<const PyDict::value_type*> sorted_items(const PyDict& dict) {
  std::vector<const PyDict::value_type*> items;
  items.reserve(dict.size());
  for (const auto& item : dict) items.push_back(&item);
  std::sort(items.begin(), items.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  return items;
}

// mapping._decode: None -> "", else str().
std::string decode_arg(const PyValue& value) {
  return value.is_none() ? "" : py_str(value);
}

}  // namespace

PyDict decode_hyperparameters(const PyDict& raw) {
  PyDict decoded;
  decoded.reserve(raw.size());
  for (const auto& [key, value] : raw) {
    if (value.is_str()) {
      auto parsed = config::parse_py_json(value.as_str());
      if (parsed) {
        decoded.emplace_back(key, std::move(parsed).value());
        continue;
      }
    }
    decoded.emplace_back(key, value);  // TypeError / ValueError in the reference: kept as is
  }
  return decoded;
}

const std::vector<std::string>& reserved_hyperparameter_names() {
  static const std::vector<std::string> kNames = {
      "sagemaker_program",
      "sagemaker_submit_directory",
      "sagemaker_enable_cloudwatch_metrics",
      "sagemaker_region",
      "sagemaker_container_log_level",
      "sagemaker_job_name",
      "default_user_module_name",
      "_tuning_objective_metric",
      "sagemaker_s3_output",
  };
  return kNames;
}

SplitByCriteria split_by_criteria(const PyDict& dictionary, const std::vector<std::string>& keys,
                                  std::string_view prefix) {
  SplitByCriteria split;
  for (const auto& [key, value] : dictionary) {
    const bool included = contains(keys, key) || (!prefix.empty() && starts_with(key, prefix));
    (included ? split.included : split.excluded).emplace_back(key, value);
  }
  return split;
}

SplitHyperparameters split_hyperparameters(const PyDict& decoded) {
  const std::vector<std::string>& reserved = reserved_hyperparameter_names();
  SplitByCriteria by_criteria = split_by_criteria(decoded, reserved, kSagemakerPrefix);
  SplitHyperparameters split;
  for (const auto& [key, value] : by_criteria.included) {
    if (!contains(reserved, key)) split.framework.emplace_back(key, value);
  }
  split.sagemaker = std::move(by_criteria.included);
  for (auto& item : by_criteria.excluded) {
    (starts_with(item.first, kSmrunPrefix) ? split.smrun : split.user).push_back(std::move(item));
  }
  return split;
}

std::vector<std::string> to_cmd_args(const PyDict& user_hyperparameters) {
  std::vector<std::string> args;
  args.reserve(user_hyperparameters.size() * 2);
  for (const auto* item : sorted_items(user_hyperparameters)) {
    const std::string& key = item->first;
    if (key.empty()) {
      args.emplace_back();
    } else {
      // len(key) counts characters, not bytes: "é" is a one-letter flag.
      args.push_back((base::code_point_count(key) > 1 ? "--" : "-") + key);
    }
    const PyValue& value = item->second;
    if (!value.is_dict()) {
      args.push_back(decode_arg(value));
      continue;
    }
    std::string joined;  // ",".join("%s=%s" % (k, v) for k, v in sorted(value.items()))
    bool first = true;
    for (const auto* entry : sorted_items(value.as_dict())) {
      if (!first) joined.push_back(',');
      first = false;
      joined += entry->first;
      joined.push_back('=');
      joined += py_str(entry->second);
    }
    args.push_back(std::move(joined));
  }
  return args;
}

std::string format_env_value(const PyValue& value) {
  if (value.is_none()) return "";
  if (value.is_str()) return value.as_str();
  return config::dump_py_json(value);
}

std::string format_env_key(std::string_view key) {
  if (key.empty()) return "";  // mapping.to_env_vars.format_key: a falsy key gives ""
  return "SM_" + base::py_upper(key);
}

}  // namespace smrun::hyperparams
