#include "worker_channel.hpp"

#include <sys/socket.h>

#include <thread>

#include <fmt/format.h>

#include "handshake.hpp"
#include "messages_json.hpp"
#include "smrun/base/exit_code.hpp"
#include "smrun/base/log.hpp"

namespace smrun::cluster {
namespace {

// Retries of a master that refuses or cannot be resolved yet: 5 ms, doubling up to 250 ms.
constexpr std::chrono::milliseconds kFirstConnectRetry{5};
constexpr std::chrono::milliseconds kConnectRetry{250};
// One connect() may take this long before it is retried (a dropped SYN, not a refusal).
constexpr std::chrono::milliseconds kConnectTimeout{5000};

}  // namespace

base::Expected<std::unique_ptr<ControlChannel>> WorkerChannel::join(const ClusterConfig& config) {
  std::unique_ptr<WorkerChannel> channel(new WorkerChannel(config));
  auto deadline = Clock::now() + config.host_wait;
  std::string last_problem = "no connection attempt completed";
  Backoff backoff(kFirstConnectRetry, kConnectRetry);
  for (;;) {
    Attempt attempt = channel->connect_and_greet(deadline);
    if (attempt.conn) {
      channel->m_conn = std::move(attempt.conn);
      break;
    }
    if (attempt.fatal) return base::fail(base::ErrorKind::kCluster, attempt.problem);
    if (attempt.problem != last_problem)
      log::info("cluster: waiting for master {}: {}", config.master_host, attempt.problem);
    last_problem = attempt.problem;
    auto wait = backoff.next();
    if (Clock::now() + wait >= deadline) {
      return base::fail(
          base::ErrorKind::kCluster,
          fmt::format("timed out after {} waiting for master {} ({}; "
                      "SMRUN_HOST_WAIT_SECONDS)",
                      format_duration(config.host_wait), config.master_host, last_problem));
    }
    std::this_thread::sleep_for(wait);
  }
  log::info("cluster: {} joined master {}; waiting for the other hosts", config.current_host,
            config.master_host);
  // The master's own barrier ends within host_wait of now at the latest (it was already
  // listening); one heartbeat timeout on top covers the CANCEL or START in flight.
  auto start_deadline = Clock::now() + config.host_wait + config.heartbeat_timeout;
  if (auto started = channel->wait_for_start(start_deadline); !started)
    return base::fail(started.error().kind, started.error().message);
  return std::unique_ptr<ControlChannel>(std::move(channel));
}

WorkerChannel::Attempt WorkerChannel::connect_and_greet(Clock::time_point deadline) const {
  const auto& master = m_config.master_host;
  auto remote = resolve_host(master, m_config.port, m_config.address_overrides);
  if (!remote) return {nullptr, "name does not resolve: " + remote.error().message};
  std::string where = fmt::format("resolves to {} port {}", remote->text, m_config.port);

  // Connect from this host's own address so the master sees (and logs) the expected peer.
  auto local = resolve_host(m_config.current_host, 0, m_config.address_overrides, remote->family());
  auto socket = start_connect(*remote, local ? &*local : nullptr);
  if (!socket && local) {
    log::warn("cluster: {}; connecting from the default address instead", socket.error().message);
    socket = start_connect(*remote, nullptr);
  }
  if (!socket) return {nullptr, fmt::format("{}, {}", where, socket.error().message)};
  auto connected =
      finish_connect(socket->get(), std::min(deadline, Clock::now() + kConnectTimeout));
  if (!connected) return {nullptr, fmt::format("{}, {}", where, connected.error().message)};

  auto conn = std::make_unique<Connection>(std::move(*socket), Clock::now());
  auto greeting_deadline = std::min(deadline, Clock::now() + m_config.heartbeat_timeout);
  auto challenge = conn->wait_message(greeting_deadline);
  if (!challenge)
    return {nullptr,
            fmt::format("{}, connected but no CHALLENGE: {}", where, challenge.error().message)};
  auto master_nonce = check_challenge(*challenge, m_config);
  if (!master_nonce) return {nullptr, master_nonce.error().message, true};

  std::string worker_nonce = make_nonce();
  conn->send(make_hello(m_config, *master_nonce, worker_nonce));
  auto reply = conn->wait_message(greeting_deadline);
  if (!reply)
    return {nullptr, fmt::format("{}, no answer to HELLO: {}", where, reply.error().message)};
  if (auto welcomed = check_welcome(*reply, m_config, worker_nonce); !welcomed)
    return {nullptr, welcomed.error().message, true};
  return {std::move(conn), {}, false};
}

base::Status WorkerChannel::wait_for_start(Clock::time_point deadline) {
  // START may have arrived in the same read as WELCOME: handle what is queued before polling.
  while (m_conn) {
    auto message = m_conn->next_message();
    if (!message) break;
    handle_message(*message, m_queued);
  }
  while (m_phase == Phase::kBarrier && !m_cancel_reason && m_conn && Clock::now() < deadline) {
    auto events = poll_once(deadline);
    m_queued.insert(m_queued.end(), events.begin(), events.end());
  }
  if (m_phase == Phase::kRunning) return {};
  const auto& master = m_config.master_host;
  std::string message;
  if (m_cancel_reason) {
    message = fmt::format("master {} gave up waiting for the hosts: {}", master, *m_cancel_reason);
  } else if (!m_conn) {
    message = fmt::format("lost master {} while waiting for the other hosts: {}", master,
                          m_lost_reason.value_or("connection closed"));
  } else {
    message = fmt::format("joined master {} but it did not start the job within {}", master,
                          format_duration(m_config.host_wait + m_config.heartbeat_timeout));
  }
  m_conn.reset();
  m_phase = Phase::kClosed;
  return base::fail(base::ErrorKind::kCluster, message);
}

std::vector<pollfd> WorkerChannel::poll_fds() const {
  if (!m_conn) return {};
  return {
      pollfd{m_conn->fd(), static_cast<short>(POLLIN | (m_conn->wants_write() ? POLLOUT : 0)), 0}};
}

std::chrono::milliseconds WorkerChannel::next_timeout() const {
  if (!m_queued.empty()) return std::chrono::milliseconds::zero();
  auto now = Clock::now();
  if (!m_conn) return m_config.heartbeat_interval;
  auto next = std::min(m_conn->last_sent() + m_config.heartbeat_interval,
                       m_conn->last_received() + m_config.heartbeat_timeout);
  return time_until(next, now);
}

std::vector<ClusterEvent> WorkerChannel::on_ready(int fd, short revents) {
  std::vector<ClusterEvent> events;
  if (!m_conn || m_conn->fd() != fd) return events;
  if (revents & POLLOUT) m_conn->flush();
  if (revents & (POLLIN | POLLHUP | POLLERR)) m_conn->receive(Clock::now());
  while (m_conn) {
    auto message = m_conn->next_message();
    if (!message) break;
    handle_message(*message, events);
  }
  if (m_conn && m_conn->broken()) lose_master(m_conn->broken_reason(), events);
  return events;
}

std::vector<ClusterEvent> WorkerChannel::tick() {
  std::vector<ClusterEvent> events = std::exchange(m_queued, {});
  if (!m_conn) return events;
  m_conn->flush();
  auto now = Clock::now();
  if (m_conn->broken()) {
    lose_master(m_conn->broken_reason(), events);
  } else if (now - m_conn->last_received() >= m_config.heartbeat_timeout) {
    lose_master(fmt::format("no heartbeat for {}", format_duration(m_config.heartbeat_timeout)),
                events);
  } else if (now - m_conn->last_sent() >= m_config.heartbeat_interval) {
    m_conn->send({{"type", "heartbeat"}});
  }
  return events;
}

void WorkerChannel::handle_message(const nlohmann::json& message,
                                   std::vector<ClusterEvent>& events) {
  const std::string type = message["type"].get<std::string>();
  if (type == "heartbeat") return;
  if (m_phase == Phase::kBarrier) {
    if (type == "start") {
      m_phase = Phase::kRunning;
    } else if (type == "cancel") {
      auto reason = message.find("reason");
      m_cancel_reason = reason != message.end() && reason->is_string() ? reason->get<std::string>()
                                                                       : "no reason given";
    } else {
      log::warn("cluster: ignoring unexpected \"{}\" message before the start", type);
    }
    return;
  }
  if (type == "abort") {
    auto failure = failure_from_json(message.value("failure", nlohmann::json()));
    if (!failure) return lose_master(failure.error().message, events);
    set_abort(std::move(*failure), events);
    m_master_aborted = m_abort.has_value();
  } else if (type == "release") {
    if (!m_abort) events.push_back(ClusterEvent{ClusterEvent::Kind::kRelease, FailureRecord{}});
  } else if (type == "verdict") {
    auto verdict = verdict_from_json(message.value("verdict", nlohmann::json()));
    if (!verdict) return lose_master(verdict.error().message, events);
    m_verdict = std::move(*verdict);
    // A VERDICT before our DONE: the master stopped waiting for us. Stop like for an ABORT.
    if (m_verdict->failure) set_abort(*m_verdict->failure, events);
    // A restart keeps the connection for the next attempt (the master sends one only after
    // every host's DONE, so this host is in finish() already).
    if (m_verdict->restart == 0) m_conn.reset();
  } else {
    log::warn("cluster: ignoring unexpected \"{}\" message from master {}", type,
              m_config.master_host);
  }
}

void WorkerChannel::set_abort(FailureRecord failure, std::vector<ClusterEvent>& events) {
  if (m_abort) return;
  log::error("cluster: job aborted: {}", describe(failure));
  m_abort = failure;
  events.push_back(ClusterEvent{ClusterEvent::Kind::kAbort, std::move(failure)});
}

void WorkerChannel::lose_master(std::string reason, std::vector<ClusterEvent>& events) {
  m_conn.reset();
  m_lost_reason = reason;
  if (m_phase == Phase::kBarrier || m_verdict) return;
  const auto& master = m_config.master_host;
  set_abort(FailureRecord{master, std::nullopt, base::kExitCluster, 0,
                          fmt::format("master {} lost: {}", master, reason), unix_ms_now()},
            events);
}

void WorkerChannel::report_failure(const FailureRecord& failure) {
  if (!m_conn || m_phase == Phase::kBarrier || m_phase == Phase::kClosed) return;
  m_conn->send({{"type", "failure"}, {"failure", to_json(failure)}});
}

// The master's ABORT already decided this job: its VERDICT names the ABORT's failure (its first)
// with that failure's exit status (compute_verdict), and with no restart left (and DONE marked
// "leaving", so the master restarts nothing) no other VERDICT can come. Waiting for it only kept
// this host alive until the slowest host had stopped: with 256 hosts on one machine every
// smrun's exit waited for every rank's. DONE goes out first, bounded like a heartbeat.
JobVerdict WorkerChannel::leave_after_abort() {
  m_conn->drain_output(Clock::now() + m_config.heartbeat_timeout);
  // Read what the master sent meanwhile, so that closing does not reset the connection with
  // unread data; then send our FIN after the DONE.
  m_conn->receive(Clock::now());
  ::shutdown(m_conn->fd(), SHUT_WR);
  m_conn.reset();
  m_phase = Phase::kClosed;
  JobVerdict verdict;
  verdict.failure = *m_abort;
  verdict.exit_code = m_abort->exit_status();
  log::info(
      "cluster: job verdict from master {}'s abort: exit code {} (no restart left: not "
      "waiting for the other hosts to stop)",
      m_config.master_host, verdict.exit_code);
  return verdict;
}

base::Expected<JobVerdict> WorkerChannel::finish(const LocalVerdict& local, int restarts_left) {
  if (m_phase == Phase::kClosed)
    return base::fail(base::ErrorKind::kInternal, "cluster: finish() called twice");
  if (!m_verdict && m_conn) {
    nlohmann::json done{{"type", "done"}, {"exit_code", local.exit_code}, {"failure", nullptr}};
    if (local.exit_code != 0 && local.failure) done["failure"] = to_json(*local.failure);
    const bool leave = m_master_aborted && m_abort && restarts_left == 0;
    if (leave) done["leaving"] = true;  // the master must not restart a gang without this host
    m_phase = Phase::kFinishing;
    m_conn->send(done);
    if (leave) return leave_after_abort();
    // No deadline of our own: the master stays alive while it waits (bounded) for the other
    // hosts, and a dead or silent master ends this loop within heartbeat_timeout.
    while (!m_verdict && m_conn) poll_once(Clock::time_point::max());
  }
  if (m_verdict && m_verdict->restart != 0 && m_conn) {
    // The master restarts the gang: this host runs again, on the same connection.
    JobVerdict verdict = std::move(*m_verdict);
    log::warn("cluster: master {} restarts the gang (restart {}) after: {}", m_config.master_host,
              verdict.restart, verdict.failure ? describe(*verdict.failure) : "a failure");
    m_verdict.reset();
    m_abort.reset();
    m_master_aborted = false;
    m_phase = Phase::kRunning;
    return verdict;
  }
  m_phase = Phase::kClosed;
  m_conn.reset();
  if (m_verdict) {
    log::info("cluster: job verdict from master {}: exit code {}", m_config.master_host,
              m_verdict->exit_code);
    return *m_verdict;
  }
  return base::fail(base::ErrorKind::kCluster,
                    fmt::format("master {} lost before it sent the job verdict: {}",
                                m_config.master_host, m_lost_reason.value_or("connection closed")));
}

}  // namespace smrun::cluster
