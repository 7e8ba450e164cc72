#include "smrun/cli/channel_hooks.hpp"
#include "smrun/base/log.hpp"

#include "smrun/supervise/signals.hpp"

namespace smrun::cli {

supervise::HookAction ChannelHooks::to_action(
    const std::vector<cluster::ClusterEvent>& events) const {
  for (const auto& event : events) {
    if (event.kind == cluster::ClusterEvent::Kind::kRelease) {
      log::info("the master's launcher finished; ending this host's part");
      return supervise::HookAction{false, "", true};
    }
    const std::string reason = cluster::describe(event.failure);
    log::error("job aborted: {}", reason);
    return supervise::HookAction{true, reason};
  }
  return {};
}

supervise::HookAction ChannelHooks::on_ready(int fd, short revents) {
  return to_action(m_channel.on_ready(fd, revents));
}

supervise::HookAction ChannelHooks::on_tick() {
  return to_action(m_channel.tick());
}

void ChannelHooks::on_worker_failed(const supervise::WorkerResult& worker) {
  m_channel.report_failure(m_describe(worker));
}

void ChannelHooks::on_stop_signal(int signo) {
  cluster::FailureRecord record;
  record.host = m_host;
  record.signal = signo;
  record.exit_code = 128 + signo;
  record.message = m_host + " received " + supervise::signal_name(signo);
  record.unix_ms = cluster::unix_ms_now();
  m_channel.report_failure(record);
}

}  // namespace smrun::cli
