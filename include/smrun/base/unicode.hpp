#pragma once

// The two pieces of Python's Unicode database the reference's output depends on, as tables
// generated from CPython 3.11 (tools/gen_unicode_tables.py; regenerate, never edit by hand).

#include <cstddef>
#include <string>
#include <string_view>

namespace smrun::base {

// str.upper() on UTF-8 text, with Python's full case mappings ("ß" -> "SS"). Invalid UTF-8 bytes
// are passed through unchanged.
std::string py_upper(std::string_view utf8);

// str.isprintable() for one code point (decides \x.. / \u.. escapes in repr()).
bool py_isprintable(char32_t cp);

// --- UTF-8 helpers shared by the Python renderers (py_json, py_format). Text is WTF-8: encoded
// surrogates (from "\ud800" JSON escapes) are accepted as code points like Python's str holds
// them.

struct DecodedCodePoint {
  char32_t code_point = 0;
  std::size_t length = 1;  // bytes consumed, >= 1
  bool valid = true;
};

// Decodes the sequence starting at text[pos] (pos < text.size()). An invalid byte (bad lead,
// truncated, overlong, > U+10FFFF) consumes one byte and decodes as U+DC80..U+DCFF with
// valid = false: Python's surrogateescape view of undecodable bytes.
DecodedCodePoint decode_utf8(std::string_view text, std::size_t pos);

// Appends the (W)UTF-8 encoding of cp (surrogates as 3 bytes).
void append_utf8(std::string& out, char32_t cp);

// Number of code points (Python len()), invalid bytes counting one each.
std::size_t code_point_count(std::string_view text);

}  // namespace smrun::base
