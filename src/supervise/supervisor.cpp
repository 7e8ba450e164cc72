#include "smrun/supervise/supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "smrun/supervise/children.hpp"
#include "smrun/supervise/signals.hpp"
#include "smrun/supervise/spawn.hpp"
#include "smrun/supervise/stderr_tail.hpp"
#include "smrun/supervise/unique_fd.hpp"

namespace smrun::supervise {
namespace {

using Clock = std::chrono::steady_clock;

// After the final SIGKILL of leftovers, how long to wait for them to vanish before giving up
// (a process stuck in uninterruptible sleep cannot be killed; PID 1 exiting ends it anyway).
constexpr auto kFinalKillWait = std::chrono::seconds(5);
// Killed leftovers' own children are reparented to us without any SIGCHLD, so while killing
// leftovers we look for new ones at this interval.
constexpr auto kLeftoverRescan = std::chrono::milliseconds(50);
constexpr std::size_t kRelayChunk = 64 * 1024;

std::string os_message(int error_number) {
  return std::generic_category().message(error_number);
}

// Writes all of data to fd; gives up silently when fd is gone (EPIPE, EBADF): losing the relay
// must not stop supervision, and the tail is still kept.
void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {  // someone made our stderr non-blocking
      pollfd out{fd, POLLOUT, 0};
      while (::poll(&out, 1, -1) < 0 && errno == EINTR) {
      }
    } else {
      return;
    }
  }
}

struct Worker {
  pid_t pid = -1;  // leader and process group id
  UniqueFd stderr_fd;
  StderrTail tail;
  std::optional<ExecFailure> exec_failure;
  bool reaped = false;
  bool group_gone = false;                   // kill(-pgid) said ESRCH: nobody left to signal
  std::optional<Clock::time_point> kill_at;  // SIGTERM sent; SIGKILL due at this time
  bool kill_sent = false;
  WorkerResult result;

  explicit Worker(std::size_t tail_bytes) : tail(tail_bytes) {}
};

// One supervision run: spawn, loop until no child is left, collect results.
class Supervision {
 public:
  Supervision(const SuperviseOptions& options, UniqueFd signal_fd)
      : m_options(options), m_signal_fd(std::move(signal_fd)), m_relay_buffer(kRelayChunk) {}

  base::Status start(const std::vector<ProcessSpec>& specs);
  base::Status loop();
  RunResult result();

 private:
  void drain_signals();
  void reap_children();
  void on_worker_exit(Worker& worker, int status);
  void forward(int signo);
  bool signal_group(Worker& worker, int signo);
  void terminate_group(Worker& worker, const char* reason);
  void start_sweep();
  void kill_leftovers();
  void check_deadlines(Clock::time_point now);
  void relay(Worker& worker);
  Worker* find(pid_t pid);
  bool all_reaped() const;
  bool done() const;
  int poll_timeout_ms(Clock::time_point now) const;

  SuperviseOptions m_options;
  UniqueFd m_signal_fd;
  std::vector<char> m_relay_buffer;
  std::vector<Worker> m_workers;

  std::optional<std::size_t> m_first_failure;
  bool m_failure_after_signal = false;
  int m_received_signal = 0;
  bool m_killed_after_grace = false;

  bool m_no_children = false;  // waitpid said ECHILD; nothing can appear after that
  bool m_sweep_started = false;
  std::optional<Clock::time_point> m_sweep_kill_at;
  std::optional<Clock::time_point> m_give_up_at;
  Clock::time_point m_next_rescan{};
  std::set<pid_t> m_killed_leftovers;
  bool m_gave_up = false;
};

base::Status Supervision::start(const std::vector<ProcessSpec>& specs) {
  m_workers.reserve(specs.size());  // never reallocates afterwards: the loop keeps pointers
  for (const ProcessSpec& spec : specs) {
    auto spawned = spawn_process(spec);
    if (!spawned) {
      spdlog::error("cannot start {}: {}", spec.label, spawned.error().message);
      // Nothing has run long enough to need a grace period.
      for (Worker& worker : m_workers) signal_group(worker, SIGKILL);
      return base::Unexpected(std::move(spawned).error());
    }
    Worker& worker = m_workers.emplace_back(m_options.stderr_tail_bytes);
    worker.pid = spawned->pid;
    worker.stderr_fd = std::move(spawned->stderr_read);
    worker.exec_failure = std::move(spawned->exec_failure);
    worker.result.label = spec.label;
    worker.result.pid = spawned->pid;
    if (worker.exec_failure) {
      worker.result.exec_failed = true;
      worker.result.exec_error = worker.exec_failure->message;
      spdlog::error("{}: {}", spec.label, worker.exec_failure->message);
    } else {
      spdlog::info("started {} (pid {})", spec.label, worker.pid);
    }
  }
  return {};
}

