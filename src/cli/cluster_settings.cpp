#include "smrun/cli/cluster_settings.hpp"

namespace smrun::cli {

base::Expected<cluster::ClusterConfig> cluster_config(const settings::Settings& settings,
                                                      const launch::LaunchTopology& topology,
                                                      const std::string& job_name) {
  cluster::ClusterConfig cfg;
  cfg.job_name = job_name;
  cfg.hosts = topology.hosts;
  cfg.current_host = topology.current_host;
  cfg.master_host = topology.master_host;
  if (!settings.cluster_token.empty()) cfg.token = settings.cluster_token;
  cfg.port = settings.control_port;
  cfg.host_wait = settings.host_wait;
  cfg.heartbeat_timeout = settings.heartbeat_timeout;
  cfg.verdict_wait = settings.verdict_wait;
  cfg.address_overrides = settings.host_addresses;
  if (auto st = cluster::validate(cfg); !st) return base::Unexpected(st.error());
  return cfg;
}

}  // namespace smrun::cli
