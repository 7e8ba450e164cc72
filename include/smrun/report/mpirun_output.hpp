#pragma once

// Reading the root cause out of mpirun's own output: mpirun exits with the first failed rank's
// status, and says which rank that was only in its stderr. With --tag-output every rank's line
// is "[<job>,<rank>]<stderr>:<text>", which gives that rank's last words.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smrun::report {

struct MpiRankFailure {
  int rank = -1;
  std::string host;   // node name from mpirun, else hosts[rank / processes_per_host]
  int exit_code = 0;  // when signal == 0
  int signal = 0;
  std::string stderr_text;  // that rank's tagged stderr lines, untagged, in order
};

// The first failed rank mpirun reported in `stderr_tail`, if it reported one. Ranks are placed
// by slot (-map-by slot) on `hosts` in order, `processes_per_host` each, as in the reference.
std::optional<MpiRankFailure> parse_mpirun_failure(std::string_view stderr_tail,
                                                   const std::vector<std::string>& hosts,
                                                   int processes_per_host);

}  // namespace smrun::report
