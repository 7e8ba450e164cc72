#include "smrun/supervise/supervisor.hpp"
#include "smrun/base/fd_io.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/sys_error.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <deque>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "smrun/base/unique_fd.hpp"
#include "smrun/supervise/children.hpp"
#include "smrun/supervise/output_relay.hpp"
#include "smrun/supervise/signals.hpp"
#include "smrun/supervise/spawn.hpp"

namespace smrun::supervise {

using base::UniqueFd;
namespace {

using Clock = std::chrono::steady_clock;

// After the final SIGKILL of leftovers, how long to wait for them to vanish before giving up
// (a process stuck in uninterruptible sleep cannot be killed; PID 1 exiting ends it anyway).
constexpr auto kFinalKillWait = std::chrono::seconds(5);
// Killed leftovers' own children are reparented to us without any SIGCHLD, so while killing
// leftovers we look for new ones at this interval.
constexpr auto kLeftoverRescan = std::chrono::milliseconds(50);
// Once every worker and leftover is gone, how long to keep trying to write their remaining
// output to a stdout/stderr whose reader has stalled (and to wait for a pipe still held open
// by something that is not our child) before dropping it.
constexpr auto kOutputDrainWait = std::chrono::seconds(5);

struct Worker {
  pid_t pid = -1;  // leader and process group id
  std::optional<ExecFailure> exec_failure;
  bool reaped = false;
  bool group_gone = false;                   // kill(-pgid) said ESRCH: nobody left to signal
  std::optional<Clock::time_point> kill_at;  // SIGTERM sent; SIGKILL due at this time
  bool kill_sent = false;
  bool service = false;             // ProcessSpec::service
  bool stopped_as_service = false;  // SIGTERMed because the job ended: its exit is no failure
  WorkerResult result;
};

// One supervision run: spawn, loop until no child is left, collect results.
class Supervision {
 public:
  Supervision(const SuperviseOptions& options, UniqueFd signal_fd)
      : m_options(options),
        m_signal_fd(std::move(signal_fd)),
        m_relay(options.prefix_output, options.stderr_tail_bytes) {}

  base::Status start(const std::vector<ProcessSpec>& specs, std::vector<UniqueFd> log_files);
  base::Status loop();
  RunResult result();
  void log_line(std::string_view line) { m_relay.log_line(line); }
  void finish_log() { m_relay.finish_log(); }

 private:
  void drain_signals();
  void reap_children();
  void on_worker_exit(Worker& worker, int status);
  void forward(int signo);
  bool signal_group(Worker& worker, int signo);
  void terminate_group(Worker& worker, const char* reason);
  void kill_all_now();
  void start_sweep();
  void kill_leftovers();
  void check_deadlines(Clock::time_point now);
  void stop_workers(const HookAction& action);
  void stop_services(const char* reason);
  bool only_services_left() const;
  template <typename Call>
  void call_hook(Call&& call);
  Worker* find(pid_t pid);
  bool all_reaped() const;
  bool done() const;
  int poll_timeout_ms(Clock::time_point now) const;

  SuperviseOptions m_options;
  UniqueFd m_signal_fd;
  OutputRelay m_relay;
  std::vector<Worker> m_workers;

  std::optional<std::size_t> m_first_failure;
  bool m_failure_after_signal = false;
  bool m_failure_after_stop = false;
  int m_received_signal = 0;
  int m_interrupts = 0;  // SIGINTs received: the second one escalates to SIGKILL at once
  bool m_killed_on_second_interrupt = false;
  bool m_killed_after_grace = false;
  std::optional<std::string> m_stop_reason;
  // A run with hooks and no work of its own (only services, or nothing: an MPI worker host)
  // lasts until a hook finishes or stops it, or a stop signal arrives.
  bool m_wait_for_hook = false;
  bool m_hook_settled = false;

