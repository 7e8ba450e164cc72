#pragma once

// A worker host's side: one connection to the master (internal).

#include <memory>
#include <optional>
#include <string>

#include "connection.hpp"
#include "smrun/cluster/control_channel.hpp"

namespace smrun::cluster {

class WorkerChannel final : public ControlChannel {
 public:
  static base::Expected<std::unique_ptr<ControlChannel>> join(const ClusterConfig& config);

  bool is_master() const override { return false; }
  std::vector<pollfd> poll_fds() const override;
  std::chrono::milliseconds next_timeout() const override;
  std::vector<ClusterEvent> on_ready(int fd, short revents) override;
  std::vector<ClusterEvent> tick() override;
  void report_failure(const FailureRecord& failure) override;
  void release_workers() override {}
  std::optional<FailureRecord> abort_reason() const override { return m_abort; }
  using ControlChannel::finish;
  base::Expected<JobVerdict> finish(const LocalVerdict& local, int restarts_left) override;

 private:
  enum class Phase { kBarrier, kRunning, kFinishing, kClosed };
  // One connection attempt: a greeted connection, or why not (fatal = retrying cannot help).
  struct Attempt {
    std::unique_ptr<Connection> conn;
    std::string problem;
    bool fatal = false;
  };

  explicit WorkerChannel(ClusterConfig config) : m_config(std::move(config)) {}

  Attempt connect_and_greet(Clock::time_point deadline) const;
  base::Status wait_for_start(Clock::time_point deadline);
  void handle_message(const nlohmann::json& message, std::vector<ClusterEvent>& events);
  // `reason` by value: it often refers into the connection this destroys.
  void lose_master(std::string reason, std::vector<ClusterEvent>& events);
  void set_abort(FailureRecord failure, std::vector<ClusterEvent>& events);
  // finish() after the master's ABORT when no restart can follow: see there.
  JobVerdict leave_after_abort();

  ClusterConfig m_config;
  std::unique_ptr<Connection> m_conn;
  Phase m_phase = Phase::kBarrier;
  std::optional<FailureRecord> m_abort;
  bool m_master_aborted = false;  // m_abort came in the master's ABORT (not a lost master)
  std::optional<JobVerdict> m_verdict;
  std::optional<std::string> m_lost_reason;
  std::optional<std::string> m_cancel_reason;
  // Events produced inside join() (an ABORT read together with START): handed to the caller
  // by the next tick(), which next_timeout() then asks for at once.
  std::vector<ClusterEvent> m_queued;
};

}  // namespace smrun::cluster
