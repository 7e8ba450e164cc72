#include "cluster/cluster_harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <thread>

namespace smrun::cluster::test {
namespace {

sockaddr_in ipv4(const std::string& ip, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) throw std::runtime_error("bad ip");
  return addr;
}

}  // namespace

std::string host_name(int index) {
  return "algo-" + std::to_string(index + 1);
}
std::string host_address(int index) {
  return "127.0.0." + std::to_string(index + 2);
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = ipv4(host_address(0), 0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("bind failed");
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

ClusterConfig host_config(int hosts, int index, std::uint16_t port) {
  ClusterConfig config;
  config.job_name = "job-a";
  for (int i = 0; i < hosts; ++i) {
    config.hosts.push_back(host_name(i));
    config.address_overrides[host_name(i)] = host_address(i);
  }
  config.current_host = host_name(index);
  config.master_host = host_name(0);
  config.port = port;
  config.host_wait = milliseconds(5000);
  config.heartbeat_interval = milliseconds(100);
  config.heartbeat_timeout = milliseconds(1500);
  config.verdict_wait = milliseconds(5000);
  return config;
}

std::optional<TimedEvent> wait_event(ControlChannel& channel, milliseconds limit) {
  auto events = channel.wait_for_events(limit);
  if (events.empty()) return std::nullopt;
  return TimedEvent{events.front(), Clock::now()};
}

ForkedHost::ForkedHost(const ClusterConfig& config) {
  m_pid = ::fork();
  if (m_pid < 0) throw std::runtime_error("fork failed");
  if (m_pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto channel = ControlChannel::join(config);
    if (!channel) ::_exit(3);
    for (;;) (*channel)->wait_for_events(std::chrono::hours(1));
  }
}

ForkedHost::~ForkedHost() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGKILL);
  int status = 0;
  ::waitpid(m_pid, &status, 0);
}

void ForkedHost::signal(int signo) {
  ::kill(m_pid, signo);
}

RawPeer::RawPeer(const std::string& ip, std::uint16_t port, milliseconds limit) {
  auto deadline = Clock::now() + limit;
  sockaddr_in addr = ipv4(ip, port);
  while (Clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      m_fd = fd;
      return;
    }
    ::close(fd);
    std::this_thread::sleep_for(milliseconds(20));  // retry interval, not synchronisation
  }
}

RawPeer::~RawPeer() {
  if (m_fd >= 0) ::close(m_fd);
}

void RawPeer::send(const nlohmann::json& message) {
  std::string line = message.dump() + "\n";
  ssize_t n = ::send(m_fd, line.data(), line.size(), MSG_NOSIGNAL);
  (void)n;
}

std::optional<nlohmann::json> RawPeer::read(milliseconds limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    auto nl = m_buffer.find('\n');
    if (nl != std::string::npos) {
      auto message = nlohmann::json::parse(m_buffer.substr(0, nl));
      m_buffer.erase(0, nl + 1);
      if (message.value("type", "") == "heartbeat") continue;
      return message;
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{m_fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::recv(m_fd, buffer, sizeof buffer, 0);
    if (n <= 0) return std::nullopt;
    m_buffer.append(buffer, static_cast<std::size_t>(n));
  }
}

int accept_one_connection(const std::string& ip, std::uint16_t port, milliseconds limit) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = ipv4(ip, port);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 4) != 0) {
    ::close(listener);
    return -1;
  }
  pollfd p{listener, POLLIN, 0};
  int fd = -1;
  if (::poll(&p, 1, static_cast<int>(limit.count())) > 0)
    fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(listener);
  return fd;
}

}  // namespace smrun::cluster::test
