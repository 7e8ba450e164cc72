#include "smrun/cli/cluster_settings.hpp"

#include <charconv>

#include "smrun/cluster/address.hpp"

namespace smrun::cli {
namespace {

base::Expected<long long> int_setting(const env::EnvSnapshot& env, const char* name, long long lo,
                                      long long hi, long long fallback) {
  auto value = env::lookup(env, name);
  if (!value) return fallback;
  long long n = 0;
  auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (value->empty() || ec != std::errc() || ptr != value->data() + value->size() || n < lo ||
      n > hi)
    return base::fail(base::ErrorKind::kConfig, std::string("environment variable ") + name + "='" +
                                                    *value + "': expected an integer from " +
                                                    std::to_string(lo) + " to " +
                                                    std::to_string(hi));
  return n;
}

}  // namespace

base::Expected<cluster::ClusterConfig> read_cluster_config(const env::EnvSnapshot& env,
                                                           const launch::LaunchTopology& topology,
                                                           const std::string& job_name) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  cluster::ClusterConfig cfg;
  cfg.job_name = job_name;
  cfg.hosts = topology.hosts;
  cfg.current_host = topology.current_host;
  cfg.master_host = topology.master_host;
  if (auto token = env::lookup(env, "SMRUN_CLUSTER_TOKEN"); token && !token->empty())
    cfg.token = *token;

  auto port = int_setting(env, "SMRUN_CONTROL_PORT", 1, 65535, cluster::kDefaultControlPort);
  if (!port) return base::Unexpected(port.error());
  cfg.port = static_cast<std::uint16_t>(*port);
  auto wait = int_setting(env, "SMRUN_HOST_WAIT_SECONDS", 1, 86400,
                          std::chrono::duration_cast<seconds>(cluster::kDefaultHostWait).count());
  if (!wait) return base::Unexpected(wait.error());
  cfg.host_wait = seconds(*wait);
  auto heartbeat =
      int_setting(env, "SMRUN_HEARTBEAT_TIMEOUT_SECONDS", 1, 3600,
                  std::chrono::duration_cast<seconds>(cluster::kDefaultHeartbeatTimeout).count());
  if (!heartbeat) return base::Unexpected(heartbeat.error());
  cfg.heartbeat_timeout = seconds(*heartbeat);
  auto verdict =
      int_setting(env, "SMRUN_VERDICT_WAIT_SECONDS", 1, 86400,
                  std::chrono::duration_cast<seconds>(cluster::kDefaultVerdictWait).count());
  if (!verdict) return base::Unexpected(verdict.error());
  cfg.verdict_wait = seconds(*verdict);

  if (auto overrides = env::lookup(env, "SMRUN_HOST_ADDRESSES"); overrides && !overrides->empty()) {
    auto parsed = cluster::parse_address_overrides(*overrides);
    if (!parsed) return base::Unexpected(parsed.error());
    cfg.address_overrides = std::move(*parsed);
  }
  if (auto st = cluster::validate(cfg); !st) return base::Unexpected(st.error());
  return cfg;
}

base::Expected<std::uint16_t> read_mpi_ssh_port(const env::EnvSnapshot& env) {
  auto port = int_setting(env, "SMRUN_MPI_SSH_PORT", 1, 65535, 22);
  if (!port) return base::Unexpected(port.error());
  return static_cast<std::uint16_t>(*port);
}

}  // namespace smrun::cli