  bool m_no_children = false;  // waitpid said ECHILD; nothing can appear after that
  bool m_sweep_started = false;
  std::optional<Clock::time_point> m_sweep_kill_at;
  std::optional<Clock::time_point> m_give_up_at;
  Clock::time_point m_next_rescan{};
  std::set<pid_t> m_killed_leftovers;
  bool m_gave_up = false;
  std::optional<Clock::time_point> m_output_deadline;  // see kOutputDrainWait
  bool m_output_abandoned = false;
};

base::Status Supervision::start(const std::vector<ProcessSpec>& specs,
                                std::vector<UniqueFd> log_files) {
  m_workers.reserve(specs.size());  // never reallocates afterwards: the loop keeps pointers
  m_wait_for_hook = m_options.hooks != nullptr &&
                    std::none_of(specs.begin(), specs.end(),
                                 [](const ProcessSpec& spec) { return !spec.service; });
  SpawnOptions spawn_options;
  // A hidden process's stdout is captured too, to be dropped (kept in its log file).
  WorkerObserver* observer = m_options.observer;
  const bool observe_lines = observer != nullptr && observer->wants_lines();
  if (observe_lines) m_relay.observe_lines(observer);
  spawn_options.capture_stdout =
      m_options.prefix_output || m_options.log_dir.has_value() || observe_lines ||
      std::any_of(specs.begin(), specs.end(), [](const ProcessSpec& s) { return !s.console; });
  spawn_options.pipe_capacity = output_pipe_capacity(specs.size());
  // Children exec while the next ones are forked (a gang of 256 ranks started one exec at a
  // time took twice as long); at most kSpawnsInFlight wait for their exec report at once, which
  // bounds the descriptors held. Workers are added in the specs' order.
  constexpr std::size_t kSpawnsInFlight = 32;
  std::deque<std::pair<const ProcessSpec*, PendingSpawn>> in_flight;
  auto finish_oldest = [&] {
    auto [spec, pending] = std::move(in_flight.front());
    in_flight.pop_front();
    SpawnedProcess spawned = finish_spawn(*spec, std::move(pending));
    const std::size_t index = m_workers.size();
    Worker& worker = m_workers.emplace_back();
    m_relay.add_worker(spec->label, std::move(spawned.stdout_read), std::move(spawned.stderr_read),
                       index < log_files.size() ? std::move(log_files[index]) : UniqueFd(),
                       spec->rank_hosts, spec->console, spec->nested_labels);
    worker.pid = spawned.pid;
    worker.service = spec->service;
    worker.exec_failure = std::move(spawned.exec_failure);
    worker.result.index = index;
    worker.result.label = spec->label;
    worker.result.pid = spawned.pid;
    if (worker.exec_failure) {
      worker.result.exec_failed = true;
      worker.result.exec_error = worker.exec_failure->message;
      log::error("{}: {}", spec->label, worker.exec_failure->message);
    } else {
      log::info("started {} (pid {})", spec->label, worker.pid);
      if (observer != nullptr) observer->on_started(index, *spec, worker.pid);
    }
  };
  std::optional<base::Error> failed;
  for (const ProcessSpec& spec : specs) {
    if (in_flight.size() >= kSpawnsInFlight) finish_oldest();
    auto begun = begin_spawn(spec, spawn_options);
    if (!begun) {
      log::error("cannot start {}: {}", spec.label, begun.error().message);
      failed = std::move(begun).error();
      break;
    }
    in_flight.emplace_back(&spec, std::move(*begun));
  }
  while (!in_flight.empty()) finish_oldest();
  if (failed) {
    // Nothing has run long enough to need a grace period.
    for (Worker& worker : m_workers) signal_group(worker, SIGKILL);
    return base::Unexpected(std::move(*failed));
  }
  return {};
}

base::Status Supervision::loop() {
  reap_children();  // workers may have exited already; also settles the no-worker case
  SupervisorHooks* hooks = m_options.hooks;
  std::vector<pollfd> fds;
  std::vector<pollfd> hook_fds;
  while (true) {
    const Clock::time_point now = Clock::now();
    check_deadlines(now);
    if (done()) return {};

    fds.clear();
    fds.push_back({m_signal_fd.get(), POLLIN, 0});
    m_relay.add_poll_fds(fds);
    const std::size_t hook_base = fds.size();
    hook_fds.clear();
    std::optional<Clock::time_point> tick_at;
    if (hooks != nullptr) {
      call_hook([&] { hook_fds = hooks->poll_fds(); });
      call_hook([&] { tick_at = now + std::max(hooks->next_timeout(), {}); });
      fds.insert(fds.end(), hook_fds.begin(), hook_fds.end());
    }
    int timeout = poll_timeout_ms(now);
    if (tick_at) {
      const auto until_tick = std::chrono::ceil<std::chrono::milliseconds>(*tick_at - now).count();
      const int tick_ms =
          static_cast<int>(std::clamp<decltype(until_tick)>(until_tick, 0, INT_MAX));
      timeout = timeout < 0 ? tick_ms : std::min(timeout, tick_ms);
    }
    int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return base::fail(base::ErrorKind::kInternal,
                        "poll in the supervisor loop: " + base::errno_text(errno));
    }
    // Output first: what a worker wrote before dying is relayed before its exit is logged.
    m_relay.handle(fds);
    if (fds[0].revents != 0) drain_signals();
    for (std::size_t i = hook_base; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      call_hook([&] { stop_workers(hooks->on_ready(fds[i].fd, fds[i].revents)); });
    }
    if (tick_at && Clock::now() >= *tick_at) call_hook([&] { stop_workers(hooks->on_tick()); });
  }
}

// A hook must not take PID 1 down: an exception counts as a request to stop.
template <typename Call>
void Supervision::call_hook(Call&& call) {
  try {
    call();
  } catch (const std::exception& e) {
    stop_workers(HookAction{true, std::string("supervisor hook failed: ") + e.what()});
  } catch (...) {
    stop_workers(HookAction{true, "supervisor hook failed"});
  }
}

void Supervision::stop_workers(const HookAction& action) {
  if (action.finish && !action.stop && only_services_left()) {
    m_hook_settled = true;
    stop_services("the job finished");
    return;
  }
  if (!action.stop) return;
  m_hook_settled = true;
  if (!m_stop_reason) {
    m_stop_reason = action.reason;
    log::warn("stopping all workers: {}", action.reason);
  }
  for (Worker& worker : m_workers)
    if (!worker.reaped) terminate_group(worker, "stop requested");
}

bool Supervision::only_services_left() const {
  return std::all_of(m_workers.begin(), m_workers.end(),
                     [](const Worker& w) { return w.reaped || w.service; });
}

void Supervision::stop_services(const char* reason) {
  for (Worker& worker : m_workers) {
    if (!worker.service || worker.reaped || worker.stopped_as_service) continue;
    worker.stopped_as_service = true;
    terminate_group(worker, reason);
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
        log::debug("reaped orphan process {}", pid);
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0 && errno == ECHILD) m_no_children = true;
    break;
  }
  // The job's own processes are done: its helper daemons go too. A run of only services waits
  // for a hook's finish instead (unless there is no hook to wait for).
  const bool had_work =
      std::any_of(m_workers.begin(), m_workers.end(), [](const Worker& w) { return !w.service; });
  if (only_services_left() && (had_work || m_options.hooks == nullptr))
    stop_services("the job's processes ended");
  if (all_reaped() && !m_sweep_started) start_sweep();
}

