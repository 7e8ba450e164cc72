#include "smrun/base/unicode.hpp"

#include <algorithm>

#include "unicode_tables.hpp"

namespace smrun::base {

namespace tables = unicode_tables;

DecodedCodePoint decode_utf8(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  const DecodedCodePoint invalid{static_cast<char32_t>(0xDC00 + lead), 1, false};
  if (lead < 0x80) return {lead, 1, true};
  std::size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return invalid;
  }
  if (text.size() - pos < length) return invalid;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char c = byte(pos + i);
    if ((c & 0xC0) != 0x80) return invalid;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF) return invalid;
  return {cp, length, true};
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t code_point_count(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t pos = 0; pos < text.size(); pos += decode_utf8(text, pos).length) ++count;
  return count;
}

namespace {

// Appends the upper case of cp, or returns false when cp has no upper-case mapping.
bool append_upper(std::string& out, char32_t cp) {
  const tables::UpperRun* runs_end = tables::kUpperRuns + tables::kUpperRunCount;
  const tables::UpperRun* run =
      std::upper_bound(tables::kUpperRuns, runs_end, cp,
                       [](char32_t value, const tables::UpperRun& r) { return value < r.start; });
  if (run != tables::kUpperRuns) {
    --run;
    const char32_t offset = cp - run->start;
    if (offset % run->stride == 0 && offset / run->stride < run->count) {
      append_utf8(out, static_cast<char32_t>(static_cast<std::int64_t>(cp) + run->delta));
      return true;
    }
  }
  const tables::UpperMulti* multis_end = tables::kUpperMultis + tables::kUpperMultiCount;
  const tables::UpperMulti* multi = std::lower_bound(
      tables::kUpperMultis, multis_end, cp,
      [](const tables::UpperMulti& m, char32_t value) { return m.code_point < value; });
  if (multi != multis_end && multi->code_point == cp) {
    out += multi->utf8;
    return true;
  }
  return false;
}

}  // namespace

std::string py_upper(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const unsigned char c = static_cast<unsigned char>(utf8[pos]);
    if (c < 0x80) {  // ASCII fast path
      out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : static_cast<char>(c));
      ++pos;
      continue;
    }
    const DecodedCodePoint d = decode_utf8(utf8, pos);
    if (!d.valid || !append_upper(out, d.code_point)) out.append(utf8.substr(pos, d.length));
    pos += d.length;
  }
  return out;
}

bool py_isprintable(char32_t cp) {
  const tables::CodeRange* end = tables::kPrintableRanges + tables::kPrintableRangeCount;
  const tables::CodeRange* range =
      std::upper_bound(tables::kPrintableRanges, end, cp,
                       [](char32_t value, const tables::CodeRange& r) { return value < r.first; });
  if (range == tables::kPrintableRanges) return false;
  --range;
  return cp <= range->last;
}

}  // namespace smrun::base
