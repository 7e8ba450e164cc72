#include "smrun/config/py_json.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "smrun/base/unicode.hpp"

// The parser follows CPython 3.11's C scanner (Modules/_json.c) step by step, including where it
// reports errors, because smrun's decisions (keep a hyperparameter as a string or decode it) and
// messages must be the reference's. It works on UTF-8 bytes: every byte JSON's grammar cares about
// is ASCII, so byte positions are converted to Python character positions only for an error.

namespace smrun::config {

namespace {

// sys.int_info.default_max_str_digits: CPython 3.11 refuses longer int literals (ValueError).
constexpr std::size_t kMaxIntDigits = 4300;
// Dicts switch from a linear key scan to a hash index beyond this size (keeps 100k keys linear).
constexpr std::size_t kLinearKeyScanLimit = 16;

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct Failure {
  std::string message;
  std::size_t byte_pos = 0;
  bool has_position = true;
};

// Builds a dict with Python's duplicate-key rule (last value wins, first key's position).
class DictBuilder {
 public:
  void add(std::string key, PyValue value) {
    if (m_index.empty() && m_dict.size() < kLinearKeyScanLimit) {
      for (auto& [k, v] : m_dict) {
        if (k == key) {
          v = std::move(value);
          return;
        }
      }
      m_dict.emplace_back(std::move(key), std::move(value));
      if (m_dict.size() == kLinearKeyScanLimit) {
        for (std::size_t i = 0; i < m_dict.size(); ++i) m_index.emplace(m_dict[i].first, i);
      }
      return;
    }
    const auto [it, inserted] = m_index.emplace(key, m_dict.size());
    if (!inserted) {
      m_dict[it->second].second = std::move(value);
      return;
    }
    m_dict.emplace_back(std::move(key), std::move(value));
  }
  PyDict take() { return std::move(m_dict); }

 private:
  PyDict m_dict;
  std::unordered_map<std::string, std::size_t> m_index;
};

class Parser {
 public:
  Parser(std::string_view text, ParseLimits limits) : m_text(text), m_limits(limits) {}

  bool parse_document(PyValue& out) {
    std::size_t pos = skip_ws(0);
    if (!parse_value(pos, 0, out, pos)) return false;
    pos = skip_ws(pos);
    if (pos != m_text.size()) return fail("Extra data", pos);
    return true;
  }

  const Failure& failure() const { return m_failure; }

 private:
  bool fail(std::string message, std::size_t pos) {
    m_failure = Failure{std::move(message), pos, true};
    return false;
  }

  std::size_t skip_ws(std::size_t pos) const {
    while (pos < m_text.size() && is_ws(m_text[pos])) ++pos;
    return pos;
  }

  bool matches(std::size_t pos, std::string_view word) const {
    return m_text.substr(pos, word.size()) == word;
  }

  // scan_once_unicode: one value starting exactly at pos; `next` receives the end.
  bool parse_value(std::size_t pos, std::size_t depth, PyValue& out, std::size_t& next) {
    if (pos >= m_text.size()) return fail("Expecting value", pos);
    switch (m_text[pos]) {
      case '"': {
        std::string s;
        if (!parse_string(pos + 1, s, next)) return false;
        out = PyValue::str(std::move(s));
        return true;
      }
      case '{':
        if (depth + 1 > m_limits.max_depth) return fail(depth_message("object"), pos);
        return parse_object(pos + 1, depth + 1, out, next);
      case '[':
        if (depth + 1 > m_limits.max_depth) return fail(depth_message("array"), pos);
        return parse_array(pos + 1, depth + 1, out, next);
      case 'n':
        if (matches(pos, "null")) return constant(PyValue::none(), pos + 4, out, next);
        break;
      case 't':
        if (matches(pos, "true")) return constant(PyValue::boolean(true), pos + 4, out, next);
        break;
      case 'f':
        if (matches(pos, "false")) return constant(PyValue::boolean(false), pos + 5, out, next);
        break;
      case 'N':
        if (matches(pos, "NaN")) {
          return constant(PyValue::real(std::numeric_limits<double>::quiet_NaN()), pos + 3, out,
                          next);
        }
        break;
      case 'I':
        if (matches(pos, "Infinity")) {
          return constant(PyValue::real(HUGE_VAL), pos + 8, out, next);
        }
        break;
      case '-':
        if (matches(pos, "-Infinity")) {
          return constant(PyValue::real(-HUGE_VAL), pos + 9, out, next);
        }
        break;
      default:
        break;
    }
    return parse_number(pos, out, next);
  }

