#pragma once

// The values the control channel carries between hosts, and their JSON form (the wire format
// is described in docs/cluster-protocol.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "smrun/base/expected.hpp"

namespace smrun::cluster {

// Sent in every CHALLENGE and HELLO; peers with another version are refused.
// Version 2 added RELEASE (MPI worker hosts whose ranks belong to the master's mpirun);
// version 3 gang restarts (a failure record's "restartable", a verdict's "restart").
inline constexpr int kProtocolVersion = 3;

// One host's failure, as reported by that host (or by the master for a host it lost).
struct FailureRecord {
  std::string host;          // "algo-3"
  std::optional<int> rank;   // global rank of the failed process; none for host-level failures
  int exit_code = 0;         // the process's exit code when signal == 0
  int signal = 0;            // terminating signal number, 0 when it exited
  std::string message;       // one line: error-file message, stderr's last line, "lost: ..."
  std::int64_t unix_ms = 0;  // wall clock when the failure was seen (informational: clock skew)
  // A process of the job failed on its own (exit code or signal; not a process that could not
  // start, a lost host or a stop signal): starting the gang again may help (SMRUN_MAX_RESTARTS).
  bool restartable = false;

  // The exit code this failure gives the job: 128 + signal, else exit_code; never 0 (a failure
  // recorded with code 0 still fails the job, with 1).
  int exit_status() const;
};

// What one host's smrun concluded about its own workers.
struct LocalVerdict {
  int exit_code = 0;                     // 0 = this host succeeded
  std::optional<FailureRecord> failure;  // set when exit_code != 0 (synthesised if missing)
};

// The job's verdict, decided by the master; its exit code and failure are the same on every host.
struct JobVerdict {
  int exit_code = 0;                     // every host exits with this
  std::optional<FailureRecord> failure;  // the first failure the master learnt of
  // Each host's DONE code; -1 = never reported. Empty on a worker that left after the master's
  // ABORT (ControlChannel::finish): only the master waits for every DONE.
  std::map<std::string, int> host_exit_codes;
  // Not 0: the job is not over; every host starts its processes again as restart number
  // `restart` (TORCHELASTIC_RESTART_COUNT) and the channel stays open for that attempt.
  int restart = 0;
  bool succeeded() const { return exit_code == 0; }
};

struct ClusterEvent {
  enum class Kind {
    kAbort,  // some host failed (or was lost): stop the local workers; carries the first failure
    // The master's launcher (mpirun) ended successfully: a host with nothing of its own to run
    // (only its SSH daemon) can finish now. Hosts running their own ranks ignore it.
    kRelease,
  };
  Kind kind = Kind::kAbort;
  FailureRecord failure;
};

// "algo-3 rank 5: exit code 1: ValueError: bad shape" / "algo-2: signal 15: ...".
std::string describe(const FailureRecord& failure);

std::int64_t unix_ms_now();

// The JSON form lives in src/cluster/messages_json.hpp: nlohmann/json stays inside this area.

}  // namespace smrun::cluster
