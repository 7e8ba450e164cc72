#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smrun/supervise/process_spec.hpp"

namespace smrun::supervise {

// Cuts one worker's output stream into lines and prefixes each with "[label] ", so the output
// of many ranks can share smrun's stdout without mixing inside a line (pain point #13/#14).
//
// A line ends at '\n', at "\r\n", or at a lone '\r' (progress bars redraw with '\r' and must
// show while they update); the terminator is kept. Bytes after the last terminator wait for
// more input, except when they reach kMaxPending (emitted in kMaxPending pieces) or at EOF;
// such forced pieces get a '\n' appended so the next rank's line starts on a line of its own.
class LinePrefixer {
 public:
  static constexpr std::size_t kMaxPending = 64 * 1024;

  // With `rank_hosts`, a line mpirun tagged "[<job>,<rank>]<stdout>:" or "...<stderr>:" gets
  // "[<host>:<rank>] " instead of the tag (and instead of the label).
  // With `nested`, the stream is itself an smrun's output whose rank lines already read
  // "[<label>:<rank>] ...": those pass unchanged, and only its other lines get "[<label>] ".
  explicit LinePrefixer(std::string_view label, std::optional<RankHosts> rank_hosts = {},
                        bool nested = false);

  // Appends to `out` one string per finished line: prefix, line, terminator.
  void feed(std::string_view data, std::vector<std::string>& out);
  // End of stream: the unfinished line, if any, with the prefix and a '\n' added.
  void finish(std::vector<std::string>& out);
  // The same, appending the finished lines back to back to one string (what the relay queues:
  // one allocation per read instead of one per line).
  void feed(std::string_view data, std::string& out);
  void finish(std::string& out);

 private:
  // Where finished lines go: one string each, or appended to one text.
  struct Out {
    std::vector<std::string>* lines = nullptr;
    std::string* text = nullptr;
    void add(std::string_view a, std::string_view b, std::string_view c);
  };
  void feed_to(std::string_view data, Out out);
  std::size_t append_plain_lines(std::string_view data, std::size_t pos, std::size_t limit,
                                 std::string& text) const;
  void emit(std::string_view tail, Out out);

  std::string m_prefix;
  std::string m_nested;  // "[<label>:" when nested, else empty
  std::optional<RankHosts> m_rank_hosts;
  std::string m_pending;
  // The last chunk ended with a '\r' already emitted: a '\n' opening the next chunk completes
  // that "\r\n" instead of becoming an empty prefixed line.
  bool m_after_cr = false;
};

}  // namespace smrun::supervise
