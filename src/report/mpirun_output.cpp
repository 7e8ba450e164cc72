#include "smrun/report/mpirun_output.hpp"

#include <regex>

namespace smrun::report {
namespace {

// Built on first use, not at start-up: compiling a std::regex costs more than the rest of
// smrun's static initialisation, and only a failed mpirun job needs these.
// Open MPI 4.1 (orte/mca/errmgr help texts): a non-zero exit ...
//   Process name: [[24208,1],3]
//   Exit code:    3
const std::regex& exit_code_pattern() {
  static const std::regex pattern(
      R"(Process name: \[\[\d+,\d+\],(\d{1,9})\]\s*\n\s*Exit code:\s*(-?\d{1,9}))");
  return pattern;
}
// ... or a signal:
//   mpirun noticed that process rank 1 with PID 12113 on node algo-1 exited on signal 11 (...).
const std::regex& signal_pattern() {
  static const std::regex pattern(
      R"(process rank (\d{1,9}) with PID \d+ on node (\S+) exited on signal (\d{1,3}))");
  return pattern;
}

std::string rank_stderr(std::string_view tail, int rank) {
  const std::string tag = "," + std::to_string(rank) + "]<stderr>:";
  std::string out;
  std::size_t pos = 0;
  while (pos < tail.size()) {
    std::size_t end = tail.find('\n', pos);
    if (end == std::string_view::npos) end = tail.size();
    std::string_view line = tail.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with("[")) continue;
    auto at = line.find(tag);
    if (at == std::string_view::npos || line.find(']') < at) continue;
    out.append(line.substr(at + tag.size()));
    out.push_back('\n');
  }
  return out;
}

std::string host_of(int rank, const std::vector<std::string>& hosts, int processes_per_host) {
  if (rank < 0 || processes_per_host <= 0) return "";
  const auto index = static_cast<std::size_t>(rank / processes_per_host);
  return index < hosts.size() ? hosts[index] : "";
}

}  // namespace

std::optional<MpiRankFailure> parse_mpirun_failure(std::string_view stderr_tail,
                                                   const std::vector<std::string>& hosts,
                                                   int processes_per_host) {
  const std::string text(stderr_tail);
  std::smatch m;
  MpiRankFailure failure;
  if (std::regex_search(text, m, exit_code_pattern())) {
    failure.rank = std::stoi(m[1].str());
    failure.exit_code = std::stoi(m[2].str());
    failure.host = host_of(failure.rank, hosts, processes_per_host);
  } else if (std::regex_search(text, m, signal_pattern())) {
    failure.rank = std::stoi(m[1].str());
    failure.host = m[2].str();
    failure.signal = std::stoi(m[3].str());
  } else {
    return std::nullopt;
  }
  failure.stderr_text = rank_stderr(stderr_tail, failure.rank);
  return failure;
}

}  // namespace smrun::report
