#pragma once

// A JSON document as Python's json module sees it. smrun must reproduce the reference toolkit's
// output byte for byte, and that output is Python's: arbitrary-size ints, NaN/Infinity, dicts that
// keep insertion order (last duplicate key wins, in the first key's place), str() and repr()
// renderings. nlohmann::json can do none of the first three, so config files are parsed into this
// model instead (see py_json.hpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace smrun::config {

class PyValue;
using PyList = std::vector<PyValue>;
// Insertion-ordered, unique keys (Python dict). Keys are UTF-8 (lone surrogates from \uD800-style
// escapes are kept as 3-byte WTF-8 sequences so nothing is lost).
using PyDict = std::vector<std::pair<std::string, PyValue>>;

// Python int of any size, kept as canonical decimal text: optional '-', no leading zeros,
// never "-0".
struct PyInt {
  std::string digits;
  bool operator==(const PyInt&) const = default;
};

class PyValue {
 public:
  enum class Kind { kNone, kBool, kInt, kFloat, kStr, kList, kDict };

  PyValue() = default;  // None
  static PyValue none() { return PyValue(); }
  static PyValue boolean(bool b) { return PyValue(Storage(std::in_place_index<1>, b)); }
  static PyValue integer(std::int64_t v) { return integer_text(std::to_string(v)); }
  // `canonical` must already be canonical decimal text (see PyInt).
  static PyValue integer_text(std::string canonical) {
    return PyValue(Storage(std::in_place_index<2>, PyInt{std::move(canonical)}));
  }
  static PyValue real(double d) { return PyValue(Storage(std::in_place_index<3>, d)); }
  static PyValue str(std::string s) {
    return PyValue(Storage(std::in_place_index<4>, std::move(s)));
  }
  static PyValue list(PyList l = {}) {
    return PyValue(Storage(std::in_place_index<5>, std::move(l)));
  }
  static PyValue dict(PyDict d = {}) {
    return PyValue(Storage(std::in_place_index<6>, std::move(d)));
  }

  Kind kind() const { return static_cast<Kind>(m_v.index()); }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_str() const { return kind() == Kind::kStr; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }

  // Accessors assert the kind; check first.
  bool as_bool() const { return std::get<1>(m_v); }
  const std::string& as_int_text() const { return std::get<2>(m_v).digits; }
  double as_float() const { return std::get<3>(m_v); }
  const std::string& as_str() const { return std::get<4>(m_v); }
  const PyList& as_list() const { return std::get<5>(m_v); }
  PyList& as_list() { return std::get<5>(m_v); }
  const PyDict& as_dict() const { return std::get<6>(m_v); }
  PyDict& as_dict() { return std::get<6>(m_v); }

  // The int value if this is an int that fits in int64.
  std::optional<std::int64_t> as_int64() const;

  // Python truthiness: None, False, 0, 0.0, "", [], {} are false.
  bool truthy() const;

  // Dict lookup (nullptr when absent or when this is not a dict).
  const PyValue* find(std::string_view key) const;
  // Dict assignment with Python semantics: replaces the value in place if the key exists,
  // appends otherwise. This must be a dict.
  void set(std::string key, PyValue value);

  bool operator==(const PyValue& other) const { return m_v == other.m_v; }

 private:
  using Storage = std::variant<std::monostate, bool, PyInt, double, std::string, PyList, PyDict>;
  explicit PyValue(Storage v) : m_v(std::move(v)) {}
  Storage m_v;
};

const char* kind_name(PyValue::Kind kind);  // "null", "bool", "int", "float", "string", ...

}  // namespace smrun::config
