#pragma once

// The master host's side: listens, admits workers, decides ABORT and the verdict (internal).

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connection.hpp"
#include "smrun/cluster/control_channel.hpp"

namespace smrun::cluster {

class MasterChannel final : public ControlChannel {
 public:
  static base::Expected<std::unique_ptr<ControlChannel>> join(const ClusterConfig& config);

  bool is_master() const override { return true; }
  std::vector<pollfd> poll_fds() const override;
  std::chrono::milliseconds next_timeout() const override;
  std::vector<ClusterEvent> on_ready(int fd, short revents) override;
  std::vector<ClusterEvent> tick() override;
  void report_failure(const FailureRecord& failure) override;
  void release_workers() override;
  std::optional<FailureRecord> abort_reason() const override { return m_first_failure; }
  using ControlChannel::finish;
  base::Expected<JobVerdict> finish(const LocalVerdict& local, int restarts_left) override;

 private:
  enum class Phase { kBarrier, kRunning, kFinishing, kClosed };
  struct Pending {  // accepted, CHALLENGE sent, no HELLO yet
    std::unique_ptr<Connection> conn;
    std::string nonce;
    std::string address;
    Clock::time_point deadline;
  };
  struct Peer {  // an admitted worker host; conn is null once lost
    std::unique_ptr<Connection> conn;
    std::string address;
  };

  explicit MasterChannel(ClusterConfig config) : m_config(std::move(config)) {}

  base::Status open_listener(Clock::time_point deadline);
  base::Status run_barrier(Clock::time_point deadline);
  std::string missing_hosts_text() const;
  void accept_pending(Clock::time_point now);
  // Returns false when the pending connection is finished with (admitted or dropped).
  bool serve_pending(Pending& pending, short revents, Clock::time_point now);
  void serve_peer(const std::string& host, Peer& peer, short revents,
                  std::vector<ClusterEvent>& events);
  void handle_peer_message(const std::string& host, Peer& peer, const nlohmann::json& message,
                           std::vector<ClusterEvent>& events);
  // `reason` by value: it often refers into the connection this destroys.
  void lose_peer(const std::string& host, Peer& peer, std::string reason,
                 std::vector<ClusterEvent>& events);
  void record_done(const std::string& host, LocalVerdict verdict,
                   std::vector<ClusterEvent>& events);
  void record_failure(FailureRecord failure, std::vector<ClusterEvent>& events);
  void broadcast(const nlohmann::json& message);
  bool every_worker_settled() const;
  std::set<std::string> joined_hosts() const;
  void linger_and_close(Clock::time_point deadline);

  ClusterConfig m_config;
  base::UniqueFd m_listener;
  std::vector<Pending> m_pending;
  std::map<std::string, Peer> m_peers;
  std::map<std::string, std::string> m_barrier_notes;  // host -> why it is not (or no longer) in
  std::map<std::string, LocalVerdict> m_done;          // DONE per host, the master's own included
  std::optional<FailureRecord> m_first_failure;
  Phase m_phase = Phase::kBarrier;
  // Hosts whose DONE said "leaving" (no restart left there): no restart can include them.
  std::set<std::string> m_leaving;
  int m_restarts = 0;  // gang restarts so far
};

}  // namespace smrun::cluster