base::Status Supervision::loop() {
  reap_children();  // workers may have exited already; also settles the no-worker case
  std::vector<pollfd> fds;
  std::vector<Worker*> owners;
  while (true) {
    check_deadlines(Clock::now());
    if (done()) return {};

    fds.clear();
    owners.clear();
    fds.push_back({m_signal_fd.get(), POLLIN, 0});
    for (Worker& worker : m_workers) {
      if (!worker.stderr_fd.valid()) continue;
      fds.push_back({worker.stderr_fd.get(), POLLIN, 0});
      owners.push_back(&worker);
    }
    int ready = ::poll(fds.data(), fds.size(), poll_timeout_ms(Clock::now()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return base::fail(base::ErrorKind::kInternal,
                        "poll in the supervisor loop: " + os_message(errno));
    }
    // Output first: what a worker wrote before dying is relayed before its exit is logged.
    for (std::size_t i = 1; i < fds.size(); ++i)
      if (fds[i].revents != 0) relay(*owners[i - 1]);
    if (fds[0].revents != 0) drain_signals();
  }
}

void Supervision::drain_signals() {
  bool child_event = false;
  std::vector<int> to_forward;
  signalfd_siginfo infos[16];
  while (true) {
    ssize_t n = ::read(m_signal_fd.get(), infos, sizeof(infos));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof(infos[0]); ++i) {
      int signo = static_cast<int>(infos[i].ssi_signo);
      if (signo == SIGCHLD)
        child_event = true;
      else if (is_forwarded_signal(signo))
        to_forward.push_back(signo);
    }
  }
  // Reap before forwarding: a worker reaped now cannot have died of the signal we are about to
  // forward, so its failure is not blamed on the shutdown.
  if (child_event) reap_children();
  for (int signo : to_forward) forward(signo);
}

void Supervision::reap_children() {
  while (true) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      if (Worker* worker = find(pid))
        on_worker_exit(*worker, status);
      else
        spdlog::debug("reaped orphan process {}", pid);
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0 && errno == ECHILD) m_no_children = true;
    break;
  }
  if (all_reaped() && !m_sweep_started) start_sweep();
}

void Supervision::on_worker_exit(Worker& worker, int status) {
  WorkerResult& result = worker.result;
  worker.reaped = true;
  result.ended_at = std::chrono::system_clock::now();
  result.exit = decode_wait_status(status);
  if (worker.exec_failure) result.exit = ExitInfo{worker.exec_failure->exit_code, 0, false};
  const bool failure = result.exec_failed || failed(result.exit);
  if (failure)
    spdlog::warn("{} (pid {}) failed: {}", result.label, worker.pid, describe(result.exit));
  else
    spdlog::info("{} (pid {}) exited with code 0", result.label, worker.pid);

  // What is left of its group (daemonised helpers, data loader processes) must not outlive it.
  terminate_group(worker, "its leader exited");
  if (!failure) return;
  if (!m_first_failure) {
    m_first_failure = static_cast<std::size_t>(&worker - m_workers.data());
    m_failure_after_signal = m_received_signal != 0;
  }
  // Gang semantics: one failed worker fails the job, so the others are stopped.
  for (Worker& other : m_workers)
    if (!other.reaped) terminate_group(other, "another worker failed");
}

void Supervision::forward(int signo) {
  const std::string name = signal_name(signo);
  const bool stop = is_stop_signal(signo);
  if (stop && m_received_signal == 0) m_received_signal = signo;
  spdlog::info("received {}", name);
  for (Worker& worker : m_workers) {
    if (!signal_group(worker, signo)) continue;
    spdlog::info("forwarding {} to {} (pgid {})", name, worker.result.label, worker.pid);
    if (stop && !worker.kill_at) worker.kill_at = Clock::now() + m_options.grace;
  }
}

bool Supervision::signal_group(Worker& worker, int signo) {
  if (worker.group_gone) return false;
  if (::kill(-worker.pid, signo) == 0) return true;
  if (errno == ESRCH)
    worker.group_gone = true;
  else
    spdlog::warn("cannot send {} to {} (pgid {}): {}", signal_name(signo), worker.result.label,
                 worker.pid, os_message(errno));
  return false;
}

void Supervision::terminate_group(Worker& worker, const char* reason) {
  if (worker.kill_at) return;  // already stopping: keep the first deadline
  if (!signal_group(worker, SIGTERM)) return;
  worker.kill_at = Clock::now() + m_options.grace;
  spdlog::info("sending SIGTERM to {} (pgid {}): {}", worker.result.label, worker.pid, reason);
}

// All workers are done: any other descendant still alive (e.g. one that made its own session)
// gets SIGTERM now and SIGKILL after the grace period, so nothing survives smrun.
void Supervision::start_sweep() {
  m_sweep_started = true;
  if (m_no_children) return;
  m_sweep_kill_at = Clock::now() + m_options.grace;
  for (pid_t pid : list_children()) {
    const pid_t pgid = ::getpgid(pid);
    const bool in_worker_group = std::any_of(m_workers.begin(), m_workers.end(),
                                             [&](const Worker& w) { return w.pid == pgid; });
    if (in_worker_group) continue;  // its group was already sent SIGTERM when the leader exited
    if (::kill(pid, SIGTERM) == 0)
      spdlog::info("all workers are done; sending SIGTERM to leftover process {}", pid);
  }
}