  std::string depth_message(const char* what) const {
    return "Exceeds the nesting limit (" + std::to_string(m_limits.max_depth) +
           " levels) while decoding a JSON " + what;
  }

  static bool constant(PyValue value, std::size_t end, PyValue& out, std::size_t& next) {
    out = std::move(value);
    next = end;
    return true;
  }

  // _match_number_unicode, including its backtracking on "1." and "1e".
  bool parse_number(std::size_t start, PyValue& out, std::size_t& next) {
    const std::size_t size = m_text.size();
    std::size_t pos = start;
    if (m_text[pos] == '-') {
      ++pos;
      if (pos >= size) return fail("Expecting value", start);
    }
    if (m_text[pos] >= '1' && m_text[pos] <= '9') {
      ++pos;
      while (pos < size && is_digit(m_text[pos])) ++pos;
    } else if (m_text[pos] == '0') {
      ++pos;
    } else {
      return fail("Expecting value", start);
    }
    bool is_float = false;
    if (pos + 1 < size && m_text[pos] == '.' && is_digit(m_text[pos + 1])) {
      is_float = true;
      pos += 2;
      while (pos < size && is_digit(m_text[pos])) ++pos;
    }
    if (pos + 1 < size && (m_text[pos] == 'e' || m_text[pos] == 'E')) {
      const std::size_t e_start = pos;
      ++pos;
      if (pos + 1 < size && (m_text[pos] == '-' || m_text[pos] == '+')) ++pos;
      while (pos < size && is_digit(m_text[pos])) ++pos;
      if (is_digit(m_text[pos - 1])) {
        is_float = true;
      } else {
        pos = e_start;
      }
    }
    next = pos;
    const std::string_view literal = m_text.substr(start, pos - start);
    if (is_float) {
      out = PyValue::real(parse_float(literal));
      return true;
    }
    const bool negative = literal.front() == '-';
    const std::string_view digits = negative ? literal.substr(1) : literal;
    if (digits.size() > kMaxIntDigits) {
      m_failure = Failure{"Exceeds the limit (" + std::to_string(kMaxIntDigits) +
                              " digits) for integer string conversion: value has " +
                              std::to_string(digits.size()) +
                              " digits; use sys.set_int_max_str_digits() to increase the limit",
                          start, false};
      return false;
    }
    out = PyValue::integer_text(digits == "0" ? std::string("0") : std::string(literal));
    return true;
  }

  // float(literal) for a JSON number literal: correctly rounded, overflow to +-inf, underflow
  // to +-0.0 like CPython's _Py_dg_strtod.
  static double parse_float(std::string_view literal) {
    double value = 0.0;
    const auto [end, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), value);
    if (ec == std::errc()) return value;
    // Out of range: decide overflow vs underflow from the decimal exponent of the leading
    // significant digit (the literal is known non-zero, or it would have been in range).
    const bool negative = literal.front() == '-';
    long long exponent = 0;  // exponent of the first significant digit
    std::size_t i = negative ? 1 : 0;
    long long int_digits = 0;
    bool seen_nonzero = false;
    long long leading_frac_zeros = 0;
    for (; i < literal.size() && is_digit(literal[i]); ++i) {
      if (literal[i] != '0') seen_nonzero = true;
      if (seen_nonzero) ++int_digits;
    }
    if (i < literal.size() && literal[i] == '.') {
      for (++i; i < literal.size() && is_digit(literal[i]); ++i) {
        if (!seen_nonzero && literal[i] == '0') ++leading_frac_zeros;
        if (literal[i] != '0') seen_nonzero = true;
      }
    }
    long long exp_part = 0;
    if (i < literal.size() && (literal[i] == 'e' || literal[i] == 'E')) {
      ++i;
      bool exp_negative = false;
      if (literal[i] == '-' || literal[i] == '+') exp_negative = literal[i++] == '-';
      for (; i < literal.size(); ++i) {
        exp_part = std::min<long long>(exp_part * 10 + (literal[i] - '0'), 1'000'000'000);
      }
      if (exp_negative) exp_part = -exp_part;
    }
    exponent = (int_digits > 0 ? int_digits - 1 : -(leading_frac_zeros + 1)) + exp_part;
    const double magnitude = exponent >= 0 ? HUGE_VAL : 0.0;
    return negative ? -magnitude : magnitude;
  }

