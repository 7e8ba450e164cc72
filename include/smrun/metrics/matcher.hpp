#pragma once

// Applies metric definitions to the program's output lines, as SageMaker does to its log events.

#include <cstddef>
#include <optional>
#include <regex>
#include <string_view>
#include <vector>

#include "smrun/metrics/definitions.hpp"

namespace smrun::metrics {

struct MetricMatch {
  std::size_t definition = 0;  // index in the definitions
  double value = 0;
  bool operator==(const MetricMatch&) const = default;
};

class LineMatcher {
 public:
  // Only this much of a line is searched: std::regex backtracks and recurses per character, so
  // a multi-megabyte line (a JSON dump, a progress bar never ended) must not cost seconds or the
  // stack. Metric lines are short.
  static constexpr std::size_t kMaxLineBytes = 4096;

  // The definitions must have passed parse_definitions (their regexes compile).
  explicit LineMatcher(const std::vector<MetricDefinition>& definitions);

  bool empty() const { return m_regexes.empty(); }
  // For each definition in order, its first match in the line (without its terminator): the
  // first capture group as a number (a float in C's strtod syntax, like Python's float():
  // "0.5", "-3", "1e-05", "nan" and "inf" are numbers; an empty or non-numeric capture gives
  // nothing). A line can give one value to each definition.
  void match(std::string_view line, std::vector<MetricMatch>& out) const;

 private:
  std::vector<std::regex> m_regexes;
  std::vector<std::string> m_literals;  // required_literal() of each, "" when none
};

// The number in `text` if all of it (surrounding blanks aside) is one.
bool parse_number(std::string_view text, double& value);

struct MpirunTag {
  int rank = 0;
  std::size_t length = 0;  // of the tag: the line's own text starts there
};
// The tag Open MPI's --tag-output puts before each line, "[<job>,<rank>]<stdout>:" (or
// <stderr>), if the line starts with one.
std::optional<MpirunTag> mpirun_tag(std::string_view line);

// A piece of text every match of the ECMAScript `regex` contains (the longest run of plain
// characters outside any group, class or alternation, e.g. "loss=" for "loss=([0-9.]+)"), or ""
// when none can be told. Lines without it are not searched: a plain find() is far cheaper than
// std::regex_search, and most lines of a chatty program hold no metric.
std::string required_literal(std::string_view regex);

}  // namespace smrun::metrics
