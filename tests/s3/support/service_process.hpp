#pragma once

// A long-running helper process of a test (s3rver, the fault proxy): started with fork/execve
// from an argv vector (never a shell), in its own process group, killed by the kernel if the test
// process dies (PR_SET_PDEATHSIG), stdout and stderr appended to a log file, and fd 3 a pipe on
// which it announces readiness with one line. stop() (and the destructor, also when a test
// failed) sends SIGTERM to the group, waits a bounded grace, then SIGKILLs the group and reaps.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace smrun::test {

namespace fs = std::filesystem;

struct ServiceOptions {
  std::string what;               // name in messages: "s3rver", "fault proxy"
  std::vector<std::string> argv;  // argv[0]: an absolute path
  std::map<std::string, std::string> env;
  fs::path cwd;  // empty: the test's cwd
  fs::path log;  // stdout and stderr are appended here
};

class ServiceProcess {
 public:
  explicit ServiceProcess(ServiceOptions options);
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // The first line the process writes to its fd 3 (without the newline). Throws, naming what
  // it waited for and quoting the log's tail, when the process closes fd 3 or exits first, or
  // `timeout` passes (then the process is stopped).
  std::string wait_ready_line(std::chrono::milliseconds timeout);

  pid_t pid() const { return m_pid; }
  pid_t process_group() const { return m_pid; }
  bool stopped() const { return m_reaped; }
  // SIGTERM to the process group; after `grace` without the leader exiting, SIGKILL. Then every
  // process left in the group is SIGKILLed and the leader is reaped. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // How the process ended ("exit 0", "signal 15 (SIGTERM)"); empty while it runs.
  const std::string& end_state() const { return m_end_state; }

  const fs::path& log_path() const { return m_options.log; }
  std::string log_tail(std::size_t max_bytes = 4000) const;

 private:
  ServiceOptions m_options;
  pid_t m_pid = -1;
  int m_pidfd = -1;
  int m_ready_fd = -1;
  bool m_reaped = false;
  std::string m_end_state;
};

// True while any process is in process group `pgid` (kill(-pgid, 0)).
bool process_group_alive(pid_t pgid);

// Processes (other than this one) whose command line contains `needle`: to prove that nothing a
// fixture started (e.g. a node process with the fixture's data dir in its argv) survived it.
std::vector<pid_t> processes_with_cmdline_containing(const std::string& needle);

// The absolute path of `name` on PATH (or `name` itself when it contains '/'); throws when absent.
fs::path find_program(const std::string& name);

}  // namespace smrun::test