  // scanstring_unicode (strict): `pos` is just after the opening quote.
  bool parse_string(std::size_t pos, std::string& out, std::size_t& next) {
    const std::size_t begin = pos - 1;
    const std::size_t size = m_text.size();
    while (true) {
      std::size_t chunk_end = pos;
      char c = 0;
      for (; chunk_end < size; ++chunk_end) {
        c = m_text[chunk_end];
        if (c == '"' || c == '\\') break;
        if (static_cast<unsigned char>(c) <= 0x1f) {
          return fail("Invalid control character at", chunk_end);
        }
      }
      if (chunk_end >= size) return fail("Unterminated string starting at", begin);
      out.append(m_text.substr(pos, chunk_end - pos));
      std::size_t at = chunk_end + 1;
      if (c == '"') {
        next = at;
        return true;
      }
      if (at == size) return fail("Unterminated string starting at", begin);
      const char esc = m_text[at];
      if (esc != 'u') {
        char decoded = 0;
        switch (esc) {
          case '"':
            decoded = '"';
            break;
          case '\\':
            decoded = '\\';
            break;
          case '/':
            decoded = '/';
            break;
          case 'b':
            decoded = '\b';
            break;
          case 'f':
            decoded = '\f';
            break;
          case 'n':
            decoded = '\n';
            break;
          case 'r':
            decoded = '\r';
            break;
          case 't':
            decoded = '\t';
            break;
          default:
            return fail("Invalid \\escape", at - 1);
        }
        out.push_back(decoded);
        pos = at + 1;
        continue;
      }
      // \uXXXX: CPython wants a character after the four digits (at least the closing quote).
      const std::size_t u_pos = at;
      if (u_pos + 5 >= size) return fail("Invalid \\uXXXX escape", u_pos);
      int cp = read_hex4(u_pos + 1);
      if (cp < 0) return fail("Invalid \\uXXXX escape", u_pos);
      pos = u_pos + 5;
      if (cp >= 0xD800 && cp <= 0xDBFF && pos + 6 < size && m_text[pos] == '\\' &&
          m_text[pos + 1] == 'u') {
        const int low = read_hex4(pos + 2);
        if (low < 0) return fail("Invalid \\uXXXX escape", pos + 1);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          pos += 6;
        }
      }
      base::append_utf8(out, static_cast<char32_t>(cp));
    }
  }

  int read_hex4(std::size_t pos) const {
    int value = 0;
    for (std::size_t i = pos; i < pos + 4; ++i) {
      const int digit = hex_value(m_text[i]);
      if (digit < 0) return -1;
      value = (value << 4) | digit;
    }
    return value;
  }

  bool parse_object(std::size_t pos, std::size_t depth, PyValue& out, std::size_t& next) {
    const std::size_t size = m_text.size();
    DictBuilder dict;
    pos = skip_ws(pos);
    if (pos >= size || m_text[pos] != '}') {
      while (true) {
        if (pos >= size || m_text[pos] != '"') {
          return fail("Expecting property name enclosed in double quotes", pos);
        }
        std::string key;
        if (!parse_string(pos + 1, key, pos)) return false;
        pos = skip_ws(pos);
        if (pos >= size || m_text[pos] != ':') return fail("Expecting ':' delimiter", pos);
        pos = skip_ws(pos + 1);
        PyValue value;
        if (!parse_value(pos, depth, value, pos)) return false;
        dict.add(std::move(key), std::move(value));
        pos = skip_ws(pos);
        if (pos < size && m_text[pos] == '}') break;
        if (pos >= size || m_text[pos] != ',') return fail("Expecting ',' delimiter", pos);
        pos = skip_ws(pos + 1);
      }
    }
    out = PyValue::dict(dict.take());
    next = pos + 1;
    return true;
  }

