#include "smrun/config/py_json.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>

namespace smrun::config {
namespace {

PyValue parse_ok(std::string_view text) {
  auto r = parse_py_json(text);
  EXPECT_TRUE(r.has_value()) << "input: " << text
                             << " error: " << (r ? "" : format_json_error(r.error()));
  return r ? std::move(r).value() : PyValue::str("<parse failed>");
}

// str(JSONDecodeError) for a document CPython rejects.
std::string parse_error(std::string_view text, ParseLimits limits = {}) {
  auto r = parse_py_json(text, limits);
  if (r) return "<parsed: " + dump_py_json(*r) + ">";
  return format_json_error(r.error());
}

std::string round_trip(std::string_view text) {
  return dump_py_json(parse_ok(text));
}

TEST(ParsePyJson, Scalars) {
  EXPECT_EQ(parse_ok("null"), PyValue::none());
  EXPECT_EQ(parse_ok("true"), PyValue::boolean(true));
  EXPECT_EQ(parse_ok("false"), PyValue::boolean(false));
  EXPECT_EQ(parse_ok("\"adam\""), PyValue::str("adam"));
  EXPECT_EQ(parse_ok("10"), PyValue::integer(10));
  EXPECT_EQ(parse_ok("-7"), PyValue::integer(-7));
  EXPECT_EQ(parse_ok("0.1"), PyValue::real(0.1));
  EXPECT_EQ(parse_ok("1e3"), PyValue::real(1000.0));
  EXPECT_EQ(parse_ok("1E+3"), PyValue::real(1000.0));
  EXPECT_EQ(parse_ok("2.5e-3"), PyValue::real(0.0025));
}

TEST(ParsePyJson, IntsAreCanonicalAndUnbounded) {
  EXPECT_EQ(parse_ok("-0").as_int_text(), "0");
  EXPECT_EQ(parse_ok("0").as_int_text(), "0");
  const std::string big = "123456789012345678901234567890123456789";
  EXPECT_EQ(parse_ok(big).as_int_text(), big);
  EXPECT_EQ(parse_ok("-" + big).as_int_text(), "-" + big);
  EXPECT_EQ(parse_ok("9223372036854775807").as_int64(), INT64_MAX);
  EXPECT_EQ(parse_ok("-9223372036854775808").as_int64(), INT64_MIN);
  EXPECT_EQ(parse_ok("9223372036854775808").as_int64(), std::nullopt);
  EXPECT_TRUE(parse_ok("-0.0").is_float());
  EXPECT_TRUE(std::signbit(parse_ok("-0.0").as_float()));
}

TEST(ParsePyJson, IntDigitLimitLikeCPython311) {
  const std::string ok(4300, '9');
  EXPECT_EQ(parse_ok(ok).as_int_text(), ok);
  EXPECT_EQ(parse_ok("-" + ok).as_int_text(), "-" + ok);
  EXPECT_EQ(parse_error(std::string(4301, '1')),
            "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 "
            "digits; use sys.set_int_max_str_digits() to increase the limit");
  EXPECT_TRUE(parse_ok(std::string(5000, '1') + ".5").is_float());  // floats have no limit
}

TEST(ParsePyJson, NonFiniteAndExtremeFloats) {
  EXPECT_TRUE(std::isnan(parse_ok("NaN").as_float()));
  EXPECT_EQ(parse_ok("Infinity").as_float(), HUGE_VAL);
  EXPECT_EQ(parse_ok("-Infinity").as_float(), -HUGE_VAL);
  EXPECT_EQ(parse_ok("1e400").as_float(), HUGE_VAL);
  EXPECT_EQ(parse_ok("-1e400").as_float(), -HUGE_VAL);
  EXPECT_EQ(parse_ok("123.456e99999999999999999999").as_float(), HUGE_VAL);
  EXPECT_EQ(parse_ok("1e-400").as_float(), 0.0);
  EXPECT_TRUE(std::signbit(parse_ok("-1e-400").as_float()));
  EXPECT_EQ(parse_ok("0.000001e-330").as_float(), 0.0);
  EXPECT_EQ(parse_ok("0e999999").as_float(), 0.0);
  EXPECT_EQ(parse_ok("5e-324").as_float(), 4.9406564584124654e-324);
  EXPECT_EQ(parse_ok("1.7976931348623157e308").as_float(), 1.7976931348623157e308);
  // Correct rounding of a halfway case (2^53 + 1).
  EXPECT_EQ(parse_ok("9007199254740993.0").as_float(), 9007199254740992.0);
  EXPECT_EQ(parse_ok("0.1e1").as_float(), 1.0);
}

TEST(ParsePyJson, StringEscapes) {
  EXPECT_EQ(parse_ok(R"("a\"b\\c\/d\b\f\n\r\t")").as_str(), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(parse_ok(R"("\u00e9\u4e2d")").as_str(), "\xc3\xa9\xe4\xb8\xad");
  EXPECT_EQ(parse_ok(R"("\u0000")").as_str(), std::string(1, '\0'));
  EXPECT_EQ(parse_ok(R"("\ud83d\ude00")").as_str(), "\xf0\x9f\x98\x80");  // pair joined
  EXPECT_EQ(parse_ok(R"("\uD83D\uDE00")").as_str(), "\xf0\x9f\x98\x80");
  EXPECT_EQ(parse_ok(R"("\ud800")").as_str(), "\xed\xa0\x80");    // lone high: WTF-8
  EXPECT_EQ(parse_ok(R"("\udc00x")").as_str(), "\xed\xb0\x80x");  // lone low
  EXPECT_EQ(parse_ok(R"("\ud800\u0041")").as_str(),
            "\xed\xa0\x80"
            "A");  // not a pair
  EXPECT_EQ(parse_ok(R"("\ud800\ud800")").as_str(), "\xed\xa0\x80\xed\xa0\x80");
  EXPECT_EQ(parse_ok("\"\xc3\xa9\xf0\x9f\x98\x80\"").as_str(), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(parse_ok("\"\x7f\"").as_str(), "\x7f");  // DEL is not a control char for json
}

TEST(ParsePyJson, Containers) {
  EXPECT_EQ(parse_ok("[]"), PyValue::list());
  EXPECT_EQ(parse_ok("{}"), PyValue::dict());
  EXPECT_EQ(
      parse_ok(" [ 1 , \"a\" , [ ] , { } ] "),
      PyValue::list({PyValue::integer(1), PyValue::str("a"), PyValue::list(), PyValue::dict()}));
  const PyValue d = parse_ok("{\"b\": 2, \"a\": [1]}");
  ASSERT_TRUE(d.is_dict());
  ASSERT_EQ(d.as_dict().size(), 2u);
  EXPECT_EQ(d.as_dict()[0].first, "b");  // insertion order kept
  EXPECT_EQ(d.as_dict()[1].first, "a");
}

TEST(ParsePyJson, DuplicateKeysLastWinsAtFirstPosition) {
  const PyValue d = parse_ok(R"({"a": 1, "b": 2, "a": 3})");
  ASSERT_EQ(d.as_dict().size(), 2u);
  EXPECT_EQ(d.as_dict()[0], (std::pair<std::string, PyValue>("a", PyValue::integer(3))));
  EXPECT_EQ(d.as_dict()[1].first, "b");
  // Beyond the linear-scan threshold too.
  std::string text = "{";
  for (int i = 0; i < 40; ++i) text += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  text += "\"k3\": \"last\"}";
  const PyValue big = parse_ok(text);
  ASSERT_EQ(big.as_dict().size(), 40u);
  EXPECT_EQ(big.as_dict()[3].second, PyValue::str("last"));
  EXPECT_EQ(big.as_dict()[39].first, "k39");
}

TEST(ParsePyJson, WhitespaceAroundValue) {
  EXPECT_EQ(parse_ok(" \t\n\r5 \t\n\r"), PyValue::integer(5));
  EXPECT_EQ(parse_error("\f5"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("5\v"), "Extra data: line 1 column 2 (char 1)");
  EXPECT_EQ(parse_error("\xc2\xa0"
                        "5"),
            "Expecting value: line 1 column 1 (char 0)");
}

TEST(ParsePyJson, ErrorMessagesMatchCPython) {
  EXPECT_EQ(parse_error(""), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("   "), "Expecting value: line 1 column 4 (char 3)");
  EXPECT_EQ(parse_error("adam"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("01"), "Extra data: line 1 column 2 (char 1)");
  EXPECT_EQ(parse_error("1 2"), "Extra data: line 1 column 3 (char 2)");
  EXPECT_EQ(parse_error("1."), "Extra data: line 1 column 2 (char 1)");
  EXPECT_EQ(parse_error("1e"), "Extra data: line 1 column 2 (char 1)");
  EXPECT_EQ(parse_error("1.5e+"), "Extra data: line 1 column 4 (char 3)");
  EXPECT_EQ(parse_error("-"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("-x"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error(".5"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("+1"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("nul"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("nan"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("-Infinit"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("True"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("[1,]"), "Expecting value: line 1 column 4 (char 3)");
  EXPECT_EQ(parse_error("[1 2]"), "Expecting ',' delimiter: line 1 column 4 (char 3)");
  EXPECT_EQ(parse_error("["), "Expecting value: line 1 column 2 (char 1)");
  EXPECT_EQ(parse_error("[1"), "Expecting ',' delimiter: line 1 column 3 (char 2)");
  EXPECT_EQ(parse_error("{"),
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
  EXPECT_EQ(parse_error("{'a': 1}"),
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
  EXPECT_EQ(parse_error(R"({"a":1,})"),
            "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)");
  EXPECT_EQ(parse_error(R"({"a" 1})"), "Expecting ':' delimiter: line 1 column 6 (char 5)");
  EXPECT_EQ(parse_error(R"({"a":})"), "Expecting value: line 1 column 6 (char 5)");
  EXPECT_EQ(parse_error(R"({"a":1 "b":2})"), "Expecting ',' delimiter: line 1 column 8 (char 7)");
  EXPECT_EQ(parse_error("\"abc"), "Unterminated string starting at: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("[\"abc\\"), "Unterminated string starting at: line 1 column 2 (char 1)");
  EXPECT_EQ(parse_error("\"a\x01\""), "Invalid control character at: line 1 column 3 (char 2)");
  EXPECT_EQ(parse_error("\"a\nb\""), "Invalid control character at: line 1 column 3 (char 2)");
  EXPECT_EQ(parse_error(R"("\x")"), "Invalid \\escape: line 1 column 2 (char 1)");
  EXPECT_EQ(parse_error(R"("\u12")"), "Invalid \\uXXXX escape: line 1 column 3 (char 2)");
  EXPECT_EQ(parse_error(R"("\u1234)"), "Invalid \\uXXXX escape: line 1 column 3 (char 2)");
  EXPECT_EQ(parse_error(R"("\ud834\uzzzz")"), "Invalid \\uXXXX escape: line 1 column 9 (char 8)");
  EXPECT_EQ(parse_error("\xef\xbb\xbf"
                        "1"),
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)");
}

TEST(ParsePyJson, PositionsCountCharactersAndLines) {
  EXPECT_EQ(parse_error("\n\n  x"), "Expecting value: line 3 column 3 (char 4)");
  EXPECT_EQ(parse_error("[\"\xc3\xa9\xf0\x9f\x98\x80\", x]"),
            "Expecting value: line 1 column 8 (char 7)");
  EXPECT_EQ(parse_error("{\"\xc3\xa9\":\n 1,\n \xe4\xb8\xad}"),
            "Expecting property name enclosed in double quotes: line 3 column 2 (char 11)");
  auto r = parse_py_json("[1,\n  ]");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "Expecting value");
  EXPECT_EQ(r.error().line, 2u);
  EXPECT_EQ(r.error().column, 3u);
  EXPECT_EQ(r.error().offset, 6u);
}

TEST(ParsePyJson, InvalidUtf8IsRejectedNotCrashing) {
  EXPECT_EQ(parse_error("\"a\xff\""), "Invalid UTF-8 byte 0xff: line 1 column 3 (char 2)");
  EXPECT_EQ(parse_error("[\"\xc3\"]"), "Invalid UTF-8 byte 0xc3: line 1 column 3 (char 2)");
  EXPECT_EQ(parse_error("\xc0\xaf"), "Invalid UTF-8 byte 0xc0: line 1 column 1 (char 0)");
  EXPECT_EQ(parse_error("\"\xf4\x90\x80\x80\""),
            "Invalid UTF-8 byte 0xf4: line 1 column 2 (char 1)");
  // Encoded surrogates are what a Python str may hold: accepted.
  EXPECT_EQ(parse_ok("\"\xed\xa0\x80\"").as_str(), "\xed\xa0\x80");
}

TEST(ParsePyJson, DepthLimitRefusesInsteadOfOverflowing) {
  const std::string deep_ok = std::string(512, '[') + std::string(512, ']');
  EXPECT_TRUE(parse_py_json(deep_ok).has_value());
  const std::string too_deep = std::string(513, '[') + std::string(513, ']');
  EXPECT_EQ(parse_error(too_deep),
            "Exceeds the nesting limit (512 levels) while decoding a JSON array: line 1 column "
            "513 (char 512)");
  EXPECT_EQ(parse_error("{\"a\":{\"b\":[]}}", ParseLimits{2}),
            "Exceeds the nesting limit (2 levels) while decoding a JSON array: line 1 column 11 "
            "(char 10)");
  EXPECT_EQ(parse_error(std::string(1'000'000, '[')).substr(0, 26), "Exceeds the nesting limit ");
}

TEST(ParsePyJson, LargeInputsAreLinear) {
  const auto start = std::chrono::steady_clock::now();
  std::string big_string = "\"" + std::string(1 << 20, 'x') + "\\n\\u00e9\"";
  const PyValue s = parse_ok(big_string);
  EXPECT_EQ(s.as_str().size(), (1u << 20) + 3);
  std::string keys = "{";
  for (int i = 0; i < 100'000; ++i) {
    if (i) keys += ",";
    keys += "\"key" + std::to_string(i) + "\":" + std::to_string(i);
  }
  keys += ",\"key5\":\"dup\"}";
  const PyValue d = parse_ok(keys);
  ASSERT_EQ(d.as_dict().size(), 100'000u);
  EXPECT_EQ(d.as_dict()[5].second, PyValue::str("dup"));
  EXPECT_EQ(dump_py_json(d).size(), keys.size() - std::string(",\"key5\":\"dup\"").size() + 4);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Quadratic behaviour would take minutes; ASan's instrumentation on a loaded 2-core machine
  // took 7 s once.
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(elapsed, std::chrono::seconds(40));
#else
  EXPECT_LT(elapsed, std::chrono::seconds(5));
#endif
}

TEST(DumpPyJson, CompactSortedAscii) {
  EXPECT_EQ(round_trip(R"({"b": 2, "a": [1, {"z": null, "y": true}], "c": false})"),
            R"({"a":[1,{"y":true,"z":null}],"b":2,"c":false})");
  EXPECT_EQ(round_trip(R"({"b":1,"B":2,"_":3,"1":4,"\u00e9":5,"\ud83d\ude00":6,"\uffff":7})"),
            R"({"1":4,"B":2,"_":3,"b":1,"\u00e9":5,"\uffff":7,"\ud83d\ude00":6})");
  EXPECT_EQ(round_trip("[]"), "[]");
  EXPECT_EQ(round_trip("{}"), "{}");
  EXPECT_EQ(round_trip("-0"), "0");
}

TEST(DumpPyJson, StringEscapesLikeEnsureAscii) {
  EXPECT_EQ(dump_py_json(PyValue::str("a\"b\\c/d\b\f\n\r\t")), R"("a\"b\\c/d\b\f\n\r\t")");
  EXPECT_EQ(dump_py_json(PyValue::str(std::string("\x00\x01\x1f\x7f", 4))),
            R"("\u0000\u0001\u001f\u007f")");
  EXPECT_EQ(dump_py_json(PyValue::str("\xc2\xa1\xc3\xb8")), R"("\u00a1\u00f8")");
  EXPECT_EQ(dump_py_json(PyValue::str("\xe4\xb8\xad\xef\xbf\xbd")), R"("\u4e2d\ufffd")");
  EXPECT_EQ(dump_py_json(PyValue::str("\xf0\x9f\x98\x80")), R"("\ud83d\ude00")");
  EXPECT_EQ(dump_py_json(PyValue::str("\xf4\x8f\xbf\xbf")), R"("\udbff\udfff")");
  EXPECT_EQ(dump_py_json(PyValue::str("\xed\xa0\x80")), R"("\ud800")");
  EXPECT_EQ(dump_py_json(PyValue::str("~ ")), R"("~ ")");
}

TEST(DumpPyJson, Numbers) {
  EXPECT_EQ(dump_py_json(PyValue::real(std::nan(""))), "NaN");
  EXPECT_EQ(dump_py_json(PyValue::real(HUGE_VAL)), "Infinity");
  EXPECT_EQ(dump_py_json(PyValue::real(-HUGE_VAL)), "-Infinity");
  EXPECT_EQ(dump_py_json(PyValue::real(1e-5)), "1e-05");
  EXPECT_EQ(dump_py_json(PyValue::real(1e16)), "1e+16");
  EXPECT_EQ(dump_py_json(PyValue::real(1.0)), "1.0");
  EXPECT_EQ(dump_py_json(PyValue::real(5.434322)), "5.434322");
  EXPECT_EQ(dump_py_json(PyValue::integer_text("-123456789012345678901234567890")),
            "-123456789012345678901234567890");
}

TEST(PyFloatRepr, PythonLayout) {
  EXPECT_EQ(py_float_repr(1e-5), "1e-05");
  EXPECT_EQ(py_float_repr(0.0001), "0.0001");
  EXPECT_EQ(py_float_repr(0.00012345), "0.00012345");
  EXPECT_EQ(py_float_repr(1e16), "1e+16");
  EXPECT_EQ(py_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(py_float_repr(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(py_float_repr(12345678901234567.0), "1.2345678901234568e+16");
  EXPECT_EQ(py_float_repr(1e22), "1e+22");
  EXPECT_EQ(py_float_repr(1e100), "1e+100");
  EXPECT_EQ(py_float_repr(1000.0), "1000.0");
  EXPECT_EQ(py_float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(py_float_repr(0.1), "0.1");
  EXPECT_EQ(py_float_repr(0.0), "0.0");
  EXPECT_EQ(py_float_repr(-0.0), "-0.0");
  EXPECT_EQ(py_float_repr(-1.5), "-1.5");
  EXPECT_EQ(py_float_repr(123.456), "123.456");
  EXPECT_EQ(py_float_repr(std::nan("")), "nan");
  EXPECT_EQ(py_float_repr(-std::nan("")), "nan");
  EXPECT_EQ(py_float_repr(HUGE_VAL), "inf");
  EXPECT_EQ(py_float_repr(-HUGE_VAL), "-inf");
  EXPECT_EQ(py_float_repr(5e-324), "5e-324");
  EXPECT_EQ(py_float_repr(-2.5e-310), "-2.5e-310");
  EXPECT_EQ(py_float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(py_float_repr(2.2250738585072014e-308), "2.2250738585072014e-308");
}

TEST(PyValueModel, TruthyFindSetKindName) {
  EXPECT_FALSE(PyValue::none().truthy());
  EXPECT_FALSE(PyValue::boolean(false).truthy());
  EXPECT_TRUE(PyValue::boolean(true).truthy());
  EXPECT_FALSE(PyValue::integer(0).truthy());
  EXPECT_TRUE(PyValue::integer(-1).truthy());
  EXPECT_FALSE(PyValue::real(0.0).truthy());
  EXPECT_FALSE(PyValue::real(-0.0).truthy());
  EXPECT_TRUE(PyValue::real(std::nan("")).truthy());
  EXPECT_FALSE(PyValue::str("").truthy());
  EXPECT_TRUE(PyValue::str("0").truthy());
  EXPECT_FALSE(PyValue::list().truthy());
  EXPECT_TRUE(PyValue::list({PyValue()}).truthy());
  EXPECT_FALSE(PyValue::dict().truthy());

  PyValue d = PyValue::dict();
  d.set("a", PyValue::integer(1));
  d.set("b", PyValue::integer(2));
  d.set("a", PyValue::integer(3));
  ASSERT_EQ(d.as_dict().size(), 2u);
  EXPECT_EQ(d.as_dict()[0].first, "a");
  ASSERT_NE(d.find("a"), nullptr);
  EXPECT_EQ(*d.find("a"), PyValue::integer(3));
  EXPECT_EQ(d.find("c"), nullptr);
  EXPECT_EQ(PyValue::integer(1).find("a"), nullptr);

  EXPECT_EQ(PyValue::integer(42).as_int64(), 42);
  EXPECT_EQ(PyValue::real(42.0).as_int64(), std::nullopt);
  EXPECT_STREQ(kind_name(PyValue::Kind::kNone), "null");
  EXPECT_STREQ(kind_name(PyValue::Kind::kBool), "bool");
  EXPECT_STREQ(kind_name(PyValue::Kind::kInt), "int");
  EXPECT_STREQ(kind_name(PyValue::Kind::kFloat), "float");
  EXPECT_STREQ(kind_name(PyValue::Kind::kStr), "string");
  EXPECT_STREQ(kind_name(PyValue::Kind::kList), "list");
  EXPECT_STREQ(kind_name(PyValue::Kind::kDict), "object");
}

}  // namespace
}  // namespace smrun::config

namespace smrun::config {
namespace {

// json.dumps(v, indent=2) of CPython (ensure_ascii, insertion order), byte for byte.
TEST(DumpPyJsonIndented, MatchesPythonsIndentTwo) {
  auto doc = parse_py_json(
      R"({"b": [1, 2.5, null, true], "a": {}, "c": [], "d": {"x": "é\n\"q"}, "e": [[], {"k": [1]}]})");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(dump_py_json_indented(*doc),
            "{\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"a\": {},\n  \"c\": "
            "[],\n  \"d\": {\n    \"x\": \"\\u00e9\\n\\\"q\"\n  },\n  \"e\": [\n    [],\n    {\n "
            "     \"k\": [\n        1\n      ]\n    }\n  ]\n}");
  // The compact form still sorts keys and has no spaces.
  EXPECT_EQ(dump_py_json(*doc),
            R"({"a":{},"b":[1,2.5,null,true],"c":[],"d":{"x":"\u00e9\n\"q"},"e":[[],{"k":[1]}]})");
}

// A value from the process environment may hold any bytes: the indented form stays valid JSON.
TEST(DumpPyJsonIndented, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  EXPECT_EQ(dump_py_json_indented(PyValue::str("a\xff"
                                               "b")),
            "\"a\\ufffdb\"");
  EXPECT_EQ(dump_py_json(PyValue::str("a\xff"
                                      "b")),
            "\"a\\udcffb\"");
}

}  // namespace
}  // namespace smrun::config
