#pragma once

// smrun's own settings: every SMRUN_* environment variable, parsed here and nowhere else. Each
// value is checked against its rule in env-spec/variables.json ("setting": type, range, default,
// choices; compiled into generated/smrun_settings_table.hpp), so the table, the help text and
// the parser cannot disagree. A malformed value is a kConfig error naming the variable, what it
// holds and what was expected: a typo must never silently change behaviour. The other areas
// get typed values from Settings and never read SMRUN_* themselves.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/metrics/definitions.hpp"

namespace smrun::settings {

enum class PackMode { kOff, kOn, kRequired };

// Field defaults equal the table's (a test holds them equal).
struct Settings {
  // Devices (env): overrides of CPU, GPU and NeuronCore detection.
  std::optional<int> num_cpus;     // SMRUN_NUM_CPUS
  std::optional<int> num_gpus;     // SMRUN_NUM_GPUS
  std::optional<int> num_neurons;  // SMRUN_NUM_NEURONS

  // The run (supervise, pack).
  std::chrono::seconds term_grace{110};                // SMRUN_TERM_GRACE_SECONDS
  int max_restarts = 0;                                // SMRUN_MAX_RESTARTS
  PackMode pack_model = PackMode::kOn;                 // SMRUN_PACK_MODEL
  std::optional<std::filesystem::path> model_archive;  // SMRUN_MODEL_ARCHIVE
  int pack_level = 6;                                  // SMRUN_PACK_LEVEL
  std::optional<bool> log_prefix;                      // SMRUN_LOG_PREFIX
  std::optional<std::filesystem::path> rank_log_dir;   // SMRUN_RANK_LOG_DIR
  // SMRUN_LOG_RANKS: inclusive [first, last] ranges of the ranks shown on the console.
  std::optional<std::vector<std::pair<int, int>>> log_ranks;

  // Metrics: the definitions, and the resource sampling interval in seconds (0: off; unset: 5
  // when there are definitions, else no metrics at all).
  std::vector<metrics::MetricDefinition> metric_definitions;  // SMRUN_METRIC_DEFINITIONS
  std::optional<int> metric_interval;                         // SMRUN_METRIC_INTERVAL_SECONDS

  // Launch.
  std::string python = "python3";                             // SMRUN_PYTHON
  std::optional<std::string> launcher;                        // SMRUN_LAUNCHER: a valid name
  std::optional<int> nproc_per_node;                          // SMRUN_NPROC_PER_NODE
  std::uint16_t master_port = 7777;                           // SMRUN_MASTER_PORT
  bool master_addr_ip = false;                                // SMRUN_MASTER_ADDR_IP
  std::vector<std::string> torchrun{"torchrun"};              // SMRUN_TORCHRUN
  std::optional<std::string> mpi_rsh_agent;                   // SMRUN_MPI_RSH_AGENT
  std::vector<std::string> mpi_sshd{"/usr/sbin/sshd", "-D"};  // SMRUN_MPI_SSHD ([]: none)
  std::uint16_t mpi_ssh_port = 22;                            // SMRUN_MPI_SSH_PORT

  // Cluster control channel.
  std::uint16_t control_port = 7780;          // SMRUN_CONTROL_PORT
  std::chrono::seconds host_wait{300};        // SMRUN_HOST_WAIT_SECONDS
  std::chrono::seconds heartbeat_timeout{5};  // SMRUN_HEARTBEAT_TIMEOUT_SECONDS
  std::chrono::seconds verdict_wait{300};     // SMRUN_VERDICT_WAIT_SECONDS
  // SMRUN_HOST_ADDRESSES: host name -> numeric IPv4/IPv6 address.
  std::map<std::string, std::string> host_addresses;
  std::string cluster_token;  // SMRUN_CLUSTER_TOKEN

  // S3.
  int s3_max_attempts = 10;                // SMRUN_S3_MAX_ATTEMPTS
  std::chrono::seconds s3_retry{600};      // SMRUN_S3_RETRY_SECONDS
  std::chrono::seconds s3_timeout{60};     // SMRUN_S3_TIMEOUT_SECONDS
  int s3_concurrency = 8;                  // SMRUN_S3_CONCURRENCY
  int s3_part_size_mb = 16;                // SMRUN_S3_PART_SIZE_MB
  std::chrono::seconds s3_progress{10};    // SMRUN_S3_PROGRESS_SECONDS
  std::chrono::seconds s3_sync_wait{300};  // SMRUN_S3_SYNC_WAIT_SECONDS

  bool operator==(const Settings&) const = default;
};

// Where the values come from: a variable's value, or nullopt when it is not set.
using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

// Reads and checks every SMRUN_* variable. Unset variables (and empty ones, for the string,
// path and argv kinds) take the table's default.
base::Expected<Settings> read_settings(const Lookup& lookup);
base::Expected<Settings> read_settings(
    const std::map<std::string, std::string, std::less<>>& environment);

// SMRUN_* names in `environment` that are not settings (a misspelt name would otherwise be
// ignored without a word), in name order.
std::vector<std::string> unknown_settings(
    const std::map<std::string, std::string, std::less<>>& environment);

// Whether `rank` is in SMRUN_LOG_RANKS's ranges (every rank when it is not set).
bool rank_shown(const Settings& settings, int rank);

// Every setting's name, in the table's order.
std::vector<std::string_view> setting_names();

}  // namespace smrun::settings
