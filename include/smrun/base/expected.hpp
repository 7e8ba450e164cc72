#pragma once

// A minimal std::expected look-alike (C++23's is not in g++ 12's C++20 mode and tl::expected is
// not packaged by Debian). Same member names, so switching to std::expected is a one-line change.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "smrun/base/error.hpp"

namespace smrun::base {

template <class E>
class Unexpected {
 public:
  explicit Unexpected(E e) : m_error(std::move(e)) {}
  E& error() & { return m_error; }
  E&& error() && { return std::move(m_error); }

 private:
  E m_error;
};

inline Unexpected<Error> fail(ErrorKind kind, std::string message) {
  return Unexpected<Error>(Error(kind, std::move(message)));
}

template <class T, class E = Error>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : m_v(std::in_place_index<0>, std::move(value)) {}  // NOLINT implicit
  Expected(Unexpected<E> u) : m_v(std::in_place_index<1>, std::move(u).error()) {}  // NOLINT

  bool has_value() const { return m_v.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(m_v);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(m_v);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(m_v));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const& {
    assert(!has_value());
    return std::get<1>(m_v);
  }
  E&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(m_v));
  }

 private:
  std::variant<T, E> m_v;
};

// Expected<void>: success carries nothing.
template <class E>
class [[nodiscard]] Expected<void, E> {
 public:
  Expected() = default;
  Expected(Unexpected<E> u) : m_error(std::move(u).error()), m_ok(false) {}  // NOLINT

  bool has_value() const { return m_ok; }
  explicit operator bool() const { return m_ok; }
  const E& error() const& {
    assert(!m_ok);
    return m_error;
  }
  E&& error() && {
    assert(!m_ok);
    return std::move(m_error);
  }

 private:
  E m_error;
  bool m_ok = true;
};

using Status = Expected<void>;

}  // namespace smrun::base
