#pragma once

// Simulated hosts for the cluster tests. Host algo-N lives on 127.0.0.(N+1) (loopback only:
// no test sends a packet off this machine, and no test name goes to DNS: every host has an
// SMRUN_HOST_ADDRESSES-style override).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smrun/cluster/control_channel.hpp"

namespace smrun::cluster::test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string host_name(int index);     // 0 -> "algo-1"
std::string host_address(int index);  // 0 -> "127.0.0.2"

// A port that was free on 127.0.0.2 a moment ago (kernel-chosen, so tests running in
// parallel do not pick the same one).
std::uint16_t free_port();

// Config for host `index` of a job of `hosts` hosts on `port`, short timeouts for tests.
ClusterConfig host_config(int hosts, int index, std::uint16_t port);

// The first event within `limit`, if any, and when it arrived.
struct TimedEvent {
  ClusterEvent event;
  Clock::time_point at;
};
std::optional<TimedEvent> wait_event(ControlChannel& channel, milliseconds limit);

// A forked simulated host that joins with `config` and then serves the channel until killed
// (SIGKILL in the destructor; PR_SET_PDEATHSIG covers a crashed test). Fork before starting
// threads in the test.
class ForkedHost {
 public:
  explicit ForkedHost(const ClusterConfig& config);
  ~ForkedHost();
  ForkedHost(const ForkedHost&) = delete;
  ForkedHost& operator=(const ForkedHost&) = delete;
  void signal(int signo);
  pid_t pid() const { return m_pid; }

 private:
  pid_t m_pid = -1;
};

// A hand-driven peer speaking raw JSON lines, to send what a real smrun never would.
class RawPeer {
 public:
  // Connects to ip:port, retrying refused connections until `limit` passes.
  RawPeer(const std::string& ip, std::uint16_t port, milliseconds limit);
  // Wraps an accepted socket.
  explicit RawPeer(int fd) : m_fd(fd) {}
  ~RawPeer();
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;
  bool connected() const { return m_fd >= 0; }
  void send(const nlohmann::json& message);
  // Next message other than a heartbeat, or nullopt on EOF / timeout.
  std::optional<nlohmann::json> read(milliseconds limit);

 private:
  int m_fd = -1;
  std::string m_buffer;
};

// Listens on ip:port and returns the first accepted connection within `limit` (-1 if none).
int accept_one_connection(const std::string& ip, std::uint16_t port, milliseconds limit);

}  // namespace smrun::cluster::test