void Supervision::on_worker_exit(Worker& worker, int status) {
  const auto index = static_cast<std::size_t>(&worker - m_workers.data());
  WorkerResult& result = worker.result;
  worker.reaped = true;
  result.ended_at = std::chrono::system_clock::now();
  result.exit = decode_wait_status(status);
  if (worker.exec_failure) result.exit = ExitInfo{worker.exec_failure->exit_code, 0, false};
  if (m_options.observer != nullptr && !worker.exec_failure) m_options.observer->on_exited(index);
  const bool failure = !worker.stopped_as_service && (result.exec_failed || failed(result.exit));
  if (worker.service && !worker.stopped_as_service && !failed(result.exit))
    log::warn("service {} (pid {}) ended before the job did", result.label, worker.pid);
  if (failure)
    log::warn("{} (pid {}) failed: {}", result.label, worker.pid, describe(result.exit));
  else
    log::info("{} (pid {}) exited with code 0", result.label, worker.pid);

  // What is left of its group (daemonised helpers, data loader processes) must not outlive it.
  terminate_group(worker, "its leader exited");
  if (!failure) return;
  const bool first = !m_first_failure;
  if (first) {
    m_first_failure = index;
    m_failure_after_signal = m_received_signal != 0;
    m_failure_after_stop = m_stop_reason.has_value();
    // The root cause must be visible even when SMRUN_LOG_RANKS hides its rank.
    m_relay.drain_worker(index);
    m_relay.show_hidden_tail(index);
  }
  // Gang semantics: one failed worker fails the job, so the others are stopped.
  if (m_options.fail_fast)
    for (Worker& other : m_workers)
      if (!other.reaped) terminate_group(other, "another worker failed");
  if (first && !m_failure_after_signal && !m_failure_after_stop && m_options.hooks != nullptr) {
    // Its last output, so the hook (a failure report to peers) sees the real tail.
    m_relay.drain_worker(index);
    result.stderr_tail = m_relay.stderr_tail(index);
    call_hook([&] { m_options.hooks->on_worker_failed(result); });
  }
}