  bool parse_array(std::size_t pos, std::size_t depth, PyValue& out, std::size_t& next) {
    const std::size_t size = m_text.size();
    PyList list;
    pos = skip_ws(pos);
    if (pos >= size || m_text[pos] != ']') {
      while (true) {
        PyValue value;
        if (!parse_value(pos, depth, value, pos)) return false;
        list.push_back(std::move(value));
        pos = skip_ws(pos);
        if (pos < size && m_text[pos] == ']') break;
        if (pos >= size || m_text[pos] != ',') return fail("Expecting ',' delimiter", pos);
        pos = skip_ws(pos + 1);
      }
    }
    out = PyValue::list(std::move(list));
    next = pos + 1;
    return true;
  }

  std::string_view m_text;
  ParseLimits m_limits;
  Failure m_failure;
};

// Python reports positions in characters; line = 1 + newlines before pos, column counted from the
// last newline (JSONDecodeError.__init__).
JsonSyntaxError locate(std::string_view text, const Failure& failure) {
  JsonSyntaxError error;
  error.message = failure.message;
  error.has_position = failure.has_position;
  const std::size_t limit = std::min(failure.byte_pos, text.size());
  std::size_t chars = 0;
  std::size_t last_newline_chars = 0;
  bool seen_newline = false;
  for (std::size_t pos = 0; pos < limit;) {
    if (text[pos] == '\n') {
      ++error.line;
      seen_newline = true;
      last_newline_chars = chars;
    }
    pos += base::decode_utf8(text, pos).length;
    ++chars;
  }
  error.offset = chars;
  error.column = seen_newline ? chars - last_newline_chars : chars + 1;
  return error;
}

// Python's json.loads() takes a str; smrun's input is bytes, so bytes that are not UTF-8 (the
// reference dies with UnicodeDecodeError reading such a file) are refused here. Encoded
// surrogates are accepted: a Python str can hold them.
bool find_invalid_utf8(std::string_view text, Failure& failure) {
  for (std::size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const base::DecodedCodePoint d = base::decode_utf8(text, pos);
    if (!d.valid) {
      static constexpr char kHex[] = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(text[pos]);
      failure = Failure{std::string("Invalid UTF-8 byte 0x") + kHex[byte >> 4] + kHex[byte & 15],
                        pos, true};
      return true;
    }
    pos += d.length;
  }
  return false;
}

struct DumpStyle {
  int indent = -1;  // < 0: compact (",", ":"); else a newline and `indent` spaces per level
  bool sort_keys = true;
  bool replace_invalid = false;  // undecodable bytes as U+FFFD instead of lone surrogates
};

void dump_string(std::string& out, std::string_view s, bool replace_invalid = false) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto u_escape = [&](unsigned value) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(value >> shift) & 15]);
  };
  out.push_back('"');
  for (std::size_t pos = 0; pos < s.size();) {
    const char c = s[pos];
    if (c >= ' ' && c <= '~' && c != '\\' && c != '"') {
      out.push_back(c);
      ++pos;
      continue;
    }
    switch (c) {
      case '\\':
        out += "\\\\";
        ++pos;
        continue;
      case '"':
        out += "\\\"";
        ++pos;
        continue;
      case '\b':
        out += "\\b";
        ++pos;
        continue;
      case '\f':
        out += "\\f";
        ++pos;
        continue;
      case '\n':
        out += "\\n";
        ++pos;
        continue;
      case '\r':
        out += "\\r";
        ++pos;
        continue;
      case '\t':
        out += "\\t";
        ++pos;
        continue;
      default:
        break;
    }
    const base::DecodedCodePoint d = base::decode_utf8(s, pos);
    pos += d.length;
    const char32_t cp = !d.valid && replace_invalid ? U'\uFFFD' : d.code_point;
    if (cp >= 0x10000) {
      const char32_t v = cp - 0x10000;
      u_escape(0xD800 | (v >> 10));
      u_escape(0xDC00 | (v & 0x3FF));
    } else {
      u_escape(cp);
    }
  }
  out.push_back('"');
}

void newline(std::string& out, const DumpStyle& style, int depth) {
  out.push_back('\n');
  out.append(static_cast<std::size_t>(style.indent * depth), ' ');
}

