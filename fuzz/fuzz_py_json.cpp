// Fuzzes config::parse_py_json (Python's json.loads) and dump_py_json (json.dumps with
// sort_keys, compact separators, ensure_ascii).
//
// Invariants, for every input:
// - parsing never crashes, hangs or recurses past the depth limit;
// - a rejected document has a sane position (line/column >= 1, offset within the text);
// - an accepted document dumps to pure ASCII, and parse -> dump -> parse -> dump is a fixed point;
// - every float is rendered by py_float_repr with digits that read back as the same double;
// - a tight depth limit only ever turns success into failure, never changes the result.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "smrun/base/unicode.hpp"
#include "smrun/config/py_json.hpp"

namespace {

using smrun::config::PyValue;

void check_floats(const PyValue& value) {
  switch (value.kind()) {
    case PyValue::Kind::kFloat: {
      const double d = value.as_float();
      const std::string repr = smrun::config::py_float_repr(d);
      if (std::isnan(d)) {
        FUZZ_CHECK(repr == "nan", repr);
      } else if (std::isinf(d)) {
        FUZZ_CHECK(repr == (d > 0 ? "inf" : "-inf"), repr);
      } else {
        double back = 0;
        const auto [end, ec] = std::from_chars(repr.data(), repr.data() + repr.size(), back);
        FUZZ_CHECK(ec == std::errc() && end == repr.data() + repr.size(), "unreadable " + repr);
        FUZZ_CHECK(back == d && std::signbit(back) == std::signbit(d), "not round-trip: " + repr);
      }
      return;
    }
    case PyValue::Kind::kList:
      for (const PyValue& item : value.as_list()) check_floats(item);
      return;
    case PyValue::Kind::kDict:
      for (const auto& [key, item] : value.as_dict()) check_floats(item);
      return;
    default:
      return;
  }
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto parsed = smrun::config::parse_py_json(text);
  if (!parsed) {
    const auto& e = parsed.error();
    FUZZ_CHECK(!e.message.empty(), "empty error message");
    FUZZ_CHECK(e.line >= 1 && e.column >= 1, smrun::config::format_json_error(e));
    FUZZ_CHECK(e.offset <= smrun::base::code_point_count(text),
               smrun::config::format_json_error(e));
    FUZZ_CHECK(e.message.find('\n') == std::string::npos, e.message);
    (void)smrun::config::format_json_error(e);
  } else {
    check_floats(*parsed);
    const std::string first = smrun::config::dump_py_json(*parsed);
    FUZZ_CHECK(is_ascii(first), first);
    auto reparsed = smrun::config::parse_py_json(first);
    FUZZ_CHECK(reparsed.has_value(),
               "dump does not parse: " + smrun::config::format_json_error(reparsed.error()));
    const std::string second = smrun::config::dump_py_json(*reparsed);
    FUZZ_CHECK(first == second, first + " != " + second);
  }

  // A small limit may refuse deep documents, but anything it accepts must equal the full parse.
  auto shallow = smrun::config::parse_py_json(text, smrun::config::ParseLimits{4});
  if (shallow) {
    FUZZ_CHECK(parsed.has_value(), "accepted only with the smaller depth limit");
    FUZZ_CHECK(smrun::config::dump_py_json(*shallow) == smrun::config::dump_py_json(*parsed),
               "depth limit changed the result");
  }
  return 0;
}
