#include "smrun/supervise/line_prefixer.hpp"

namespace smrun::supervise {

LinePrefixer::LinePrefixer(std::string_view label) : m_prefix("[") {
  m_prefix.append(label);
  m_prefix.append("] ");
}

void LinePrefixer::emit(std::string_view tail, std::vector<std::string>& out) {
  std::string line;
  line.reserve(m_prefix.size() + m_pending.size() + tail.size());
  line.append(m_prefix).append(m_pending).append(tail);
  m_pending.clear();
  out.push_back(std::move(line));
}

void LinePrefixer::feed(std::string_view data, std::vector<std::string>& out) {
  if (data.empty()) return;
  std::size_t pos = 0;
  if (m_after_cr && data.front() == '\n') {
    out.emplace_back("\n");  // the rest of a "\r\n" split between two reads
    pos = 1;
  }
  m_after_cr = false;
  while (pos < data.size()) {
    const std::size_t end = data.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      m_pending.append(data.substr(pos));
      while (m_pending.size() >= kMaxPending) {
        std::string rest = m_pending.substr(kMaxPending);
        m_pending.resize(kMaxPending);
        emit("\n", out);
        m_pending = std::move(rest);
      }
      return;
    }
    std::size_t stop = end + 1;
    if (data[end] == '\r' && stop < data.size() && data[stop] == '\n') ++stop;
    emit(data.substr(pos, stop - pos), out);
    pos = stop;
    m_after_cr = pos == data.size() && data[end] == '\r' && stop == end + 1;
  }
}

void LinePrefixer::finish(std::vector<std::string>& out) {
  m_after_cr = false;
  if (!m_pending.empty()) emit("\n", out);
}

}  // namespace smrun::supervise
