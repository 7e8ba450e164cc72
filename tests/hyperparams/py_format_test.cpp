#include "smrun/hyperparams/py_format.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "smrun/config/py_json.hpp"

namespace smrun::hyperparams {
namespace {

using config::PyValue;

std::string repr_of_json(std::string_view json) {
  auto v = config::parse_py_json(json);
  EXPECT_TRUE(v.has_value()) << json;
  return v ? py_repr(*v) : "<parse failed>";
}

TEST(PyRepr, Scalars) {
  EXPECT_EQ(py_repr(PyValue::none()), "None");
  EXPECT_EQ(py_repr(PyValue::boolean(true)), "True");
  EXPECT_EQ(py_repr(PyValue::boolean(false)), "False");
  EXPECT_EQ(py_repr(PyValue::integer(-5)), "-5");
  EXPECT_EQ(py_repr(PyValue::integer_text("123456789012345678901234567890")),
            "123456789012345678901234567890");
  EXPECT_EQ(py_repr(PyValue::real(1e-5)), "1e-05");
  EXPECT_EQ(py_repr(PyValue::real(std::nan(""))), "nan");
  EXPECT_EQ(py_float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(py_float_repr(1e16), "1e+16");
  EXPECT_EQ(py_float_repr(-0.0), "-0.0");
}

TEST(PyRepr, StringQuoteSelection) {
  EXPECT_EQ(py_repr(PyValue::str("adam")), "'adam'");
  EXPECT_EQ(py_repr(PyValue::str("")), "''");
  EXPECT_EQ(py_repr(PyValue::str("it's")), "\"it's\"");
  EXPECT_EQ(py_repr(PyValue::str("a\"b")), "'a\"b'");
  EXPECT_EQ(py_repr(PyValue::str("it's \"x\"")), "'it\\'s \"x\"'");
  EXPECT_EQ(py_repr(PyValue::str("back\\slash")), "'back\\\\slash'");
}

TEST(PyRepr, StringEscapes) {
  EXPECT_EQ(py_repr(PyValue::str("tab\t nl\n cr\r")), "'tab\\t nl\\n cr\\r'");
  EXPECT_EQ(py_repr(PyValue::str(std::string("\x00\x01\x1b\x7f", 4))), "'\\x00\\x01\\x1b\\x7f'");
  EXPECT_EQ(py_repr(PyValue::str("\xc2\x85\xc2\xa0\xc2\xad")), "'\\x85\\xa0\\xad'");
  EXPECT_EQ(py_repr(PyValue::str("\xc3\xa9\xc2\xa1\xc3\xb8")), "'\xc3\xa9\xc2\xa1\xc3\xb8'");
  EXPECT_EQ(py_repr(PyValue::str("\xe4\xb8\xad\xe2\x80\xa8\xef\xbb\xbf")),
            "'\xe4\xb8\xad\\u2028\\ufeff'");
  EXPECT_EQ(py_repr(PyValue::str("\xf0\x9f\x98\x80\xf3\xa0\x80\x81")),
            "'\xf0\x9f\x98\x80\\U000e0001'");
  EXPECT_EQ(py_repr(PyValue::str("\xed\xa0\x80")), "'\\ud800'");
  EXPECT_EQ(py_repr(PyValue::str("\xff")), "'\\udcff'");  // undecodable byte: surrogateescape
}

TEST(PyRepr, Containers) {
  EXPECT_EQ(repr_of_json(R"([1, "a", null, true])"), "[1, 'a', None, True]");
  EXPECT_EQ(repr_of_json(R"({"b": 2, "a": [1]})"), "{'b': 2, 'a': [1]}");
  EXPECT_EQ(repr_of_json(R"(["1", ["2", "3", [["6"]]]])"), "['1', ['2', '3', [['6']]]]");
  EXPECT_EQ(repr_of_json(R"({"it's": "a\"b", "x": {}})"), "{\"it's\": 'a\"b', 'x': {}}");
  EXPECT_EQ(repr_of_json(R"([[], {}, 1.0, 1e300, -Infinity, NaN])"),
            "[[], {}, 1.0, 1e+300, -inf, nan]");
  EXPECT_EQ(repr_of_json(R"(["it's", "a\"b", "tab\t", "\u00e9", "back\\slash"])"),
            "[\"it's\", 'a\"b', 'tab\\t', '\xc3\xa9', 'back\\\\slash']");
}

TEST(PyStr, StringsVerbatimOthersRepr) {
  EXPECT_EQ(py_str(PyValue::str("it's \"raw\"\n")), "it's \"raw\"\n");
  EXPECT_EQ(py_str(PyValue::none()), "None");
  EXPECT_EQ(py_str(PyValue::boolean(true)), "True");
  EXPECT_EQ(py_str(PyValue::real(1000.0)), "1000.0");
  EXPECT_EQ(py_str(PyValue::list({PyValue::str("a")})), "['a']");
}

}  // namespace
}  // namespace smrun::hyperparams
