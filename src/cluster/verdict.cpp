#include "smrun/cluster/verdict.hpp"

#include <fmt/format.h>

#include "smrun/base/exit_code.hpp"

namespace smrun::cluster {

JobVerdict compute_verdict(const std::vector<std::string>& hosts,
                           const std::map<std::string, LocalVerdict>& done,
                           const std::optional<FailureRecord>& first_failure) {
  JobVerdict verdict;
  std::optional<FailureRecord> first_failed_host;
  for (const auto& host : hosts) {
    auto it = done.find(host);
    int code = it == done.end() ? -1 : it->second.exit_code;
    verdict.host_exit_codes[host] = code;
    if (code == 0 || first_failed_host) continue;
    if (it == done.end()) {
      first_failed_host = FailureRecord{host, std::nullopt,          base::kExitCluster,
                                        0,    "never reported DONE", unix_ms_now()};
    } else if (it->second.failure) {
      first_failed_host = it->second.failure;
    } else {
      first_failed_host = FailureRecord{
          host, std::nullopt, code, 0, fmt::format("exited with code {}", code), unix_ms_now()};
    }
  }
  verdict.failure = first_failure ? first_failure : first_failed_host;
  verdict.exit_code = verdict.failure ? verdict.failure->exit_status() : 0;
  return verdict;
}

}  // namespace smrun::cluster