void Supervision::forward(int signo) {
  const std::string name = signal_name(signo);
  const bool stop = is_stop_signal(signo);
  const bool first_stop = stop && m_received_signal == 0;
  if (first_stop) m_received_signal = signo;
  if (stop) m_hook_settled = true;
  log::info("received {}", name);
  for (Worker& worker : m_workers) {
    if (!signal_group(worker, signo)) continue;
    log::info("forwarding {} to {} (pgid {})", name, worker.result.label, worker.pid);
    if (stop && !worker.kill_at) worker.kill_at = Clock::now() + m_options.grace;
  }
  if (first_stop && m_options.hooks != nullptr)
    call_hook([&] { m_options.hooks->on_stop_signal(signo); });
  // Ctrl-C pressed twice: whoever is at the terminal does not want to wait out the grace.
  if (signo == SIGINT && ++m_interrupts == 2) kill_all_now();
}

void Supervision::kill_all_now() {
  log::warn("received SIGINT again: sending SIGKILL to every worker now");
  m_killed_on_second_interrupt = true;
  for (Worker& worker : m_workers) {
    if (worker.kill_sent) continue;
    worker.kill_sent = true;
    if (signal_group(worker, SIGKILL))
      log::info("sent SIGKILL to {} (pgid {})", worker.result.label, worker.pid);
  }
  // Processes outside the worker groups go the same way once the workers are reaped.
  if (m_sweep_kill_at) m_sweep_kill_at = Clock::now();
}

bool Supervision::signal_group(Worker& worker, int signo) {
  if (worker.group_gone) return false;
  if (::kill(-worker.pid, signo) == 0) return true;
  if (errno == ESRCH)
    worker.group_gone = true;
  else
    log::warn("cannot send {} to {} (pgid {}): {}", signal_name(signo), worker.result.label,
              worker.pid, base::errno_text(errno));
  return false;
}

void Supervision::terminate_group(Worker& worker, const char* reason) {
  if (worker.kill_at) return;  // already stopping: keep the first deadline
  if (!signal_group(worker, SIGTERM)) return;
  worker.kill_at = Clock::now() + m_options.grace;
  log::info("sending SIGTERM to {} (pgid {}): {}", worker.result.label, worker.pid, reason);
}

// All workers are done: any other descendant still alive (e.g. one that made its own session)
// gets SIGTERM now and SIGKILL after the grace period, so nothing survives smrun.
void Supervision::start_sweep() {
  m_sweep_started = true;
  if (m_no_children) return;
  m_sweep_kill_at = m_killed_on_second_interrupt ? Clock::now() : Clock::now() + m_options.grace;
  for (pid_t pid : list_children()) {
    const pid_t pgid = ::getpgid(pid);
    const bool in_worker_group = std::any_of(m_workers.begin(), m_workers.end(),
                                             [&](const Worker& w) { return w.pid == pgid; });
    if (in_worker_group) continue;  // its group was already sent SIGTERM when the leader exited
    if (::kill(pid, SIGTERM) == 0)
      log::info("all workers are done; sending SIGTERM to leftover process {}", pid);
  }
}

void Supervision::kill_leftovers() {
  for (pid_t pid : list_children()) {
    if (::kill(pid, SIGKILL) != 0) continue;
    m_killed_after_grace = true;
    if (m_killed_leftovers.insert(pid).second)
      log::warn("sending SIGKILL to leftover process {}", pid);
  }
}

