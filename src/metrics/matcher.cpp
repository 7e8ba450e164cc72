#include "smrun/metrics/matcher.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace smrun::metrics {

bool parse_number(std::string_view text, double& value) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty() || text.size() > 64) return false;
  const std::string copy(text);  // strtod needs a terminator
  // Hexadecimal floats ("0x1p3") are C's, not Python's float().
  if (copy.find_first_of("xX") != std::string::npos) return false;
  char* end = nullptr;
  errno = 0;
  const double parsed = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return false;
  value = parsed;  // ERANGE: +-HUGE_VAL or a denormal, as Python's float() gives inf or the value
  return true;
}

std::optional<MpirunTag> mpirun_tag(std::string_view line) {
  if (line.empty() || line.front() != '[') return std::nullopt;
  std::size_t i = 1;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < line.size() && i - start < 9 && line[i] >= '0' && line[i] <= '9') ++i;
    return i > start;
  };
  if (!digits() || i >= line.size() || line[i] != ',') return std::nullopt;
  const std::size_t rank_start = ++i;
  if (!digits() || i >= line.size() || line[i] != ']') return std::nullopt;
  MpirunTag tag;
  tag.rank = std::stoi(std::string(line.substr(rank_start, i - rank_start)));
  ++i;
  for (std::string_view stream : {"<stdout>:", "<stderr>:"}) {
    if (line.substr(i).starts_with(stream)) {
      tag.length = i + stream.size();
      return tag;
    }
  }
  return std::nullopt;
}

std::string required_literal(std::string_view regex) {
  // An alternation anywhere may make any run optional: no literal then.
  bool in_class = false;
  for (std::size_t i = 0; i < regex.size(); ++i) {
    if (regex[i] == '\\') {
      ++i;
    } else if (in_class) {
      in_class = regex[i] != ']';
    } else if (regex[i] == '[') {
      in_class = true;
    } else if (regex[i] == '|') {
      return "";
    }
  }
  const auto quantifier = [](char c) { return c == '*' || c == '?' || c == '{' || c == '+'; };
  std::string best;
  std::string run;
  int depth = 0;
  in_class = false;
  const auto end_run = [&] {
    if (run.size() > best.size()) best = run;
    run.clear();
  };
  for (std::size_t i = 0; i < regex.size(); ++i) {
    const char c = regex[i];
    if (in_class) {
      if (c == '\\')
        ++i;
      else if (c == ']')
        in_class = false;
      continue;
    }
    std::optional<char> literal;
    if (c == '\\') {
      if (i + 1 >= regex.size()) break;
      const char next = regex[++i];
      // \d, \w, \b, \1, \x41, \u0041...: classes, assertions, references, codes.
      if (!std::isalnum(static_cast<unsigned char>(next))) literal = next;
    } else if (c == '[') {
      in_class = true;
    } else if (c == '{') {  // a bounded quantifier: its digits are no text
      const std::size_t close = regex.find('}', i);
      i = close == std::string_view::npos ? regex.size() : close;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (std::string_view(".^$*+?{}").find(c) == std::string_view::npos) {
      literal = c;
    }
    if (!literal || depth != 0) {
      end_run();
      continue;
    }
    const bool next_quantifies = i + 1 < regex.size() && quantifier(regex[i + 1]);
    if (next_quantifies) {  // "ab*": the b may be missing (or, with +, repeated)
      end_run();
      continue;
    }
    run += *literal;
  }
  end_run();
  return best;
}

LineMatcher::LineMatcher(const std::vector<MetricDefinition>& definitions) {
  m_regexes.reserve(definitions.size());
  for (const MetricDefinition& d : definitions) {
    m_regexes.emplace_back(d.regex, std::regex::ECMAScript | std::regex::optimize);
    m_literals.push_back(required_literal(d.regex));
  }
}

void LineMatcher::match(std::string_view line, std::vector<MetricMatch>& out) const {
  if (line.size() > kMaxLineBytes) line = line.substr(0, kMaxLineBytes);
  std::cmatch found;
  for (std::size_t i = 0; i < m_regexes.size(); ++i) {
    if (!m_literals[i].empty() && line.find(m_literals[i]) == std::string_view::npos) continue;
    try {
      if (!std::regex_search(line.data(), line.data() + line.size(), found, m_regexes[i])) continue;
    } catch (const std::regex_error&) {  // error_complexity / error_stack: no value
      continue;
    }
    if (found.size() < 2 || !found[1].matched) continue;
    double value = 0;
    if (parse_number(std::string_view(found[1].first, found[1].length()), value))
      out.push_back(MetricMatch{i, value});
  }
}

}  // namespace smrun::metrics
