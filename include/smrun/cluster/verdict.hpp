#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "smrun/cluster/messages.hpp"

namespace smrun::cluster {

// The master's decision. `done` holds each host's DONE; hosts missing from it never reported.
// `first_failure` is the first failure the master learnt of (it precedes, causally, every
// failure the ABORT provoked, which timestamps across hosts cannot guarantee).
// Success iff every host reported exit code 0 and no failure was recorded. Otherwise the
// verdict carries first_failure, or, failing that, the first failed host in rank order.
JobVerdict compute_verdict(const std::vector<std::string>& hosts,
                           const std::map<std::string, LocalVerdict>& done,
                           const std::optional<FailureRecord>& first_failure);

}  // namespace smrun::cluster
