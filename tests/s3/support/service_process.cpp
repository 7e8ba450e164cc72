#include "s3/support/service_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace smrun::test {

namespace {

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return "signal " + std::to_string(WTERMSIG(status)) + " (SIG" + (name ? name : "?") + ")";
  }
  return "status " + std::to_string(status);
}

int ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

ServiceProcess::ServiceProcess(ServiceOptions options) : m_options(std::move(options)) {
  if (m_options.argv.empty()) throw std::invalid_argument("ServiceProcess: empty argv");
  // Everything the child needs is prepared here: after fork() only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : m_options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = m_options.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string cwd = m_options.cwd.string();

  int log_fd = open(m_options.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    throw std::runtime_error(m_options.what + ": cannot open log " + m_options.log.string() + ": " +
                             std::strerror(errno));
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int ready[2];
  if (null_fd < 0 || pipe2(ready, O_CLOEXEC) != 0) {
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    throw std::runtime_error(m_options.what + ": pipe: " + std::strerror(errno));
  }
  const pid_t parent = getpid();

  m_pid = fork();
  if (m_pid < 0) {
    int e = errno;
    close(log_fd);
    close(null_fd);
    close(ready[0]);
    close(ready[1]);
    throw std::runtime_error(m_options.what + ": fork: " + std::strerror(e));
  }
  if (m_pid == 0) {
    setpgid(0, 0);  // own group: stop() takes the whole tree
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);  // the test died before prctl
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) _exit(126);
    if (ready[1] == 3) {
      fcntl(3, F_SETFD, 0);
    } else if (dup2(ready[1], 3) < 0) {
      _exit(126);
    }
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execve(argv[0], argv.data(), envp.data());
    const char msg[] = "ServiceProcess: execve failed\n";
    ssize_t unused = write(2, msg, sizeof(msg) - 1);
    (void)unused;
    _exit(127);
  }
  setpgid(m_pid, m_pid);
  close(log_fd);
  close(null_fd);
  close(ready[1]);
  m_ready_fd = ready[0];
  m_pidfd = static_cast<int>(syscall(SYS_pidfd_open, m_pid, 0));
}

ServiceProcess::~ServiceProcess() {
  try {
    stop();
  } catch (...) {
  }
  if (m_ready_fd >= 0) close(m_ready_fd);
  if (m_pidfd >= 0) close(m_pidfd);
}

std::string ServiceProcess::wait_ready_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string line;
  std::string why;
  char buf[512];
  while (m_ready_fd >= 0) {
    pollfd p{m_ready_fd, POLLIN, 0};
    int n = poll(&p, 1, ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      why = "no ready line within " + std::to_string(timeout.count()) + " ms";
      break;
    }
    ssize_t r = read(m_ready_fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      why = "it closed its ready pipe (fd 3) without a line";
      break;
    }
    line.append(buf, static_cast<std::size_t>(r));
    auto nl = line.find('\n');
    if (nl != std::string::npos) return line.substr(0, nl);
  }
  if (why.empty()) why = "its ready pipe is already closed";
  stop(std::chrono::milliseconds(2000));
  throw std::runtime_error(m_options.what + " did not start: waited for its ready line on fd 3; " +
                           why + " (" + m_end_state + "); log " + m_options.log.string() + ":\n" +
                           log_tail());
}

void ServiceProcess::stop(std::chrono::milliseconds grace) {
  if (m_reaped || m_pid <= 0) return;
  kill(-m_pid, SIGTERM);
  bool exited = false;
  if (m_pidfd >= 0) {
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
      pollfd p{m_pidfd, POLLIN, 0};
      int n = poll(&p, 1, ms(deadline));
      if (n < 0 && errno == EINTR) continue;
      exited = n > 0;
      break;
    }
  }
  // The leader is at worst a zombie here, so its group id cannot be reused yet: whatever is
  // left in the group (or the leader itself, after the grace) is killed before reaping.
  kill(-m_pid, SIGKILL);
  int status = 0;
  while (waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_reaped = true;
  m_end_state = describe_status(status) + (exited ? "" : " after SIGKILL");
}

std::string ServiceProcess::log_tail(std::size_t max_bytes) const {
  std::ifstream f(m_options.log, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string all = ss.str();
  if (all.size() > max_bytes) all = "..." + all.substr(all.size() - max_bytes);
  return all;
}

bool process_group_alive(pid_t pgid) {
  return kill(-pgid, 0) == 0 || errno == EPERM;
}

std::vector<pid_t> processes_with_cmdline_containing(const std::string& needle) {
  std::vector<pid_t> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  const pid_t self = getpid();
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid == self) continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos) found.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return found;
}

fs::path find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error(name + " not found on PATH");
}

}  // namespace smrun::test
