#pragma once

// The JSON form of the control channel's values (docs/cluster-protocol.md). Private to the
// cluster area, the only one that uses nlohmann/json.

#include <nlohmann/json.hpp>

#include "smrun/base/expected.hpp"
#include "smrun/cluster/messages.hpp"

namespace smrun::cluster {

nlohmann::json to_json(const FailureRecord& failure);
nlohmann::json to_json(const JobVerdict& verdict);
// Errors are kCluster and name the offending field.
base::Expected<FailureRecord> failure_from_json(const nlohmann::json& json);
base::Expected<JobVerdict> verdict_from_json(const nlohmann::json& json);

}  // namespace smrun::cluster
