#pragma once

// The TCP control channel that makes the smrun processes of a multi-host job one gang:
// a bounded barrier before launch, fail-fast ABORT broadcast, and a common verdict.
// Star topology: every worker host holds one connection to the master host.
//
// Poll-driven, single-threaded: after join() the caller adds poll_fds() to its own poll set,
// calls on_ready() for each of them that poll reported, and calls tick() at least every
// next_timeout() (heartbeats and lost-peer detection depend on it: a caller that blocks for
// longer than heartbeat_timeout is declared lost by its peers). Single-host jobs never
// create a channel. All sockets are non-blocking and close-on-exec, so workers spawned by the
// caller do not inherit them.

#include <poll.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/cluster/cluster_config.hpp"
#include "smrun/cluster/messages.hpp"

namespace smrun::cluster {

class ControlChannel {
 public:
  virtual ~ControlChannel() = default;
  ControlChannel(const ControlChannel&) = delete;
  ControlChannel& operator=(const ControlChannel&) = delete;

  // Blocking barrier, bounded by config.host_wait. The master listens on its own resolved
  // address (config.port) until every other host has joined, then tells them all to start.
  // A worker connects from its own address, retrying until the master answers.
  // Errors: kConfig (invalid config), kCluster naming the hosts that never arrived and why
  // ("algo-3 (resolves to 127.0.0.4, no connection)"), or, on a worker, the master and what
  // went wrong (refused by the master, unresolvable, connection refused, timed out).
  static base::Expected<std::unique_ptr<ControlChannel>> join(const ClusterConfig& config);

  virtual bool is_master() const = 0;

  // Descriptors to poll, with the events wanted (POLLIN, and POLLOUT while output is queued).
  virtual std::vector<pollfd> poll_fds() const = 0;
  // Latest time until the caller must call tick(); never negative.
  virtual std::chrono::milliseconds next_timeout() const = 0;
  // Call for each descriptor from poll_fds() that poll() reported (revents != 0).
  virtual std::vector<ClusterEvent> on_ready(int fd, short revents) = 0;
  // Sends heartbeats and declares silent peers lost.
  virtual std::vector<ClusterEvent> tick() = 0;

  // A local failure (a worker process failed, or smrun got SIGTERM). A worker host sends it to
  // the master; the master (or a master reporting its own) broadcasts ABORT with the first
  // failure. The reporting host gets no event for its own report; a worker gets the master's
  // ABORT back, which may carry an earlier failure of another host.
  virtual void report_failure(const FailureRecord& failure) = 0;

  // Master only (a worker ignores it): tells every worker host that the master's own launcher
  // ended successfully, which they see as a kRelease event. For launchers whose worker hosts
  // run nothing themselves (MPI), so they stop their daemons and report DONE.
  virtual void release_workers() = 0;

  // The first failure this host learnt of (the one the kAbort event carried), if any.
  virtual std::optional<FailureRecord> abort_reason() const = 0;

  // Ends the session. Worker: sends DONE, waits for the master's VERDICT for as long as the
  // master stays alive (heartbeats), and returns it; a lost or silent master gives kCluster
  // within heartbeat_timeout. After the master's ABORT with no restart left, the ABORT's failure
  // is the verdict already: the worker sends DONE marked "leaving" and returns at once. Master:
  // waits up to verdict_wait for every host's DONE (missing ones are failures), decides with
  // compute_verdict(), sends VERDICT to all and returns it. Call once; the channel is closed
  // afterwards.
  base::Expected<JobVerdict> finish(const LocalVerdict& local) { return finish(local, 0); }
  // The same, for a job that may restart its gang. The master, when the first failure is
  // restartable, every host is still connected and `restarts_left` > 0, returns (and sends) a
  // verdict with `restart` set to the next restart number instead of ending the job: every host
  // then runs its processes again and calls finish() once more at the end of that attempt. A
  // worker returns whatever verdict the master sent; the channel stays open after a restart.
  virtual base::Expected<JobVerdict> finish(const LocalVerdict& local, int restarts_left) = 0;

  // Convenience for callers with nothing else to wait on (and for tests): polls only this
  // channel, handling ticks, until an event arrives or `limit` passes.
  std::vector<ClusterEvent> wait_for_events(std::chrono::milliseconds limit);

 protected:
  ControlChannel() = default;
  // One poll() round over poll_fds(), bounded by next_timeout() and `deadline`, followed by
  // on_ready() for every ready descriptor and one tick(). The implementations' blocking phases
  // (barrier, finish) are loops over this.
  std::vector<ClusterEvent> poll_once(std::chrono::steady_clock::time_point deadline);
};

}  // namespace smrun::cluster
