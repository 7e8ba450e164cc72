#pragma once

// Python's json module, reproduced: json.loads() accepting exactly what CPython accepts, and
// json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True) — the format of every
// JSON-valued SM_* variable the reference exports.

#include <string>
#include <string_view>

#include "smrun/base/expected.hpp"
#include "smrun/config/py_value.hpp"

namespace smrun::config {

struct JsonSyntaxError {
  std::string message;  // e.g. "Expecting value" (CPython's wording)
  std::size_t line = 1;   // 1-based
  std::size_t column = 1; // 1-based, in characters like CPython
  std::size_t offset = 0; // 0-based character offset
};

struct ParseLimits {
  std::size_t max_depth = 512;  // nesting beyond this is refused instead of overflowing the stack
};

// json.loads(text). Accepts NaN, Infinity, -Infinity, ints of any size; surrounding JSON
// whitespace (space, \t, \n, \r) is allowed; anything after the value is "Extra data".
base::Expected<PyValue, JsonSyntaxError> parse_py_json(std::string_view text,
                                                       ParseLimits limits = {});

// json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).
std::string dump_py_json(const PyValue& value);

}  // namespace smrun::config
