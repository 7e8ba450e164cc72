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
  std::string message;     // e.g. "Expecting value" (CPython's wording)
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in characters like CPython
  std::size_t offset = 0;  // 0-based character offset
  // False for the errors CPython raises as a plain ValueError without a position (the
  // 4300-digit int limit): format_json_error then prints the message alone.
  bool has_position = true;
};

// str() of CPython's exception: "Expecting value: line 1 column 1 (char 0)".
std::string format_json_error(const JsonSyntaxError& error);

struct ParseLimits {
  std::size_t max_depth = 512;  // nesting beyond this is refused instead of overflowing the stack
};

// json.loads(text). Accepts NaN, Infinity, -Infinity, ints of any size; surrounding JSON
// whitespace (space, \t, \n, \r) is allowed; anything after the value is "Extra data".
// Like CPython 3.11 it refuses int literals of more than 4300 digits (has_position = false) and
// a leading UTF-8 BOM. Python receives a str, smrun bytes: input that is not UTF-8 is refused
// ("Invalid UTF-8 byte 0xff"); encoded surrogates (WTF-8) are accepted as a str can hold them.
base::Expected<PyValue, JsonSyntaxError> parse_py_json(std::string_view text,
                                                       ParseLimits limits = {});

// json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).
std::string dump_py_json(const PyValue& value);

// json.dumps(value, indent=2, sort_keys=False, ensure_ascii=True) for people (`smrun env`):
// dict items in their order, one per line. Bytes that are not UTF-8 (a value from the process
// environment may hold any bytes) are written as U+FFFD, so the text is JSON every reader takes.
std::string dump_py_json_indented(const PyValue& value);

// float.__repr__ (also used by json.dumps): shortest round-trip digits, exponent form when the
// decimal exponent is < -4 or >= 16 ("1e-05", "1e+16", "1000.0", "-0.0", "nan", "inf").
// hyperparams::py_float_repr forwards here (config cannot depend on hyperparams).
std::string py_float_repr(double d);

}  // namespace smrun::config