void Supervision::check_deadlines(Clock::time_point now) {
  for (Worker& worker : m_workers) {
    if (!worker.kill_at || worker.kill_sent || now < *worker.kill_at) continue;
    worker.kill_sent = true;
    if (!signal_group(worker, SIGKILL)) continue;
    m_killed_after_grace = true;
    log::warn("{} (pgid {}) still running {}s after SIGTERM; sending SIGKILL", worker.result.label,
              worker.pid, m_options.grace.count());
  }
  if (m_sweep_kill_at && !m_no_children && now >= *m_sweep_kill_at && now >= m_next_rescan) {
    if (!m_give_up_at) m_give_up_at = now + kFinalKillWait;
    kill_leftovers();
    m_next_rescan = now + kLeftoverRescan;
  }
  if (m_give_up_at && now >= *m_give_up_at && !m_gave_up) {
    m_gave_up = true;
    log::warn("giving up on {} leftover process(es) that did not die after SIGKILL",
              list_children().size());
  }
  if (!m_output_deadline && all_reaped() && m_no_children)
    m_output_deadline = now + kOutputDrainWait;
  if (m_output_deadline && now >= *m_output_deadline && !m_output_abandoned &&
      (m_relay.reading() || !m_relay.flushed())) {
    m_output_abandoned = true;
    log::warn("worker output still not relayed {}s after the last process ended; dropping it",
              std::chrono::duration_cast<std::chrono::seconds>(kOutputDrainWait).count());
    m_relay.abandon();
  }
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
  if (m_wait_for_hook && !m_hook_settled) return false;
  return all_reaped() && m_no_children && !m_relay.reading() && m_relay.flushed();
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
  if (m_output_deadline && !m_output_abandoned) consider(*m_output_deadline);
  if (!next) return -1;
  // Rounded up, so we never wake just before a deadline and spin.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
  return static_cast<int>(std::clamp<decltype(ms)>(ms, 0, INT_MAX));
}

RunResult Supervision::result() {
  RunResult run;
  for (std::size_t i = 0; i < m_workers.size(); ++i) {
    m_workers[i].result.stderr_tail = m_relay.stderr_tail(i);
    run.workers.push_back(std::move(m_workers[i].result));
  }
  run.first_failure = m_first_failure;
  run.received_signal = m_received_signal;
  run.failure_after_signal = m_failure_after_signal;
  run.killed_after_grace = m_killed_after_grace;
  run.killed_on_second_interrupt = m_killed_on_second_interrupt;
  run.stop_reason = m_stop_reason;
  run.failure_after_stop = m_failure_after_stop;
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
    return base::fail(base::ErrorKind::kInternal, "signalfd: " + base::errno_text(errno));

  std::vector<UniqueFd> log_files;
  if (options.log_dir) {
    std::vector<std::string> labels;
    for (const ProcessSpec& spec : specs) labels.push_back(spec.label);
    auto opened = open_worker_logs(*options.log_dir, labels);
    if (!opened) return base::Unexpected(std::move(opened).error());
    log_files = std::move(*opened);
  }

  Supervision supervision(options, std::move(signal_fd));
  // While the workers run, smrun's own lines from this thread queue behind their output in the
  // relay's non-blocking stderr sink: a stalled reader of stderr cannot block PID 1 in a log
  // call, and a log line never lands inside a relayed piece. Other threads (S3 uploads) still
  // write their lines directly. A sink someone else set (a test's capture) is left in place.
  std::optional<log::ScopedLineSink> own_lines;
  if (!log::line_sink_set())
    own_lines.emplace([&supervision, owner = std::this_thread::get_id()](const log::Line& line) {
      if (std::this_thread::get_id() == owner)
        supervision.log_line(line.formatted);
      else
        (void)base::write_all(2, line.formatted);
    });
  auto started = supervision.start(specs, std::move(log_files));
  // Even when a spawn failed, the loop runs so the workers already started are reaped.
  auto looped = supervision.loop();
  own_lines.reset();
  supervision.finish_log();
  if (!started) return base::Unexpected(std::move(started).error());
  if (!looped) return base::Unexpected(std::move(looped).error());
  return supervision.result();
}

}  // namespace smrun::supervise
