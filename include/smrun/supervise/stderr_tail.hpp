#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace smrun::supervise {

// Keeps the last `capacity` bytes of a stream (a worker's stderr, for failure reports).
class StderrTail {
 public:
  explicit StderrTail(std::size_t capacity) : m_capacity(capacity) {}

  void append(std::string_view data);
  // The last min(capacity, total appended) bytes, in order.
  std::string contents() const;

 private:
  std::size_t m_capacity;
  // Trimmed only when it grows past twice the capacity: amortised O(1) per byte, no ring indices.
  std::string m_buffer;
};

}  // namespace smrun::supervise