void dump_value(std::string& out, const PyValue& value, const DumpStyle& style, int depth) {
  switch (value.kind()) {
    case PyValue::Kind::kNone:
      out += "null";
      return;
    case PyValue::Kind::kBool:
      out += value.as_bool() ? "true" : "false";
      return;
    case PyValue::Kind::kInt:
      out += value.as_int_text();
      return;
    case PyValue::Kind::kFloat: {
      const double d = value.as_float();
      if (std::isnan(d)) {
        out += "NaN";
      } else if (std::isinf(d)) {
        out += d > 0 ? "Infinity" : "-Infinity";
      } else {
        out += py_float_repr(d);
      }
      return;
    }
    case PyValue::Kind::kStr:
      dump_string(out, value.as_str(), style.replace_invalid);
      return;
    case PyValue::Kind::kList: {
      const PyList& list = value.as_list();
      out.push_back('[');
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out.push_back(',');
        if (style.indent >= 0) newline(out, style, depth + 1);
        dump_value(out, list[i], style, depth + 1);
      }
      if (style.indent >= 0 && !list.empty()) newline(out, style, depth);
      out.push_back(']');
      return;
    }
    case PyValue::Kind::kDict: {
      // sorted(dct.items()): byte order of (W)UTF-8 is code point order.
      std::vector<const std::pair<std::string, PyValue>*> items;
      items.reserve(value.as_dict().size());
      for (const auto& item : value.as_dict()) items.push_back(&item);
      if (style.sort_keys)
        std::sort(items.begin(), items.end(),
                  [](const auto* a, const auto* b) { return a->first < b->first; });
      out.push_back('{');
      bool first = true;
      for (const auto* item : items) {
        if (!first) out.push_back(',');
        first = false;
        if (style.indent >= 0) newline(out, style, depth + 1);
        dump_string(out, item->first, style.replace_invalid);
        out += style.indent >= 0 ? ": " : ":";
        dump_value(out, item->second, style, depth + 1);
      }
      if (style.indent >= 0 && !items.empty()) newline(out, style, depth);
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

std::string format_json_error(const JsonSyntaxError& error) {
  if (!error.has_position) return error.message;
  return error.message + ": line " + std::to_string(error.line) + " column " +
         std::to_string(error.column) + " (char " + std::to_string(error.offset) + ")";
}

base::Expected<PyValue, JsonSyntaxError> parse_py_json(std::string_view text, ParseLimits limits) {
  Failure failure;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    failure = Failure{"Unexpected UTF-8 BOM (decode using utf-8-sig)", 0, true};
    return base::Unexpected<JsonSyntaxError>(locate(text, failure));
  }
  if (find_invalid_utf8(text, failure)) {
    return base::Unexpected<JsonSyntaxError>(locate(text, failure));
  }
  Parser parser(text, limits);
  PyValue value;
  if (!parser.parse_document(value)) {
    return base::Unexpected<JsonSyntaxError>(locate(text, parser.failure()));
  }
  return value;
}

std::string dump_py_json(const PyValue& value) {
  std::string out;
  dump_value(out, value, DumpStyle{}, 0);
  return out;
}

std::string dump_py_json_indented(const PyValue& value) {
  std::string out;
  dump_value(out, value, DumpStyle{2, false, true}, 0);
  return out;
}

std::string py_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  // Shortest round-trip digits in scientific form ("-1.2345e+02"), re-laid out like
  // PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0).
  std::array<char, 64> buf{};
  const auto result =
      std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::scientific);
  const std::string_view sci(buf.data(), static_cast<std::size_t>(result.ptr - buf.data()));
  std::string out;
  std::size_t pos = 0;
  if (sci[pos] == '-') {
    out.push_back('-');
    ++pos;
  }
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (std::size_t i = pos; i < e_pos; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  int exponent = 0;
  std::from_chars(sci.data() + e_pos + (sci[e_pos + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                  exponent);
  if (exponent < -4 || exponent >= 16) {
    out.push_back(digits[0]);
    if (digits.size() > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(exponent < 0 ? '-' : '+');
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) out.push_back('0');
    out += std::to_string(magnitude);
    return out;
  }
  if (exponent < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent - 1), '0');
    out += digits;
    return out;
  }
  const std::size_t int_len = static_cast<std::size_t>(exponent) + 1;
  if (digits.size() <= int_len) {
    out += digits;
    out.append(int_len - digits.size(), '0');
    out += ".0";
  } else {
    out.append(digits, 0, int_len);
    out.push_back('.');
    out.append(digits, int_len);
  }
  return out;
}

}  // namespace smrun::config
