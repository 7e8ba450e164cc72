#include "smrun/launch/instance_profile.hpp"

#include <array>

namespace smrun::launch {
namespace {

struct Row {
  std::string_view type;
  InstanceProfile profile;
};

// The reference's lists (sagemaker_training/__init__.py) plus trn1n and trn2, which it misses
// (distributed.md §2.2), and p5e/p5en, which are p5 with more memory. RDMA follows the
// reference's RDMA list; trn1n/trn2 get it like trn1 (Neuron multi-node docs).
constexpr std::array<Row, 14> kRows{{
    {"g4dn.8xlarge", {true, false, 0}},
    {"g4dn.12xlarge", {true, false, 0}},
    {"g5.48xlarge", {true, false, 0}},
    {"p3dn.24xlarge", {true, false, 0}},
    {"p4d.24xlarge", {true, true, 0}},
    {"p4de.24xlarge", {true, true, 0}},
    {"p5.48xlarge", {true, false, 0}},
    {"p5e.48xlarge", {true, false, 0}},
    {"p5en.48xlarge", {true, false, 0}},
    {"p6e-gb200.36xlarge", {true, true, 0}},
    {"trn1.2xlarge", {false, false, 2}},
    {"trn1.32xlarge", {true, true, 32}},
    {"trn1n.32xlarge", {true, true, 32}},
    {"trn2.48xlarge", {true, true, 64}},
}};

}  // namespace

std::string_view strip_ml_prefix(std::string_view instance_type) {
  if (instance_type.starts_with("ml.")) instance_type.remove_prefix(3);
  return instance_type;
}

std::optional<InstanceProfile> instance_profile(std::string_view instance_type) {
  const std::string_view base = strip_ml_prefix(instance_type);
  for (const auto& row : kRows)
    if (row.type == base) return row.profile;
  return std::nullopt;
}

bool is_trainium_instance(std::string_view instance_type) {
  return strip_ml_prefix(instance_type).starts_with("trn");
}

}  // namespace smrun::launch
