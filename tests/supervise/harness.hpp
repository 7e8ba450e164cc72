#pragma once

// Runs run_supervised() in a forked child of the test process (it consumes process-wide
// signals and reaps every child, so it must not run inside the gtest process). The child
// redirects its stdout/stderr to files, logs to a file, blocks the signals, becomes a subreaper,
// supervises, then writes the RunResult as text files into the scenario's TempDir. The parent
// drives it (signals) and waits with a hard deadline.
//
// Header-only: the test glob compiles only *_test.cpp files.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "smrun/base/fd_io.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/unique_fd.hpp"
#include "smrun/supervise/signals.hpp"
#include "smrun/supervise/supervisor.hpp"
#include "support/test_support.hpp"

namespace smrun::supervise::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline const char* kPython = "/usr/bin/python3";

// A small, fixed environment for workers: nothing leaks in from the test's own environment.
inline std::vector<std::string> worker_env() {
  return {"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8"};
}

inline ProcessSpec make_spec(std::string label, std::vector<std::string> argv) {
  ProcessSpec spec;
  spec.label = std::move(label);
  spec.argv = std::move(argv);
  spec.env = worker_env();
  return spec;
}

// A Python worker whose code is a file in `dir` (fixtures, not strings built from data).
inline ProcessSpec python_spec(const test::TempDir& dir, const std::string& label,
                               const std::string& code, std::vector<std::string> args = {}) {
  const fs::path script = dir / (label + ".py");
  test::write_file(script, code);
  std::vector<std::string> argv = {kPython, script.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return make_spec(label, std::move(argv));
}

struct WorkerOutcome {
  pid_t pid = -1;
  int exit_code = -1;
  int signal = -1;
  bool core_dumped = false;
  bool exec_failed = false;
  std::string exec_error;
  std::string stderr_tail;
};

struct Outcome {
  bool finished = false;  // the supervisor process ended before the test deadline
  bool ok = false;        // run_supervised returned a RunResult
  std::string error;      // its error message otherwise
  int exit_code = -1;     // RunResult::exit_code()
  int received_signal = -1;
  bool failure_after_signal = false;
  bool killed_after_grace = false;
  bool killed_on_second_interrupt = false;
  std::optional<std::string> stop_reason;
  bool failure_after_stop = false;
  long first_failure = -2;  // -1: none
  bool no_children_left = false;
  pid_t self_pid = -1;  // the supervisor's own getpid()
  std::vector<WorkerOutcome> workers;
  std::string relayed_stderr;  // the supervisor's fd 2
  std::string stdout_text;     // the supervisor's fd 1 (inherited by workers)
  std::string log_text;        // spdlog output, "<level> <message>" lines
  Clock::time_point ended;     // when the parent saw the supervisor finish
};

// Descriptors the supervisor process gets as its stdin/stdout instead of the defaults (the
// test's stdin, a file in the scenario dir), and the test's own ends of those pipes, which the
// supervisor process closes so EOF and EPIPE work.
struct Stdio {
  int in = -1;
  int out = -1;
  std::vector<int> close_in_child;
  // The supervisor's stderr; smrun's own lines then go there too, as in `smrun train` (the
  // supervisor's own non-blocking sink), instead of to the "log" file.
  int err = -1;
};

namespace detail {

inline void redirect(int target, const fs::path& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::dup2(fd, target) < 0) _exit(90);
  ::close(fd);
}

inline void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

[[noreturn]] inline void supervisor_main(const fs::path& dir, const std::vector<ProcessSpec>& specs,
                                         const SuperviseOptions& options, int notify_fd,
                                         const Stdio& stdio = {}) {
  if (stdio.out >= 0) {
    if (::dup2(stdio.out, STDOUT_FILENO) < 0) _exit(89);
  } else {
    redirect(STDOUT_FILENO, dir / "stdout");
  }
  if (stdio.in >= 0 && ::dup2(stdio.in, STDIN_FILENO) < 0) _exit(89);
  for (int fd : stdio.close_in_child) ::close(fd);
  if (stdio.err >= 0) {
    if (::dup2(stdio.err, STDERR_FILENO) < 0) _exit(89);
  } else {
    redirect(STDERR_FILENO, dir / "stderr");
  }
  // smrun's own lines go to a file of their own, as "<level> <message>" lines.
  const int log_fd = ::open((dir / "log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) _exit(94);
  smrun::log::set_level(smrun::log::Level::kDebug);
  if (stdio.err < 0)
    smrun::log::set_line_sink([log_fd](const smrun::log::Line& line) {
      static constexpr const char* kNames[] = {"trace",   "debug", "info",
                                               "warning", "error", "critical"};
      const std::string text = std::string(kNames[static_cast<int>(line.level)]) + " " +
                               std::string(line.message) + "\n";
      (void)smrun::base::write_all(log_fd, text);
    });

  // A descriptor without O_CLOEXEC, as a careless library or smrun's own parent might leave:
  // workers must not inherit it.
  if (::open("/dev/null", O_RDONLY) < 0) _exit(93);
  block_supervised_signals();
  become_subreaper();
  char blocked = 'b';  // the parent may send signals from now on
  if (::write(notify_fd, &blocked, 1) != 1) _exit(92);

  auto result = run_supervised(specs, options);
  int status = 0;
  const bool no_children = ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;

  std::ostringstream text;
  text << "ok " << result.has_value() << "\n";
  text << "no_children_left " << no_children << "\n";
  text << "self_pid " << ::getpid() << "\n";
  if (!result) {
    write_text(dir / "error.txt", result.error().message);
  } else {
    const RunResult& run = *result;
    text << "exit_code " << run.exit_code() << "\n";
    text << "received_signal " << run.received_signal << "\n";
    text << "failure_after_signal " << run.failure_after_signal << "\n";
    text << "killed_after_grace " << run.killed_after_grace << "\n";
    text << "killed_on_second_interrupt " << run.killed_on_second_interrupt << "\n";
    text << "failure_after_stop " << run.failure_after_stop << "\n";
    if (run.stop_reason) write_text(dir / "stop_reason", *run.stop_reason);
    text << "first_failure " << (run.first_failure ? static_cast<long>(*run.first_failure) : -1L)
         << "\n";
    text << "workers " << run.workers.size() << "\n";
    for (std::size_t i = 0; i < run.workers.size(); ++i) {
      const WorkerResult& w = run.workers[i];
      text << "worker " << w.pid << " " << w.exit.exit_code << " " << w.exit.signal << " "
           << w.exit.core_dumped << " " << w.exec_failed << "\n";
      write_text(dir / ("exec_error." + std::to_string(i)), w.exec_error);
      write_text(dir / ("tail." + std::to_string(i)), w.stderr_tail);
    }
  }
  write_text(dir / "result.txt", text.str());
  _exit(0);
}

// Makes the calling (forked) process spawn the supervisor as PID 1 of a new PID namespace:
// returns in that PID 1, with /proc remounted for the namespace. This process itself records
// the PID 1's outer pid in dir/pid1, waits for it and exits with its status. Writes 'u' to
// notify_fd and exits when namespaces are not permitted.
inline void enter_pid_namespace(const fs::path& dir, int notify_fd) {
  if (::unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) {
    char unavailable = 'u';
    ssize_t unused = ::write(notify_fd, &unavailable, 1);
    (void)unused;
    _exit(0);
  }
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) _exit(94);
  pid_t pid1 = ::fork();
  if (pid1 < 0) _exit(95);
  if (pid1 == 0) {
    ::close(go[1]);
    char byte = 0;
    if (::read(go[0], &byte, 1) != 1) _exit(96);  // dir/pid1 is written
    ::close(go[0]);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
      _exit(97);
    return;
  }
  ::close(notify_fd);  // EOF must come from PID 1 alone
  write_text(dir / "pid1", std::to_string(pid1));
  char byte = 'g';
  if (::write(go[1], &byte, 1) != 1) _exit(98);
  int status = 0;
  while (::waitpid(pid1, &status, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 99);
}

inline Outcome parse(const fs::path& dir) {
  Outcome outcome;
  std::istringstream in(test::read_file(dir / "result.txt"));
  std::string key;
  while (in >> key) {
    if (key == "ok")
      in >> outcome.ok;
    else if (key == "no_children_left")
      in >> outcome.no_children_left;
    else if (key == "self_pid")
      in >> outcome.self_pid;
    else if (key == "exit_code")
      in >> outcome.exit_code;
    else if (key == "received_signal")
      in >> outcome.received_signal;
    else if (key == "failure_after_signal")
      in >> outcome.failure_after_signal;
    else if (key == "killed_after_grace")
      in >> outcome.killed_after_grace;
    else if (key == "killed_on_second_interrupt")
      in >> outcome.killed_on_second_interrupt;
    else if (key == "failure_after_stop")
      in >> outcome.failure_after_stop;
    else if (key == "first_failure")
      in >> outcome.first_failure;
    else if (key == "workers") {
      std::size_t n = 0;
      in >> n;
    } else if (key == "worker") {
      WorkerOutcome w;
      in >> w.pid >> w.exit_code >> w.signal >> w.core_dumped >> w.exec_failed;
      const std::string index = std::to_string(outcome.workers.size());
      w.exec_error = test::read_file(dir / ("exec_error." + index));
      w.stderr_tail = test::read_file(dir / ("tail." + index));
      outcome.workers.push_back(std::move(w));
    }
  }
  if (fs::exists(dir / "error.txt")) outcome.error = test::read_file(dir / "error.txt");
  if (fs::exists(dir / "stop_reason")) outcome.stop_reason = test::read_file(dir / "stop_reason");
  return outcome;
}

}  // namespace detail

// One supervisor run in a forked child. Destruction kills it if the test did not wait.
class SupervisorProcess {
 public:
  enum class Mode { kSubreaper, kPid1 };

  // kPid1 runs the supervisor as PID 1 of a new PID namespace with its own /proc (needs
  // CAP_SYS_ADMIN); check pid1_unavailable() and skip when it is set.
  SupervisorProcess(const test::TempDir& dir, std::vector<ProcessSpec> specs,
                    SuperviseOptions options = {}, Mode mode = Mode::kSubreaper,
                    const Stdio& stdio = {})
      : m_dir(dir.path() / "supervisor") {
    fs::create_directories(m_dir);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    m_pid = ::fork();
    if (m_pid < 0) throw std::runtime_error("fork failed");
    if (m_pid == 0) {
      ::close(fds[0]);
      if (mode == Mode::kPid1) detail::enter_pid_namespace(m_dir, fds[1]);
      detail::supervisor_main(m_dir, specs, options, fds[1], stdio);
    }
    ::close(fds[1]);
    m_notify.reset(fds[0]);
    m_target = m_pid;
  }

  ~SupervisorProcess() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      int status = 0;
      ::waitpid(m_pid, &status, 0);
    }
  }

  SupervisorProcess(const SupervisorProcess&) = delete;
  SupervisorProcess& operator=(const SupervisorProcess&) = delete;

  pid_t pid() const { return m_pid; }
  const fs::path& dir() const { return m_dir; }

  // Blocks until the supervisor has blocked its signals (signals sent earlier would kill it).
  bool wait_until_blocked(std::chrono::milliseconds timeout = 10s) {
    char byte = 0;
    if (read_notify(&byte, timeout) != 1) return false;
    if (byte == 'u') {
      m_pid1_unavailable = true;
      return false;
    }
    if (fs::exists(m_dir / "pid1")) m_target = std::stoi(test::read_file(m_dir / "pid1"));
    return byte == 'b';
  }

  bool pid1_unavailable() const { return m_pid1_unavailable; }

  // The supervisor's pid as seen from the test (not 1 in PID-1 mode).
  pid_t target() const { return m_target; }

  void send(int signo) const { ::kill(m_target, signo); }

  // Waits for the supervisor to finish (EOF on the notify pipe) and reads its report.
  Outcome wait(std::chrono::milliseconds timeout = 30s) {
    Outcome outcome;
    char byte = 0;
    const auto deadline = Clock::now() + timeout;
    ssize_t n;
    while ((n = read_notify(&byte, std::chrono::ceil<std::chrono::milliseconds>(
                                       deadline - Clock::now()))) > 0) {
    }
    const auto ended = Clock::now();
    if (n < 0) ::kill(m_pid, SIGKILL);  // deadline: kill it, report unfinished
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
    m_pid = -1;
    if (n == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
        fs::exists(m_dir / "result.txt")) {
      outcome = detail::parse(m_dir);
      outcome.finished = true;
    }
    outcome.ended = ended;
    outcome.relayed_stderr = read_if_exists(m_dir / "stderr");
    outcome.stdout_text = read_if_exists(m_dir / "stdout");
    outcome.log_text = read_if_exists(m_dir / "log");
    return outcome;
  }

 private:
  // 1: a byte; 0: EOF; -1: timeout.
  ssize_t read_notify(char* byte, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return -1;
      pollfd p{m_notify.get(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return -1;
      ssize_t n = ::read(m_notify.get(), byte, 1);
      if (n < 0 && errno == EINTR) continue;
      return n < 0 ? 0 : n;
    }
  }

  static std::string read_if_exists(const fs::path& file) {
    return fs::exists(file) ? test::read_file(file) : std::string();
  }

  fs::path m_dir;
  pid_t m_pid = -1;
  pid_t m_target = -1;
  bool m_pid1_unavailable = false;
  base::UniqueFd m_notify;
};

// A FIFO a worker writes "ready\n" into once its handlers are installed. Opened for reading
// (non-blocking) before the worker starts, so the worker's open() for writing never blocks.
class ReadyFifo {
 public:
  explicit ReadyFifo(fs::path path) : m_path(std::move(path)) {
    if (::mkfifo(m_path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    m_fd.reset(::open(m_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!m_fd.valid()) throw std::runtime_error("open fifo failed");
  }

  const fs::path& path() const { return m_path; }

  // Reads until a newline, with a hard deadline; returns what was read (empty on timeout).
  std::string read_line(std::chrono::milliseconds timeout = 10s) {
    std::string line;
    const auto deadline = Clock::now() + timeout;
    while (line.empty() || line.back() != '\n') {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return {};
      pollfd p{m_fd.get(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return {};
      char buf[256];
      ssize_t n = ::read(m_fd.get(), buf, sizeof(buf));
      if (n == 0) return line;  // the writer closed without a newline
      if (n > 0) line.append(buf, static_cast<std::size_t>(n));
    }
    return line;
  }

 private:
  fs::path m_path;
  base::UniqueFd m_fd;
};

}  // namespace smrun::supervise::testing
