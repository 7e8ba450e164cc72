#include "master_channel.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "handshake.hpp"
#include "messages_json.hpp"
#include "smrun/base/exit_code.hpp"
#include "smrun/base/log.hpp"
#include "smrun/cluster/verdict.hpp"

namespace smrun::cluster {
namespace {

// Too many unauthenticated connections at once means something is scanning the port; the
// excess is closed at once instead of growing without bound.
constexpr std::size_t kMaxPending = 64;
// How long the master waits for a worker to close after VERDICT, so the last bytes are read
// before the socket goes away (closing with unread input would send a reset).
constexpr std::chrono::milliseconds kLinger{2000};
constexpr std::chrono::milliseconds kResolveRetry{250};

}  // namespace

base::Expected<std::unique_ptr<ControlChannel>> MasterChannel::join(const ClusterConfig& config) {
  auto start = Clock::now();
  std::unique_ptr<MasterChannel> channel(new MasterChannel(config));
  auto deadline = start + config.host_wait;
  if (auto listening = channel->open_listener(deadline); !listening)
    return base::fail(listening.error().kind, listening.error().message);
  if (auto barrier = channel->run_barrier(deadline); !barrier)
    return base::fail(barrier.error().kind, barrier.error().message);
  return std::unique_ptr<ControlChannel>(std::move(channel));
}

base::Status MasterChannel::open_listener(Clock::time_point deadline) {
  // The master's own name may not resolve yet when the container starts (a known SageMaker
  // race), so resolution is retried within the barrier's budget; binding is not.
  for (;;) {
    auto self = resolve_host(m_config.current_host, m_config.port, m_config.address_overrides);
    if (self) {
      auto listener = listen_on(*self);
      if (!listener)
        return base::fail(
            base::ErrorKind::kCluster,
            fmt::format("master {}: {}", m_config.current_host, listener.error().message));
      m_listener = std::move(*listener);
      log::info("cluster: master {} listening on {} port {} for {} other host(s)",
                m_config.current_host, self->text, m_config.port, m_config.hosts.size() - 1);
      return {};
    }
    if (Clock::now() + kResolveRetry >= deadline)
      return base::fail(base::ErrorKind::kCluster,
                        fmt::format("timed out after {}: master {} cannot resolve its own name "
                                    "to listen on ({})",
                                    format_duration(m_config.host_wait), m_config.current_host,
                                    self.error().message));
    std::this_thread::sleep_for(kResolveRetry);
  }
}

base::Status MasterChannel::run_barrier(Clock::time_point deadline) {
  while (joined_hosts().size() + 1 < m_config.hosts.size() && Clock::now() < deadline) {
    poll_once(deadline);
  }
  if (joined_hosts().size() + 1 == m_config.hosts.size()) {
    nlohmann::json start{{"type", "start"}, {"hosts", m_config.hosts}};
    broadcast(start);
    m_phase = Phase::kRunning;
    log::info("cluster: all {} hosts joined; starting", m_config.hosts.size());
    return {};
  }
  std::string message =
      fmt::format("timed out after {} waiting for {} (SMRUN_HOST_WAIT_SECONDS; control port {})",
                  format_duration(m_config.host_wait), missing_hosts_text(), m_config.port);
  broadcast({{"type", "cancel"}, {"reason", message}});
  m_phase = Phase::kClosed;
  linger_and_close(Clock::now() + kLinger);
  return base::fail(base::ErrorKind::kCluster, message);
}

std::string MasterChannel::missing_hosts_text() const {
  std::vector<std::string> parts;
  for (const auto& host : m_config.hosts) {
    auto peer = m_peers.find(host);
    if (host == m_config.current_host || (peer != m_peers.end() && peer->second.conn)) continue;
    auto note = m_barrier_notes.find(host);
    std::string status = note != m_barrier_notes.end() ? note->second : "no connection";
    // Resolved now, not earlier: the question is whether the name resolves at the deadline.
    auto address = resolve_host(host, m_config.port, m_config.address_overrides);
    if (address) {
      parts.push_back(fmt::format("{} (resolves to {}, {})", host, address->text, status));
    } else if (status == "no connection") {
      parts.push_back(fmt::format("{} (name does not resolve: {})", host, address.error().message));
    } else {
      parts.push_back(
          fmt::format("{} (name does not resolve: {}; {})", host, address.error().message, status));
    }
  }
  return fmt::format("{} {}", parts.size() == 1 ? "host" : "hosts", fmt::join(parts, ", "));
}

std::set<std::string> MasterChannel::joined_hosts() const {
  std::set<std::string> out;
  for (const auto& [host, peer] : m_peers) {
    if (peer.conn) out.insert(host);
  }
  return out;
}

std::vector<pollfd> MasterChannel::poll_fds() const {
  std::vector<pollfd> fds;
  if (m_listener.valid()) fds.push_back({m_listener.get(), POLLIN, 0});
  auto wanted = [](const Connection& conn) {
    return static_cast<short>(POLLIN | (conn.wants_write() ? POLLOUT : 0));
  };
  for (const auto& pending : m_pending)
    fds.push_back({pending.conn->fd(), wanted(*pending.conn), 0});
  for (const auto& [host, peer] : m_peers) {
    if (peer.conn) fds.push_back({peer.conn->fd(), wanted(*peer.conn), 0});
  }
  return fds;
}

std::chrono::milliseconds MasterChannel::next_timeout() const {
  auto now = Clock::now();
  auto next = now + m_config.heartbeat_interval;
  for (const auto& pending : m_pending) next = std::min(next, pending.deadline);
  if (m_phase != Phase::kClosed) {
    for (const auto& [host, peer] : m_peers) {
      if (!peer.conn) continue;
      next = std::min(next, peer.conn->last_sent() + m_config.heartbeat_interval);
      next = std::min(next, peer.conn->last_received() + m_config.heartbeat_timeout);
    }
  }
  return time_until(next, now);
}

void MasterChannel::accept_pending(Clock::time_point now) {
  for (;;) {
    std::string address;
    base::UniqueFd fd = accept_one(m_listener.get(), address);
    if (!fd.valid()) return;
    if (m_pending.size() >= kMaxPending) {
      log::warn("cluster: too many unauthenticated connections; closing one from {}", address);
      continue;
    }
    Pending pending{std::make_unique<Connection>(std::move(fd), now), make_nonce(), address,
                    now + m_config.heartbeat_timeout};
    pending.conn->send(make_challenge(m_config, pending.nonce));
    m_pending.push_back(std::move(pending));
  }
}

bool MasterChannel::serve_pending(Pending& pending, short revents, Clock::time_point now) {
  if (revents & POLLOUT) pending.conn->flush();
  if (revents & (POLLIN | POLLHUP | POLLERR)) pending.conn->receive(now);
  auto hello = pending.conn->next_message();
  if (!hello) {
    if (!pending.conn->broken()) return true;
    log::warn("cluster: connection from {} ended before its HELLO: {}", pending.address,
              pending.conn->broken_reason());
    return false;
  }
  std::string claimed;
  bool accepting = m_phase == Phase::kBarrier;
  auto host = check_hello(*hello, m_config, pending.nonce, joined_hosts(), accepting, claimed);
  if (!host) {
    log::warn("cluster: refused control connection from {} (claims host \"{}\"): {}",
              pending.address, claimed, host.error().message);
    if (accepting &&
        std::find(m_config.hosts.begin(), m_config.hosts.end(), claimed) != m_config.hosts.end() &&
        !joined_hosts().contains(claimed)) {
      m_barrier_notes[claimed] = "refused: " + host.error().message;
    }
    pending.conn->send(make_refuse(host.error().message));
    pending.conn->drain_output(now + std::chrono::milliseconds(100));
    return false;
  }
  auto nonce = hello->find("nonce")->get<std::string>();
  pending.conn->send(make_welcome(m_config, nonce));
  m_barrier_notes.erase(*host);
  m_peers[*host] = Peer{std::move(pending.conn), pending.address};
  log::info("cluster: {} joined from {} ({} of {} hosts)", *host, pending.address,
            joined_hosts().size() + 1, m_config.hosts.size());
  return false;
}

std::vector<ClusterEvent> MasterChannel::on_ready(int fd, short revents) {
  std::vector<ClusterEvent> events;
  auto now = Clock::now();
  if (m_listener.valid() && fd == m_listener.get()) {
    accept_pending(now);
    return events;
  }
  for (auto it = m_pending.begin(); it != m_pending.end(); ++it) {
    if (it->conn->fd() != fd) continue;
    if (!serve_pending(*it, revents, now)) m_pending.erase(it);
    return events;
  }
  for (auto& [host, peer] : m_peers) {
    if (peer.conn && peer.conn->fd() == fd) {
      serve_peer(host, peer, revents, events);
      break;
    }
  }
  return events;
}

void MasterChannel::serve_peer(const std::string& host, Peer& peer, short revents,
                               std::vector<ClusterEvent>& events) {
  if (revents & POLLOUT) peer.conn->flush();
  if (revents & (POLLIN | POLLHUP | POLLERR)) peer.conn->receive(Clock::now());
  while (peer.conn) {
    auto message = peer.conn->next_message();
    if (!message) break;
    handle_peer_message(host, peer, *message, events);
  }
  if (peer.conn && peer.conn->broken()) lose_peer(host, peer, peer.conn->broken_reason(), events);
}

void MasterChannel::handle_peer_message(const std::string& host, Peer& peer,
                                        const nlohmann::json& message,
                                        std::vector<ClusterEvent>& events) {
  if (m_phase == Phase::kClosed) return;  // only draining before close
  const std::string type = message["type"].get<std::string>();
  if (type == "heartbeat") return;
  if (type == "failure" && m_phase != Phase::kBarrier) {
    auto failure = failure_from_json(message.value("failure", nlohmann::json()));
    if (!failure) return lose_peer(host, peer, failure.error().message, events);
    log::error("cluster: {} reports a failure: {}", host, describe(*failure));
    record_failure(std::move(*failure), events);
    return;
  }
  if (type == "done" && m_phase != Phase::kBarrier) {
    auto code = message.find("exit_code");
    if (code == message.end() || !code->is_number_integer())
      return lose_peer(host, peer, "malformed DONE (exit_code)", events);
    LocalVerdict verdict{code->get<int>(), std::nullopt};
    auto failure = message.find("failure");
    if (failure != message.end() && !failure->is_null()) {
      auto parsed = failure_from_json(*failure);
      if (!parsed) return lose_peer(host, peer, parsed.error().message, events);
      verdict.failure = std::move(*parsed);
    }
    if (message.value("leaving", false)) m_leaving.insert(host);
    record_done(host, std::move(verdict), events);
    return;
  }
  log::warn("cluster: ignoring unexpected \"{}\" message from {}", type, host);
}

void MasterChannel::lose_peer(const std::string& host, Peer& peer, std::string reason,
                              std::vector<ClusterEvent>& events) {
  peer.conn.reset();
  if (m_phase == Phase::kBarrier) {
    // Not started yet: the host simply has not arrived (it may come back within host_wait;
    // the entry stays, connection-less, and a new HELLO replaces it).
    log::warn("cluster: {} left before the job started: {}", host, reason);
    m_barrier_notes[host] = fmt::format("joined, then lost: {}", reason);
    return;
  }
  if (m_phase == Phase::kClosed || m_done.contains(host)) {
    log::debug("cluster: connection to {} ended: {}", host, reason);
    return;
  }
  record_failure(FailureRecord{host, std::nullopt, base::kExitCluster, 0,
                               fmt::format("{} lost: {}", host, reason), unix_ms_now()},
                 events);
}

void MasterChannel::record_done(const std::string& host, LocalVerdict verdict,
                                std::vector<ClusterEvent>& events) {
  if (m_done.contains(host)) return;
  if (verdict.exit_code != 0 && !verdict.failure) {
    verdict.failure = FailureRecord{host,
                                    std::nullopt,
                                    verdict.exit_code,
                                    0,
                                    fmt::format("exited with code {}", verdict.exit_code),
                                    unix_ms_now()};
  }
  log::info("cluster: {} done with exit code {}", host, verdict.exit_code);
  std::optional<FailureRecord> failure = verdict.exit_code != 0 ? verdict.failure : std::nullopt;
  m_done[host] = std::move(verdict);
  if (failure) record_failure(std::move(*failure), events);
}

void MasterChannel::record_failure(FailureRecord failure, std::vector<ClusterEvent>& events) {
  if (failure.unix_ms == 0) failure.unix_ms = unix_ms_now();
  if (m_first_failure) {
    log::info("cluster: later failure (the job is already aborting): {}", describe(failure));
    return;
  }
  log::error("cluster: job failed: {}; aborting every host", describe(failure));
  m_first_failure = failure;
  broadcast({{"type", "abort"}, {"failure", to_json(failure)}});
  events.push_back(ClusterEvent{ClusterEvent::Kind::kAbort, std::move(failure)});
}

void MasterChannel::broadcast(const nlohmann::json& message) {
  for (auto& [host, peer] : m_peers) {
    if (peer.conn) peer.conn->send(message);
  }
}

std::vector<ClusterEvent> MasterChannel::tick() {
  std::vector<ClusterEvent> events;
  auto now = Clock::now();
  std::erase_if(m_pending, [&](const Pending& pending) {
    if (pending.deadline > now) return false;
    log::warn("cluster: no HELLO from {} within {}; closing", pending.address,
              format_duration(m_config.heartbeat_timeout));
    return true;
  });
  for (auto& [host, peer] : m_peers) {
    if (!peer.conn) continue;
    peer.conn->flush();
    if (m_phase == Phase::kClosed) continue;
    if (peer.conn->broken()) {
      lose_peer(host, peer, peer.conn->broken_reason(), events);
    } else if (now - peer.conn->last_received() >= m_config.heartbeat_timeout) {
      lose_peer(host, peer,
                fmt::format("no heartbeat for {}", format_duration(m_config.heartbeat_timeout)),
                events);
    } else if (now - peer.conn->last_sent() >= m_config.heartbeat_interval) {
      peer.conn->send({{"type", "heartbeat"}});
    }
  }
  return events;
}

void MasterChannel::report_failure(const FailureRecord& failure) {
  if (m_phase == Phase::kClosed || m_phase == Phase::kBarrier) return;
  std::vector<ClusterEvent> ignored;  // the caller knows about its own failure
  record_failure(failure, ignored);
}

bool MasterChannel::every_worker_settled() const {
  for (const auto& [host, peer] : m_peers) {
    if (peer.conn && !m_done.contains(host)) return false;
  }
  return true;
}

void MasterChannel::release_workers() {
  if (m_phase == Phase::kBarrier || m_phase == Phase::kClosed) return;
  log::info("cluster: releasing the worker hosts");
  broadcast({{"type", "release"}});
}

base::Expected<JobVerdict> MasterChannel::finish(const LocalVerdict& local, int restarts_left) {
  if (m_phase == Phase::kClosed)
    return base::fail(base::ErrorKind::kInternal, "cluster: finish() called twice");
  m_phase = Phase::kFinishing;
  m_listener.reset();
  m_pending.clear();
  std::vector<ClusterEvent> ignored;
  record_done(m_config.current_host, local, ignored);
  auto deadline = Clock::now() + m_config.verdict_wait;
  while (!every_worker_settled() && Clock::now() < deadline) poll_once(deadline);
  for (const auto& [host, peer] : m_peers) {
    if (m_done.contains(host) || !peer.conn) continue;
    record_failure(FailureRecord{host, std::nullopt, base::kExitCluster, 0,
                                 fmt::format("{} did not report DONE within {} after master {} "
                                             "finished (SMRUN_VERDICT_WAIT_SECONDS)",
                                             host, format_duration(m_config.verdict_wait),
                                             m_config.current_host),
                                 unix_ms_now()},
                   ignored);
  }
  JobVerdict verdict = compute_verdict(m_config.hosts, m_done, m_first_failure);
  const bool everyone_here = std::all_of(m_peers.begin(), m_peers.end(), [](const auto& entry) {
    return entry.second.conn != nullptr;
  });
  if (!verdict.succeeded() && restarts_left > 0 && verdict.failure &&
      verdict.failure->restartable && everyone_here && m_leaving.empty()) {
    // The same hosts run again: the round's state starts over, the connections stay.
    verdict.restart = ++m_restarts;
    broadcast({{"type", "verdict"}, {"verdict", to_json(verdict)}});
    log::warn("cluster: attempt {} failed: {}; restarting every host (restart {}, {} left)",
              m_restarts, describe(*verdict.failure), m_restarts, restarts_left - 1);
    m_done.clear();
    m_first_failure.reset();
    m_phase = Phase::kRunning;
    return verdict;
  }
  broadcast({{"type", "verdict"}, {"verdict", to_json(verdict)}});
  m_phase = Phase::kClosed;
  linger_and_close(Clock::now() + kLinger);
  if (verdict.succeeded()) {
    log::info("cluster: job verdict: success on all {} hosts", m_config.hosts.size());
  } else {
    log::error("cluster: job verdict: exit code {} ({})", verdict.exit_code,
               describe(*verdict.failure));
  }
  return verdict;
}

void MasterChannel::linger_and_close(Clock::time_point deadline) {
  // Workers close once they have read the last message; waiting for their EOF (reading and
  // discarding) means our close never resets a connection with that message still in flight.
  auto open = [&] {
    return std::any_of(m_peers.begin(), m_peers.end(),
                       [](const auto& entry) { return entry.second.conn != nullptr; });
  };
  while (open() && Clock::now() < deadline) poll_once(deadline);
  m_peers.clear();
  m_listener.reset();
}

}  // namespace smrun::cluster
