#pragma once

// Layout of the generated tables in unicode_tables.cpp (private to src/base/unicode.cpp).

#include <cstddef>
#include <cstdint>

namespace smrun::base::unicode_tables {

// Code points start, start + stride, ... (count of them) upper-case to code point + delta.
struct UpperRun {
  std::uint32_t start;
  std::uint32_t count;
  std::uint32_t stride;
  std::int32_t delta;
};

// A code point whose upper case is several code points (UTF-8 text).
struct UpperMulti {
  std::uint32_t code_point;
  const char* utf8;
};

struct CodeRange {
  std::uint32_t first;
  std::uint32_t last;  // inclusive
};

extern const UpperRun kUpperRuns[];
extern const std::size_t kUpperRunCount;
extern const UpperMulti kUpperMultis[];
extern const std::size_t kUpperMultiCount;
extern const CodeRange kPrintableRanges[];
extern const std::size_t kPrintableRangeCount;

}  // namespace smrun::base::unicode_tables
