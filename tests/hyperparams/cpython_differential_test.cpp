// Differential test against the real CPython: a corpus of hand-picked and pseudo-random JSON
// documents and raw hyperparameter strings is run through /usr/bin/python3 once (json.loads,
// repr, str, json.dumps(sort_keys, compact, ensure_ascii), the toolkit's to_cmd_args and
// to_env_vars, str.upper) and every field is compared with smrun's implementation.
//
// Transport is hex of UTF-8 (surrogatepass) both ways, so the comparison does not depend on the
// JSON code under test.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "smrun/base/unicode.hpp"
#include "smrun/config/py_json.hpp"
#include "smrun/hyperparams/hyperparameters.hpp"
#include "smrun/hyperparams/py_format.hpp"
#include "support/test_support.hpp"

namespace smrun::hyperparams {
namespace {

using config::PyDict;
using config::PyValue;

constexpr const char* kPython = "/usr/bin/python3";

// Mirrors sagemaker_training.mapping (to_cmd_args, _decode, to_env_vars.format_value) verbatim.
constexpr const char* kScript = R"PY(
import json, sys

def _decode(obj):
    if obj is None:
        return ""
    return str(obj)

def to_cmd_args(mapping):
    sorted_keys = sorted(mapping.keys())
    def arg_name(obj):
        string = _decode(obj)
        if string:
            return "--%s" % string if len(string) > 1 else "-%s" % string
        return ""
    def arg_value(value):
        if hasattr(value, "items"):
            return ",".join(["%s=%s" % (k, v) for k, v in sorted(value.items())])
        return _decode(value)
    out = []
    for key in sorted_keys:
        out += [arg_name(key), arg_value(mapping[key])]
    return out

def format_value(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

def hx(s):
    return s.encode("utf-8", "surrogatepass").hex()

def hxlist(items):
    return "%d:%s" % (len(items), ",".join(hx(i) for i in items))

lines = open(sys.argv[1]).read().split("\n")
out = []
for line in lines:
    if not line:
        continue
    raw = bytes.fromhex(line[1:]).decode("utf-8", "surrogatepass")
    try:
        v = json.loads(raw)
        ok, err = "1", ""
    except ValueError as e:
        ok, err, v = "0", str(e), raw
    mapping = v if isinstance(v, dict) else {"key": v, "k": raw}
    env = []
    for k, val in mapping.items():
        env += ["SM_%s" % ("hp_" + k).upper(), format_value(val)]
    out.append(" ".join([ok, hx(err), hx(repr(v)), hx(str(v)),
                         hx(json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)),
                         hx(format_value(v)), hxlist(to_cmd_args(mapping)), hx(raw.upper()),
                         hx(repr(raw)), hxlist(env)]))
sys.stdout.write("\n".join(out) + "\n")
)PY";

std::string to_hex(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string from_hex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string hex_list(const std::vector<std::string>& items) {
  std::string out = std::to_string(items.size()) + ":";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + to_hex(items[i]);
  return out;
}

// ---- corpus -------------------------------------------------------------------------------

std::vector<std::string> hand_picked() {
  std::vector<std::string> c = {
      // the reference's kitchen sink and spec examples
      "0.001",
      "10",
      "true",
      "false",
      "null",
      "\"adam\"",
      "adam",
      "[1, 2, \"a\"]",
      "{\"b\": 2, \"a\": [1]}",
      "1e3",
      "1.0",
      "01",
      "0.00001",
      "1e16",
      "NaN",
      "Infinity",
      " 5 ",
      "",
      "x",
      "y",
      "32",
      "{\"x\": null, \"y\": \"s\", \"z\": [1, \"a\"], \"w\": {\"n\": 1}}",
      "[\"it's\", \"a\\\"b\", \"tab\\t\", \"\xc3\xa9\", \"back\\\\slash\"]",
      // numbers
      "-Infinity",
      "-0",
      "-0.0",
      "0.0",
      "0e0",
      "0E-5",
      "1e400",
      "-1e400",
      "1e-400",
      "-1e-400",
      "5e-324",
      "2e-324",
      "3e-324",
      "2.2250738585072014e-308",
      "1.7976931348623157e308",
      "1.7976931348623158e308",
      "1.7976931348623159e308",
      "1e15",
      "1e17",
      "123456789012345678",
      "1234567890123456.0",
      "12345678901234567.0",
      "0.0001",
      "0.00012",
      "1e-4",
      "9.999e-5",
      "1e22",
      "1e23",
      "9007199254740993",
      "9007199254740993.0",
      "4.35",
      "2.675",
      "0.1",
      "0.2",
      "0.30000000000000004",
      "100",
      "100.0",
      "1E2",
      "1e+2",
      "1e-2",
      "-12.5e-1",
      "123456789012345678901234567890",
      "-123456789012345678901234567890",
      std::string(4300, '7'),
      std::string(4301, '7'),
      "-" + std::string(4300, '3'),
      "-" + std::string(4301, '3'),
      std::string(400, '1') + ".5",
      "0." + std::string(400, '0') + "1",
      "1" + std::string(400, '0') + "e-400",
      // strings and unicode
      "\"\xc3\x9f\"",
      "\"\xef\xac\x81\"",
      "\"\\u00df\\ufb01\"",
      "\"\\ud83d\\ude00\"",
      "\"\\ud800\"",
      "\"\\udc00\"",
      "\"\\ud800\\ud800\"",
      "\"\\udbff\\udfff\"",
      "\"\\u0000\\u001f\\u007f\\u0080\\u0085\\u009f\\u00a0\\u00ad\\u00ff\"",
      "\"\\u2028\\u2029\\u3000\\ufeff\\ue000\\uffff\\ufffd\\u0378\"",
      "\"\\udb40\\udc01\\udbc0\\udc00\"",
      "\"it's\"",
      "\"a\\\"b\"",
      "\"both ' and \\\"\"",
      "\"back\\\\slash\"",
      "\"\\t\\n\\r\\b\\f\\/\"",
      "\"\xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87\"",
      "\"\xc7\x85\xc5\x89\xce\x90\xef\xac\x83\"",
      "\"\xed\xa0\x80\"",
      "\"\x7f\"",
      // raw (non-JSON) hyperparameter strings
      "it's",
      "a\"b",
      "it's \"both\"",
      "tab\there",
      "new\nline",
      "stra\xc3\x9f"
      "e",
      "\xef\xac\x81",
      "\xf0\x9f\x98\x80",
      "\xe4\xb8\xad\xe6\x96\x87",
      "\x7f",
      "\x01",
      "\xc2\xa0",
      "\xc2\xad",
      "\xe2\x80\xa8",
      "\xef\xbb\xbf"
      "1",
      "\xef\xbb\xbf\"x\"",
      "back\\slash",
      "s3://bucket/key",
      "--flag",
      "a=b,c=d",
      "\xed\xa0\x80",
      "\xed\xb0\x80\xed\xa0\x80",
      // invalid JSON of every error kind
      "[1,]",
      "{",
      "[",
      "\"abc",
      "\"a\x01\"",
      "\"\\x\"",
      "\"\\u12\"",
      "\"\\u12",
      "\"\\u1234",
      "\"\\ud834\\uzzzz\"",
      "\"\\ud834\\u12\"",
      "\"\\ud834\\",
      "{\"a\" 1}",
      "{1:2}",
      "[1 2]",
      "1 2",
      "\n\n  x",
      "tru",
      "nul",
      "-",
      "-x",
      ".5",
      "+1",
      "1.",
      "1e",
      "1e+",
      "1.5e+",
      "1.5E-",
      "0x10",
      "Infinityx",
      "infinity",
      "nan",
      "None",
      "True",
      "[NaN,-Infinity]",
      "[\"\\ud83d\", \"\\ude00\"]",
      "{\"a\":1,}",
      "{\"a\":}",
      "{\"a\":1 \"b\":2}",
      "[1,\n  ]",
      "\r\n\t[\r\n1\r\n]\r\n",
      "{\"a\":\n\"\xc3\xa9\n\"}",
      "\"\xc3\xa9\xc3\xa9\\q\"",
      "[\"\xe4\xb8\xad\", x]",
      "  \"unterminated \xf0\x9f\x98\x80",
      "{\"\xc3\xa9\":\n 1,\n \xe4\xb8\xad}",
      "\f1",
      "1\v",
      // dicts for argv (sorting, single-character names, dict values)
      "{\"a\":1,\"b\":2,\"a\":3}",
      "{\"\": 1, \"a\": null, \"\xc3\xa9\": {\"z\": [1, \"x\"], \"a\": null, \"\": \"\"}, \"ab\": "
      "\"x\", \"B\": true, \"\xe4\xb8\xad\": 1.5, \"\xf0\x9f\x98\x80\": \"s\", \"_\": [], \"9\": "
      "{}}",
      "{\"map\":{\"a\":[1,3,4]},\"channel_dirs\":{\"train\":\"foo\",\"eval\":\"bar\"}}",
      "{\"da-sh\":\"1\",\"un_der\":\"2\",\"un-sh\":\"3\",\"da_der\":\"2\"}",
      "{\"U\":\"1\",\"b\":\"2\",\"T\":\"\",\"\":\"42\"}",
      "{\"\\ud800\": 1, \"\\udfff\": 2, "
      "\"\\ue000\": 3, \"\\ud7ff\": 4, \"\\ud83d\\ude00\": 5}",
      "{\"stra\xc3\x9f"
      "e\": 1, \"\xef\xac\x81\": 2, \"batch-size\": 3, \"learningRate\": 4}",
      "{\"d\": {\"k\": \"it's\", \"j\": {\"x\": \"a\\\"b\"}, \"i\": 1e-7, \"h\": [NaN, Infinity]}}",
  };
  return c;
}

class CorpusGenerator {
 public:
  explicit CorpusGenerator(std::uint64_t seed) : m_rng(seed) {}

  std::string value(int depth) {
    switch (pick(depth > 3 ? 6 : 8)) {
      case 0:
        return pick_of({"null", "true", "false", "NaN", "Infinity", "-Infinity"});
      case 1:
        return integer();
      case 2:
      case 3:
        return number();
      case 4:
      case 5:
        return string();
      case 6:
        return array(depth);
      default:
        return object(depth);
    }
  }

  // A random finite double written so that Python and smrun parse the same value.
  std::string random_double() {
    double d;
    do {
      const std::uint64_t bits = m_rng();
      std::memcpy(&d, &bits, sizeof d);
    } while (!std::isfinite(d));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", static_cast<int>(1 + pick(17)), d);
    return buf;
  }

  // Deletes or inserts one ASCII character, never splitting a UTF-8 sequence.
  std::string mutate(std::string s) {
    const std::size_t pos = s.empty() ? 0 : pick(s.size());
    if (!s.empty() && pick(2) == 0 && static_cast<unsigned char>(s[pos]) < 0x80) {
      s.erase(pos, 1);
    } else if (pos == s.size() || (static_cast<unsigned char>(s[pos]) & 0xC0) != 0x80) {
      static constexpr char kChars[] = ",:[]{}\"\\ 0-.eEa\x01tnu";
      s.insert(pos, 1, kChars[pick(sizeof kChars - 1)]);
    }
    return s;
  }

  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(m_rng);
  }

 private:
  std::string pick_of(std::initializer_list<const char*> options) {
    return *(options.begin() + pick(options.size()));
  }

  std::string ws() {
    std::string out;
    while (pick(4) == 0) out.push_back(" \t\n\r"[pick(4)]);
    return out;
  }

  std::string digits(std::size_t n, bool leading_nonzero) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(static_cast<char>('0' + (i == 0 && leading_nonzero ? 1 + pick(9) : pick(10))));
    }
    return out;
  }

  std::string integer() {
    const std::size_t n = 1 + pick(pick(2) ? 3 : 40);
    std::string out = pick(3) == 0 ? "-" : "";
    return out + (n == 1 ? digits(1, false) : digits(n, true));
  }

  std::string number() {
    std::string out = integer();
    if (pick(3) != 0) out += "." + digits(1 + pick(20), false);
    if (pick(2) == 0) {
      out += pick(2) ? "e" : "E";
      if (pick(2)) out += pick(2) ? "-" : "+";
      out += std::to_string(pick(2) ? pick(25) : pick(340));
    }
    return out;
  }

  std::string string() {
    std::string out = "\"";
    const std::size_t n = pick(12);
    for (std::size_t i = 0; i < n; ++i) {
      switch (pick(10)) {
        case 0:
          out += pick_of({"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "'"});
          break;
        case 1: {  // \uXXXX, often surrogates
          char buf[8];
          const unsigned cp = pick(3) == 0 ? 0xD800 + pick(0x800) : pick(0x10000);
          std::snprintf(buf, sizeof buf, pick(2) ? "\\u%04x" : "\\u%04X", cp);
          out += buf;
          break;
        }
        case 2:
          base::append_utf8(out, static_cast<char32_t>(0x80 + pick(0x180)));
          break;
        case 3: {  // any BMP or astral code point except surrogates
          char32_t cp;
          do {
            cp = static_cast<char32_t>(pick(2) ? pick(0x10000) : 0x10000 + pick(0x100000));
          } while (cp < 0x20 || cp == '"' || cp == '\\' || (cp >= 0xD800 && cp <= 0xDFFF));
          base::append_utf8(out, cp);
          break;
        }
        default:
          out.push_back(static_cast<char>(0x20 + pick(0x5F)));
          break;
      }
      if (out.back() == '\\' && out[out.size() - 2] != '\\') out.push_back('\\');
    }
    return out + "\"";
  }

  std::string array(int depth) {
    std::string out = "[" + ws();
    const std::size_t n = pick(5);
    for (std::size_t i = 0; i < n; ++i) out += (i ? "," + ws() : "") + value(depth + 1) + ws();
    return out + "]";
  }

  std::string object(int depth) {
    std::string out = "{" + ws();
    const std::size_t n = pick(6);
    for (std::size_t i = 0; i < n; ++i) {
      static const char* const kKeys[] = {"a", "b", "A", "B", "_", "\xc3\xa9", "9", "ab"};
      const std::string key = pick(3) == 0 ? string() : "\"" + std::string(kKeys[pick(8)]) + "\"";
      out += (i ? "," + ws() : "") + key + ws() + ":" + ws() + value(depth + 1) + ws();
    }
    return out + "}";
  }

  std::mt19937_64 m_rng;
};

std::vector<std::string> corpus() {
  std::vector<std::string> c = hand_picked();
  CorpusGenerator gen(20240611);
  for (int i = 0; i < 2500; ++i) c.push_back(gen.value(0));
  for (int i = 0; i < 1500; ++i) c.push_back(gen.mutate(gen.value(0)));
  for (int i = 0; i < 1000; ++i) c.push_back(gen.random_double());
  return c;
}

// ---- smrun's side ---------------------------------------------------------------------------

std::vector<std::string> smrun_fields(const std::string& raw) {
  auto parsed = config::parse_py_json(raw);
  const bool ok = parsed.has_value();
  const PyValue v = ok ? *parsed : PyValue::str(raw);
  PyDict mapping = v.is_dict() ? v.as_dict() : PyDict{{"key", v}, {"k", PyValue::str(raw)}};
  std::vector<std::string> env;
  for (const auto& [k, val] : mapping) {
    env.push_back(format_env_key("hp_" + k));
    env.push_back(format_env_value(val));
  }
  return {ok ? "1" : "0",
          to_hex(ok ? "" : config::format_json_error(parsed.error())),
          to_hex(py_repr(v)),
          to_hex(py_str(v)),
          to_hex(config::dump_py_json(v)),
          to_hex(format_env_value(v)),
          hex_list(to_cmd_args(mapping)),
          to_hex(base::py_upper(raw)),
          to_hex(py_repr(PyValue::str(raw))),
          hex_list(env)};
}

const char* const kFieldNames[] = {"json.loads ok",    "error message", "repr",        "str",
                                   "json.dumps",       "format_value",  "to_cmd_args", "str.upper",
                                   "repr(raw string)", "to_env_vars"};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

TEST(CPythonDifferential, CorpusMatchesFieldByField) {
  if (!std::filesystem::exists(kPython)) {
    GTEST_SKIP() << "!!! " << kPython
                 << " missing: the CPython differential test did NOT run; smrun's Python "
                    "compatibility is unverified on this machine !!!";
  }
  const std::vector<std::string> inputs = corpus();
  test::TempDir dir;
  std::string hex_inputs;
  for (const std::string& in : inputs)
    hex_inputs += "x" + to_hex(in) + "\n";  // "x": empty inputs stay non-empty lines
  test::write_file(dir / "corpus.hex", hex_inputs);
  test::write_file(dir / "oracle.py", kScript);
  test::ProcessOptions options;
  options.argv = {kPython, (dir / "oracle.py").string(), (dir / "corpus.hex").string()};
  options.timeout = std::chrono::seconds(60);
  const test::ProcessResult r = test::run_process(options);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = split(r.out, '\n');
  ASSERT_GE(lines.size(), inputs.size());

  int mismatches = 0;
  int failures_ok = 0;
  for (std::size_t i = 0; i < inputs.size() && mismatches < 30; ++i) {
    const std::vector<std::string> want = split(lines[i], ' ');
    const std::vector<std::string> got = smrun_fields(inputs[i]);
    ASSERT_EQ(want.size(), got.size()) << "oracle line " << i;
    if (want[0] == "0") ++failures_ok;
    for (std::size_t f = 0; f < got.size(); ++f) {
      if (got[f] == want[f]) continue;
      ++mismatches;
      const bool is_list = f == 6 || f == 9;
      ADD_FAILURE() << "input #" << i << " " << config::dump_py_json(PyValue::str(inputs[i]))
                    << "\n  field: " << kFieldNames[f]
                    << "\n  CPython: " << (is_list || f == 0 ? want[f] : from_hex(want[f]))
                    << "\n  smrun:   " << (is_list || f == 0 ? got[f] : from_hex(got[f]));
      break;
    }
  }
  EXPECT_EQ(mismatches, 0);
  // The corpus must exercise both outcomes substantially.
  EXPECT_GT(failures_ok, 200);
  EXPECT_LT(failures_ok, static_cast<int>(inputs.size()) - 1000);
}

}  // namespace
}  // namespace smrun::hyperparams
