// Fuzzes hyperparameter decoding and rendering: decode_hyperparameters, split_hyperparameters,
// to_cmd_args, format_env_value, format_env_key and py_repr.
//
// An input that parses as a JSON object is used as hyperparameters.json. Any other input is cut
// at 0x1e bytes into key, value, key, value, ... strings taken as raw bytes (not necessarily
// UTF-8), which reaches the "kept as is" and invalid-UTF-8 paths the JSON route cannot.
//
// Invariants: never crashes; rendering is deterministic; decoding keeps every key in order; the
// split is a partition by the reference's rules; argv has a flag and a value per user key, flags
// in sorted order; env values of non-strings are compact ASCII JSON that round-trips; repr() is
// printable UTF-8 without control characters or surrogates.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "smrun/base/unicode.hpp"
#include "smrun/config/py_json.hpp"
#include "smrun/hyperparams/hyperparameters.hpp"
#include "smrun/hyperparams/py_format.hpp"

namespace {

using smrun::config::PyDict;
using smrun::config::PyValue;
namespace hp = smrun::hyperparams;

PyDict raw_hyperparameters(std::string_view input) {
  if (auto parsed = smrun::config::parse_py_json(input); parsed && parsed->is_dict())
    return parsed->as_dict();
  PyValue dict = PyValue::dict();
  while (!input.empty()) {
    const std::size_t key_end = std::min(input.find('\x1e'), input.size());
    const std::string key(input.substr(0, key_end));
    input.remove_prefix(std::min(key_end + 1, input.size()));
    const std::size_t value_end = std::min(input.find('\x1e'), input.size());
    dict.set(key, PyValue::str(std::string(input.substr(0, value_end))));
    input.remove_prefix(std::min(value_end + 1, input.size()));
  }
  return dict.as_dict();
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// repr() output: only printable characters, so valid UTF-8 with no controls and no surrogates.
void check_printable(const std::string& repr) {
  for (std::size_t pos = 0; pos < repr.size();) {
    const auto d = smrun::base::decode_utf8(repr, pos);
    FUZZ_CHECK(d.valid, "invalid UTF-8 in repr: " + repr);
    FUZZ_CHECK(d.code_point >= 0x20 && d.code_point != 0x7f, "control character in repr");
    FUZZ_CHECK(d.code_point < 0xD800 || d.code_point > 0xDFFF, "surrogate in repr");
    pos += d.length;
  }
}

void check_env_value(const PyValue& value) {
  const std::string rendered = hp::format_env_value(value);
  FUZZ_CHECK(rendered == hp::format_env_value(value), "format_env_value is not deterministic");
  if (value.is_none()) {
    FUZZ_CHECK(rendered.empty(), rendered);
  } else if (value.is_str()) {
    FUZZ_CHECK(rendered == value.as_str(), rendered);
  } else {
    auto back = smrun::config::parse_py_json(rendered);
    FUZZ_CHECK(back.has_value(), "env value is not JSON: " + rendered);
    FUZZ_CHECK(smrun::config::dump_py_json(*back) == rendered, "env value does not round-trip");
    for (char c : rendered) FUZZ_CHECK(static_cast<unsigned char>(c) < 0x80, rendered);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const PyDict raw =
      raw_hyperparameters(std::string_view(reinterpret_cast<const char*>(data), size));

  const PyDict decoded = hp::decode_hyperparameters(raw);
  FUZZ_CHECK(decoded.size() == raw.size(), "decoding changed the number of keys");
  for (std::size_t i = 0; i < raw.size(); ++i)
    FUZZ_CHECK(decoded[i].first == raw[i].first, "decoding changed key order");

  const auto split = hp::split_hyperparameters(decoded);
  FUZZ_CHECK(split.user.size() + split.sagemaker.size() + split.smrun.size() == decoded.size(),
             "split is not a partition");
  const auto& reserved = hp::reserved_hyperparameter_names();
  const auto is_reserved = [&](const std::string& key) {
    return std::find(reserved.begin(), reserved.end(), key) != reserved.end();
  };
  for (const auto& [key, value] : split.sagemaker)
    FUZZ_CHECK(is_reserved(key) || starts_with(key, "sagemaker_"), key);
  for (const auto& [key, value] : split.framework) FUZZ_CHECK(!is_reserved(key), key);
  for (const auto& [key, value] : split.smrun) FUZZ_CHECK(starts_with(key, "smrun_"), key);
  for (const auto& [key, value] : split.user)
    FUZZ_CHECK(!is_reserved(key) && !starts_with(key, "sagemaker_") && !starts_with(key, "smrun_"),
               key);

  const std::vector<std::string> argv = hp::to_cmd_args(split.user);
  FUZZ_CHECK(argv == hp::to_cmd_args(split.user), "to_cmd_args is not deterministic");
  FUZZ_CHECK(argv.size() == 2 * split.user.size(), "argv is not two entries per hyperparameter");
  std::vector<std::string> keys;
  for (const auto& [key, value] : split.user) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string& flag = argv[2 * i];
    if (keys[i].empty()) {
      FUZZ_CHECK(flag.empty(), flag);
    } else {
      const std::string dashes = smrun::base::code_point_count(keys[i]) > 1 ? "--" : "-";
      FUZZ_CHECK(flag == dashes + keys[i], flag + " for key " + keys[i]);
    }
  }

  for (const auto& [key, value] : decoded) {
    check_env_value(value);
    const std::string env_key = hp::format_env_key("hp_" + key);
    FUZZ_CHECK(starts_with(env_key, "SM_HP_"), env_key);
    FUZZ_CHECK(env_key == hp::format_env_key("hp_" + key), "format_env_key is not deterministic");
    const std::string repr = hp::py_repr(value);
    FUZZ_CHECK(repr == hp::py_repr(value), "py_repr is not deterministic");
    check_printable(repr);
    check_printable(hp::py_repr(PyValue::str(key)));
  }
  return 0;
}
