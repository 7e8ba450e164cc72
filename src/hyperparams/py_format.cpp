#include "smrun/hyperparams/py_format.hpp"

#include "smrun/base/unicode.hpp"
#include "smrun/config/py_json.hpp"

namespace smrun::hyperparams {

namespace {

using config::PyValue;

void append_hex(std::string& out, char prefix, char32_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('\\');
  out.push_back(prefix);
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out.push_back(kHex[(value >> shift) & 15]);
  }
}

// unicode_repr (Objects/unicodeobject.c): single quotes unless the text has ' and no ".
void repr_string(std::string& out, std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out.push_back(quote);
  for (std::size_t pos = 0; pos < s.size();) {
    const base::DecodedCodePoint d = base::decode_utf8(s, pos);
    const char32_t cp = d.code_point;
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < ' ' || cp == 0x7F) {
      append_hex(out, 'x', cp, 2);
    } else if (cp < 0x7F) {
      out.push_back(static_cast<char>(cp));
    } else if (d.valid && base::py_isprintable(cp)) {
      out.append(s.substr(pos, d.length));
    } else if (cp <= 0xFF) {
      append_hex(out, 'x', cp, 2);
    } else if (cp <= 0xFFFF) {
      append_hex(out, 'u', cp, 4);
    } else {
      append_hex(out, 'U', cp, 8);
    }
    pos += d.length;
  }
  out.push_back(quote);
}

void repr_value(std::string& out, const PyValue& value) {
  switch (value.kind()) {
    case PyValue::Kind::kNone:
      out += "None";
      return;
    case PyValue::Kind::kBool:
      out += value.as_bool() ? "True" : "False";
      return;
    case PyValue::Kind::kInt:
      out += value.as_int_text();
      return;
    case PyValue::Kind::kFloat:
      out += config::py_float_repr(value.as_float());
      return;
    case PyValue::Kind::kStr:
      repr_string(out, value.as_str());
      return;
    case PyValue::Kind::kList: {
      out.push_back('[');
      bool first = true;
      for (const PyValue& item : value.as_list()) {
        if (!first) out += ", ";
        first = false;
        repr_value(out, item);
      }
      out.push_back(']');
      return;
    }
    case PyValue::Kind::kDict: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : value.as_dict()) {
        if (!first) out += ", ";
        first = false;
        repr_string(out, key);
        out += ": ";
        repr_value(out, item);
      }
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

std::string py_float_repr(double d) {
  return config::py_float_repr(d);
}

std::string py_str(const config::PyValue& value) {
  if (value.is_str()) return value.as_str();
  return py_repr(value);
}

std::string py_repr(const config::PyValue& value) {
  std::string out;
  repr_value(out, value);
  return out;
}

}  // namespace smrun::hyperparams
