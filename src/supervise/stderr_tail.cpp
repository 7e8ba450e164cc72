#include "smrun/supervise/stderr_tail.hpp"

namespace smrun::supervise {

void StderrTail::append(std::string_view data) {
  if (m_capacity == 0) return;
  if (data.size() >= m_capacity) {
    m_buffer.assign(data.substr(data.size() - m_capacity));
    return;
  }
  m_buffer.append(data);
  if (m_buffer.size() > 2 * m_capacity) m_buffer.erase(0, m_buffer.size() - m_capacity);
}

std::string StderrTail::contents() const {
  if (m_buffer.size() <= m_capacity) return m_buffer;
  return m_buffer.substr(m_buffer.size() - m_capacity);
}

}  // namespace smrun::supervise
