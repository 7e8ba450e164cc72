#include "smrun/base/unicode.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "support/test_support.hpp"

namespace smrun::base {
namespace {

TEST(PyUpper, AsciiAndLatin1) {
  EXPECT_EQ(py_upper("batch-size_lr2"), "BATCH-SIZE_LR2");
  EXPECT_EQ(py_upper("learningRate"), "LEARNINGRATE");
  EXPECT_EQ(py_upper(""), "");
  EXPECT_EQ(py_upper("\xc3\xa9t\xc3\xa9"), "\xc3\x89T\xc3\x89");  // été -> ÉTÉ
  EXPECT_EQ(py_upper("\xc3\xbf"), "\xc5\xb8");                    // ÿ -> Ÿ (U+0178)
  EXPECT_EQ(py_upper("\xc2\xb5"), "\xce\x9c");                    // µ -> Greek capital MU
  EXPECT_EQ(py_upper("\xc4\xb1"), "I");                           // dotless ı -> I
  EXPECT_EQ(py_upper("\xc5\xbf"), "S");                           // long s -> S
}

TEST(PyUpper, MultiCharacterMappings) {
  EXPECT_EQ(py_upper("stra\xc3\x9f"
                     "e"),
            "STRASSE");                                         // ß -> SS
  EXPECT_EQ(py_upper("\xef\xac\x81x"), "FIX");                  // ﬁ ligature -> FI
  EXPECT_EQ(py_upper("\xc5\x89"), "\xca\xbcN");                 // ŉ -> ʼN
  EXPECT_EQ(py_upper("\xce\x90"), "\xce\x99\xcc\x88\xcc\x81");  // ΐ -> Ϊ́ (3 code points)
  EXPECT_EQ(py_upper("\xef\xac\x83"), "FFI");                   // ﬃ
}

TEST(PyUpper, TitlecaseStrideAndAstral) {
  EXPECT_EQ(py_upper("\xc7\x85"), "\xc7\x84");                  // ǅ -> Ǆ
  EXPECT_EQ(py_upper("\xc4\x81\xc4\x83"), "\xc4\x80\xc4\x82");  // āă -> ĀĂ (stride-2 run)
  EXPECT_EQ(py_upper("\xc4\x80"), "\xc4\x80");                  // already upper
  EXPECT_EQ(py_upper("\xf0\x90\x90\xa8"), "\xf0\x90\x90\x80");  // Deseret 𐐨 -> 𐐀
  EXPECT_EQ(py_upper("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // emoji unchanged
}

TEST(PyUpper, InvalidBytesPassThrough) {
  EXPECT_EQ(py_upper("a\xff"
                     "b\xc3"),
            "A\xff"
            "B\xc3");
  EXPECT_EQ(py_upper("\xed\xa0\x80x"), "\xed\xa0\x80X");  // WTF-8 lone surrogate kept
}

TEST(PyIsPrintable, SpotChecks) {
  EXPECT_TRUE(py_isprintable(U' '));
  EXPECT_TRUE(py_isprintable(U'a'));
  EXPECT_TRUE(py_isprintable(U'~'));
  EXPECT_FALSE(py_isprintable(0x00));
  EXPECT_FALSE(py_isprintable(U'\t'));
  EXPECT_FALSE(py_isprintable(0x7F));
  EXPECT_FALSE(py_isprintable(0x85));     // NEL (Cc)
  EXPECT_FALSE(py_isprintable(0xA0));     // NBSP (Zs other than space)
  EXPECT_TRUE(py_isprintable(0xA1));      // ¡
  EXPECT_FALSE(py_isprintable(0xAD));     // soft hyphen (Cf)
  EXPECT_TRUE(py_isprintable(0xE9));      // é
  EXPECT_FALSE(py_isprintable(0x0378));   // unassigned (Cn)
  EXPECT_FALSE(py_isprintable(0x200B));   // zero width space (Cf)
  EXPECT_FALSE(py_isprintable(0x2028));   // line separator (Zl)
  EXPECT_FALSE(py_isprintable(0x2029));   // paragraph separator (Zp)
  EXPECT_FALSE(py_isprintable(0x3000));   // ideographic space (Zs)
  EXPECT_TRUE(py_isprintable(0x4E2D));    // 中
  EXPECT_FALSE(py_isprintable(0xD800));   // surrogate (Cs)
  EXPECT_FALSE(py_isprintable(0xE000));   // private use (Co)
  EXPECT_FALSE(py_isprintable(0xFEFF));   // BOM (Cf)
  EXPECT_TRUE(py_isprintable(0xFFFD));    // replacement character
  EXPECT_FALSE(py_isprintable(0xFFFF));   // noncharacter
  EXPECT_TRUE(py_isprintable(0x1F600));   // 😀
  EXPECT_TRUE(py_isprintable(0x1F978));   // 🥸 (Unicode 13)
  EXPECT_TRUE(py_isprintable(0x1FAE0));   // 🫠 (Unicode 14, CPython 3.11)
  EXPECT_FALSE(py_isprintable(0xE0001));  // language tag (Cf)
  EXPECT_FALSE(py_isprintable(0x10FFFF));
  EXPECT_FALSE(py_isprintable(0x110000));  // beyond Unicode
}

TEST(Utf8, DecodeValidInvalidAndSurrogates) {
  const std::string text =
      "a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\xed\xa0\x80\xff\xc0\xaf\xf4\x90\x80\x80";
  std::size_t pos = 0;
  const auto next = [&] {
    DecodedCodePoint d = decode_utf8(text, pos);
    pos += d.length;
    return d;
  };
  EXPECT_EQ(next().code_point, U'a');
  EXPECT_EQ(next().code_point, 0xE9u);
  EXPECT_EQ(next().code_point, 0x4E2Du);
  EXPECT_EQ(next().code_point, 0x1F600u);
  DecodedCodePoint surrogate = next();
  EXPECT_EQ(surrogate.code_point, 0xD800u);
  EXPECT_TRUE(surrogate.valid);
  DecodedCodePoint ff = next();
  EXPECT_FALSE(ff.valid);
  EXPECT_EQ(ff.code_point, 0xDCFFu);  // surrogateescape view
  EXPECT_FALSE(next().valid);         // overlong C0 AF: two invalid bytes
  EXPECT_FALSE(next().valid);
  EXPECT_FALSE(next().valid);  // F4 90.. > U+10FFFF
  EXPECT_EQ(code_point_count(text), 5u + 2u + 4u + 1u + 0u);
  EXPECT_EQ(code_point_count("\xc3"), 1u);  // truncated sequence counts as one
}

TEST(Utf8, AppendRoundTrips) {
  for (char32_t cp : {U'\0', U'a', char32_t{0x7FF}, char32_t{0x800}, char32_t{0xD800},
                      char32_t{0xFFFF}, char32_t{0x10000}, char32_t{0x10FFFF}}) {
    std::string s;
    append_utf8(s, cp);
    const DecodedCodePoint d = decode_utf8(s, 0);
    EXPECT_EQ(d.code_point, cp);
    EXPECT_EQ(d.length, s.size());
    EXPECT_TRUE(d.valid);
  }
}

// Every code point against the interpreter the tables were generated from: catches a stale or
// hand-edited table and any mistake in the run/stride lookup.
TEST(UnicodeTables, MatchCPythonForEveryCodePoint) {
  const std::filesystem::path python = "/usr/bin/python3";
  if (!std::filesystem::exists(python)) {
    GTEST_SKIP() << "!!! /usr/bin/python3 missing: Unicode tables NOT checked against CPython !!!";
  }
  test::TempDir dir;
  const auto script = dir / "dump.py";
  test::write_file(
      script,
      "import sys\n"
      "out = []\n"
      "for cp in range(0x110000):\n"
      "    if 0xD800 <= cp <= 0xDFFF: continue\n"
      "    c = chr(cp)\n"
      "    u = c.upper()\n"
      "    p = '1' if c.isprintable() else '0'\n"
      "    if u != c or p == '1':\n"
      "        out.append('%x %s %s' % (cp, p, u.encode('utf-8').hex() if u != c else '-'))\n"
      "sys.stdout.write('\\n'.join(out) + '\\n')\n");
  test::ProcessOptions options;
  options.argv = {python.string(), script.string()};
  const test::ProcessResult r = test::run_process(options);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<char32_t, std::pair<bool, std::string>> expected;  // cp -> printable, upper hex
  std::istringstream lines(r.out);
  std::string hex_cp, printable, upper_hex;
  while (lines >> hex_cp >> printable >> upper_hex) {
    expected[static_cast<char32_t>(std::stoul(hex_cp, nullptr, 16))] = {printable == "1",
                                                                        upper_hex};
  }
  ASSERT_GT(expected.size(), 100000u);
  int failures = 0;
  for (char32_t cp = 0; cp < 0x110000 && failures < 20; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string utf8;
    append_utf8(utf8, cp);
    const auto it = expected.find(cp);
    const bool want_printable = it != expected.end() && it->second.first;
    std::string want_upper = utf8;
    if (it != expected.end() && it->second.second != "-") {
      want_upper.clear();
      for (std::size_t i = 0; i < it->second.second.size(); i += 2) {
        want_upper.push_back(
            static_cast<char>(std::stoi(it->second.second.substr(i, 2), nullptr, 16)));
      }
    }
    if (py_isprintable(cp) != want_printable) {
      ++failures;
      ADD_FAILURE() << "isprintable U+" << std::hex << static_cast<unsigned>(cp);
    }
    if (py_upper(utf8) != want_upper) {
      ++failures;
      ADD_FAILURE() << "upper U+" << std::hex << static_cast<unsigned>(cp);
    }
  }
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace smrun::base
