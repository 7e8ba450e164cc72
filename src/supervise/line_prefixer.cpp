#include "smrun/supervise/line_prefixer.hpp"

#include <algorithm>
#include <cstring>

namespace smrun::supervise {

namespace {

// "[1,3]<stdout>:text" -> rank 3 and the length of the tag; nullopt when not an mpirun tag.
std::optional<std::pair<int, std::size_t>> mpirun_tag(std::string_view line) {
  if (line.empty() || line.front() != '[') return std::nullopt;
  std::size_t i = 1;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < line.size() && i - start < 9 && line[i] >= '0' && line[i] <= '9') ++i;
    return i > start;
  };
  if (!digits() || i >= line.size() || line[i] != ',') return std::nullopt;
  ++i;
  const std::size_t rank_start = i;
  if (!digits() || i >= line.size() || line[i] != ']') return std::nullopt;
  const int rank = std::stoi(std::string(line.substr(rank_start, i - rank_start)));
  ++i;
  for (std::string_view stream : {"<stdout>:", "<stderr>:"})
    if (line.substr(i).starts_with(stream)) return std::make_pair(rank, i + stream.size());
  return std::nullopt;
}

}  // namespace

LinePrefixer::LinePrefixer(std::string_view label, std::optional<RankHosts> rank_hosts, bool nested)
    : m_prefix("["), m_rank_hosts(std::move(rank_hosts)) {
  m_prefix.append(label);
  m_prefix.append("] ");
  if (nested) m_nested = "[" + std::string(label) + ":";
}

void LinePrefixer::Out::add(std::string_view a, std::string_view b, std::string_view c) {
  if (lines != nullptr) {
    std::string line;
    line.reserve(a.size() + b.size() + c.size());
    line.append(a).append(b).append(c);
    lines->push_back(std::move(line));
  } else {
    text->append(a).append(b).append(c);
  }
}

void LinePrefixer::emit(std::string_view tail, Out out) {
  if (m_rank_hosts && m_rank_hosts->processes_per_host > 0) {
    const std::string whole = m_pending + std::string(tail);
    if (auto tag = mpirun_tag(whole)) {
      const auto index = static_cast<std::size_t>(tag->first / m_rank_hosts->processes_per_host);
      if (index < m_rank_hosts->hosts.size()) {
        const std::string prefix =
            "[" + m_rank_hosts->hosts[index] + ":" + std::to_string(tag->first) + "] ";
        m_pending.clear();
        out.add(prefix, std::string_view(whole).substr(tag->second), {});
        return;
      }
    }
  }
  if (!m_nested.empty()) {
    // The line is m_pending + tail; its start may lie in either.
    const std::size_t from_pending = std::min(m_pending.size(), m_nested.size());
    const std::string_view nested = m_nested;
    if (std::string_view(m_pending).substr(0, from_pending) == nested.substr(0, from_pending) &&
        tail.substr(0, nested.size() - from_pending) == nested.substr(from_pending)) {
      out.add({}, m_pending, tail);
      m_pending.clear();
      return;
    }
  }
  out.add(m_prefix, m_pending, tail);
  m_pending.clear();
}

void LinePrefixer::feed(std::string_view data, std::vector<std::string>& out) {
  feed_to(data, Out{&out, nullptr});
}

void LinePrefixer::feed(std::string_view data, std::string& out) {
  feed_to(data, Out{nullptr, &out});
}

void LinePrefixer::finish(std::vector<std::string>& out) {
  m_after_cr = false;
  if (!m_pending.empty()) emit("\n", Out{&out, nullptr});
}

void LinePrefixer::finish(std::string& out) {
  m_after_cr = false;
  if (!m_pending.empty()) emit("\n", Out{nullptr, &out});
}

// Appends prefix + line for every '\n'-terminated line in data[pos, limit); returns where the
// first line not ending there starts. Two appends per line: the general path (emit, three
// appends) made prefixing 2-3x slower, and it runs on the relay's critical path.
std::size_t LinePrefixer::append_plain_lines(std::string_view data, std::size_t pos,
                                             std::size_t limit, std::string& text) const {
  const char* const base = data.data();
  while (pos < limit) {
    const void* nl = std::memchr(base + pos, '\n', limit - pos);
    if (nl == nullptr) break;
    const std::size_t stop = static_cast<std::size_t>(static_cast<const char*>(nl) - base) + 1;
    text.append(m_prefix).append(base + pos, stop - pos);
    pos = stop;
  }
  return pos;
}

void LinePrefixer::feed_to(std::string_view data, Out out) {
  if (data.empty()) return;
  std::size_t pos = 0;
  if (m_after_cr && data.front() == '\n') {
    out.add("\n", {}, {});  // the rest of a "\r\n" split between two reads
    pos = 1;
  }
  m_after_cr = false;
  // The next '\r' is looked up once and kept until passed: find_first_of("\r\n") costs a
  // memchr over the two-character set for every byte, which was a third of smrun's CPU time
  // relaying chatty ranks.
  std::size_t next_cr = data.find('\r', pos);
  // Lines that need no look at their start (no mpirun tags or nested smrun to recognise) and
  // that end at '\n' before any '\r' go to the relay's text in a tight loop.
  const bool plain = out.text != nullptr && m_nested.empty() &&
                     !(m_rank_hosts && m_rank_hosts->processes_per_host > 0);
  while (pos < data.size()) {
    if (next_cr != std::string_view::npos && next_cr < pos) next_cr = data.find('\r', pos);
    if (plain && m_pending.empty()) {
      pos = append_plain_lines(data, pos, std::min(next_cr, data.size()), *out.text);
      if (pos == data.size()) break;
    }
    const std::size_t next_nl = data.find('\n', pos);
    const std::size_t end = std::min(next_nl, next_cr);
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

}  // namespace smrun::supervise