void Supervision::kill_leftovers() {
  for (pid_t pid : list_children()) {
    if (::kill(pid, SIGKILL) != 0) continue;
    m_killed_after_grace = true;
    if (m_killed_leftovers.insert(pid).second)
      spdlog::warn("sending SIGKILL to leftover process {}", pid);
  }
}

void Supervision::check_deadlines(Clock::time_point now) {
  for (Worker& worker : m_workers) {
    if (!worker.kill_at || worker.kill_sent || now < *worker.kill_at) continue;
    worker.kill_sent = true;
    if (!signal_group(worker, SIGKILL)) continue;
    m_killed_after_grace = true;
    spdlog::warn("{} (pgid {}) still running {}s after SIGTERM; sending SIGKILL",
                 worker.result.label, worker.pid, m_options.grace.count());
  }
  if (m_sweep_kill_at && !m_no_children && now >= *m_sweep_kill_at && now >= m_next_rescan) {
    if (!m_give_up_at) m_give_up_at = now + kFinalKillWait;
    kill_leftovers();
    m_next_rescan = now + kLeftoverRescan;
  }
  if (m_give_up_at && now >= *m_give_up_at && !m_gave_up) {
    m_gave_up = true;
    spdlog::warn("giving up on {} leftover process(es) that did not die after SIGKILL",
                 list_children().size());
  }
}

void Supervision::relay(Worker& worker) {
  ssize_t n = ::read(worker.stderr_fd.get(), m_relay_buffer.data(), m_relay_buffer.size());
  if (n > 0) {
    const auto size = static_cast<std::size_t>(n);
    write_all(STDERR_FILENO, m_relay_buffer.data(), size);
    worker.tail.append(std::string_view(m_relay_buffer.data(), size));
    return;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n < 0) spdlog::warn("reading stderr of {}: {}", worker.result.label, os_message(errno));
  worker.stderr_fd.reset();  // EOF: every writer (worker and its descendants) is gone
}

// Only unreaped workers: once reaped, a worker's pid may be reused by some other process that
// later ends up as our (orphan) child.
Worker* Supervision::find(pid_t pid) {
  for (Worker& worker : m_workers)
    if (worker.pid == pid && !worker.reaped) return &worker;
  return nullptr;
}

bool Supervision::all_reaped() const {
  return std::all_of(m_workers.begin(), m_workers.end(), [](const Worker& w) { return w.reaped; });
}

bool Supervision::done() const {
  if (m_gave_up) return true;
  const bool relaying = std::any_of(m_workers.begin(), m_workers.end(),
                                    [](const Worker& w) { return w.stderr_fd.valid(); });
  return all_reaped() && m_no_children && !relaying;
}

int Supervision::poll_timeout_ms(Clock::time_point now) const {
  std::optional<Clock::time_point> next;
  auto consider = [&](Clock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const Worker& worker : m_workers)
    if (worker.kill_at && !worker.kill_sent) consider(*worker.kill_at);
  if (m_sweep_kill_at && !m_no_children) consider(std::max(*m_sweep_kill_at, m_next_rescan));
  if (m_give_up_at && !m_gave_up) consider(*m_give_up_at);
  if (!next) return -1;
  // Rounded up, so we never wake just before a deadline and spin.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
  return static_cast<int>(std::clamp<decltype(ms)>(ms, 0, INT_MAX));
}

RunResult Supervision::result() {
  RunResult run;
  for (Worker& worker : m_workers) {
    worker.result.stderr_tail = worker.tail.contents();
    run.workers.push_back(std::move(worker.result));
  }
  run.first_failure = m_first_failure;
  run.received_signal = m_received_signal;
  run.failure_after_signal = m_failure_after_signal;
  run.killed_after_grace = m_killed_after_grace;
  return run;
}

base::Status check_signals_blocked() {
  sigset_t blocked;
  pthread_sigmask(SIG_BLOCK, nullptr, &blocked);
  sigset_t wanted = supervised_signals();
  for (int signo = 1; signo < NSIG; ++signo) {
    if (sigismember(&wanted, signo) == 1 && sigismember(&blocked, signo) != 1)
      return base::fail(base::ErrorKind::kInternal,
                        signal_name(signo) +
                            " is not blocked; block_supervised_signals() must run first in main");
  }
  return {};
}

}  // namespace

base::Expected<RunResult> run_supervised(const std::vector<ProcessSpec>& specs,
                                         const SuperviseOptions& options) {
  if (auto status = check_signals_blocked(); !status)
    return base::Unexpected(std::move(status).error());
  sigset_t set = supervised_signals();
  UniqueFd signal_fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd.valid())
    return base::fail(base::ErrorKind::kInternal, "signalfd: " + os_message(errno));

  Supervision supervision(options, std::move(signal_fd));
  auto started = supervision.start(specs);
  // Even when a spawn failed, the loop runs so the workers already started are reaped.
  auto looped = supervision.loop();
  if (!started) return base::Unexpected(std::move(started).error());
  if (!looped) return base::Unexpected(std::move(looped).error());
  return supervision.result();
}

}  // namespace smrun::supervise
