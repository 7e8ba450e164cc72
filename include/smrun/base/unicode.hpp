#pragma once

// The two pieces of Python's Unicode database the reference's output depends on, as tables
// generated from CPython 3.11 (tools/gen_unicode_tables.py; regenerate, never edit by hand).

#include <string>
#include <string_view>

namespace smrun::base {

// str.upper() on UTF-8 text, with Python's full case mappings ("ß" -> "SS"). Invalid UTF-8 bytes
// are passed through unchanged.
std::string py_upper(std::string_view utf8);

// str.isprintable() for one code point (decides \x.. / \u.. escapes in repr()).
bool py_isprintable(char32_t cp);

}  // namespace smrun::base
