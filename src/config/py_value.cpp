#include "smrun/config/py_value.hpp"

#include <charconv>

namespace smrun::config {

std::optional<std::int64_t> PyValue::as_int64() const {
  if (!is_int()) return std::nullopt;
  const std::string& text = as_int_text();
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool PyValue::truthy() const {
  switch (kind()) {
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return as_bool();
    case Kind::kInt:
      return as_int_text() != "0";
    case Kind::kFloat:
      return as_float() != 0.0;  // NaN is truthy in Python too
    case Kind::kStr:
      return !as_str().empty();
    case Kind::kList:
      return !as_list().empty();
    case Kind::kDict:
      return !as_dict().empty();
  }
  return false;
}

const PyValue* PyValue::find(std::string_view key) const {
  if (!is_dict()) return nullptr;
  for (const auto& [k, v] : as_dict()) {
    if (k == key) return &v;
  }
  return nullptr;
}

void PyValue::set(std::string key, PyValue value) {
  PyDict& dict = as_dict();
  for (auto& [k, v] : dict) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  dict.emplace_back(std::move(key), std::move(value));
}

const char* kind_name(PyValue::Kind kind) {
  switch (kind) {
    case PyValue::Kind::kNone:
      return "null";
    case PyValue::Kind::kBool:
      return "bool";
    case PyValue::Kind::kInt:
      return "int";
    case PyValue::Kind::kFloat:
      return "float";
    case PyValue::Kind::kStr:
      return "string";
    case PyValue::Kind::kList:
      return "list";
    case PyValue::Kind::kDict:
      return "object";
  }
  return "unknown";
}

}  // namespace smrun::config
