#pragma once

// Plugs the cluster control channel into the supervisor's loop: a peer's abort tears the local
// gang down at once, and a local failure or stop signal is reported to every peer.

#include <functional>
#include <string>

#include "smrun/cluster/control_channel.hpp"
#include "smrun/supervise/supervisor_hooks.hpp"

namespace smrun::cli {

class ChannelHooks final : public supervise::SupervisorHooks {
 public:
  using FailureDescriber = std::function<cluster::FailureRecord(const supervise::WorkerResult&)>;
  ChannelHooks(cluster::ControlChannel& channel, std::string host, FailureDescriber describe)
      : m_channel(channel), m_host(std::move(host)), m_describe(std::move(describe)) {}

  std::vector<pollfd> poll_fds() override { return m_channel.poll_fds(); }
  std::chrono::milliseconds next_timeout() override { return m_channel.next_timeout(); }
  supervise::HookAction on_ready(int fd, short revents) override;
  supervise::HookAction on_tick() override;
  void on_worker_failed(const supervise::WorkerResult& worker) override;
  void on_stop_signal(int signo) override;

 private:
  supervise::HookAction to_action(const std::vector<cluster::ClusterEvent>& events) const;

  cluster::ControlChannel& m_channel;
  std::string m_host;
  FailureDescriber m_describe;
};

}  // namespace smrun::cli
