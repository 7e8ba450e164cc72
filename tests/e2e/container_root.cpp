#include "e2e/container_root.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace smrun::test::e2e {

namespace {

using namespace std::chrono_literals;

// The applets the test programs use, each a link to /bin/busybox (busybox picks the applet
// from argv[0]).
constexpr const char* kApplets[] = {"sh", "cat", "mv", "sleep", "setsid", "kill", "ls"};

fs::path find_host_program(std::initializer_list<const char*> candidates, const char* package) {
  for (const char* candidate : candidates)
    if (::access(candidate, X_OK) == 0) return candidate;
  throw std::runtime_error(std::string("cannot build the container root: ") + *candidates.begin() +
                           " not found (install Debian's " + package +
                           ", see scripts/setup-deps.sh)");
}

// Absolute paths of the shared objects `binary` loads, the dynamic loader included, as ldd
// prints them ("libx.so.1 => /lib/.../libx.so.1 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)").
// A static binary has none.
std::vector<fs::path> shared_libraries(const fs::path& binary) {
  ProcessOptions options;
  options.argv = {find_host_program({"/usr/bin/ldd", "/bin/ldd"}, "libc-bin").string(),
                  binary.string()};
  options.env = std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"}, {"LC_ALL", "C"}};
  options.timeout = 30s;
  ProcessResult r = run_process(options);
  const std::string all = r.out + r.err;
  if (r.exit_code != 0 && all.find("not a dynamic executable") != std::string::npos) return {};
  if (r.exit_code != 0) throw std::runtime_error("ldd " + binary.string() + " failed: " + all);
  std::vector<fs::path> libraries;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("not found") != std::string::npos)
      throw std::runtime_error("ldd " + binary.string() + ": " + line);
    std::size_t start = line.find("=> ");
    start = start == std::string::npos ? line.find_first_not_of(" \t") : start + 3;
    if (start == std::string::npos || line[start] != '/') continue;  // linux-vdso.so.1
    const std::size_t end = line.find(" (", start);
    libraries.emplace_back(line.substr(start, end == std::string::npos ? end : end - start));
  }
  return libraries;
}

// /proc/self/mountinfo escapes blanks and backslashes in paths as \ooo.
std::string unescape_mount_path(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

ContainerRoot::ContainerRoot() : m_root(m_tmp.path() / "root") {
  for (const char* dir : {"proc", "dev", "tmp", "probe", "opt/ml/input/config", "opt/ml/code",
                          "opt/ml/model", "opt/ml/output"})
    fs::create_directories(m_root / dir);
  write_file("/dev/null", "");  // where the host's /dev/null is bind-mounted
  install_smrun();
  install_busybox();
  write_file("/opt/ml/input/config/resourceconfig.json",
             R"({"current_host": "algo-1", "hosts": ["algo-1"]})");
}

ContainerRoot::~ContainerRoot() {
  detach_mounts();
}

fs::path ContainerRoot::outside(const std::string& inside) const {
  return m_root / fs::path(inside).relative_path();
}

void ContainerRoot::write_file(const std::string& inside, const std::string& content,
                               bool executable) const {
  test::write_file(outside(inside), content, executable);
}

void ContainerRoot::copy_into(const fs::path& host_file, const std::string& inside) const {
  const fs::path target = outside(inside);
  fs::create_directories(target.parent_path());
  // Follows symlinks: the root gets the library itself under the name the loader looks for.
  fs::copy_file(host_file, target, fs::copy_options::overwrite_existing);
}

void ContainerRoot::install_smrun() {
  const fs::path smrun = smrun_binary();
  copy_into(smrun, "/usr/bin/smrun");
  for (const fs::path& library : shared_libraries(smrun)) copy_into(library, library.string());
}

void ContainerRoot::install_busybox() {
  const fs::path busybox =
      find_host_program({"/bin/busybox", "/usr/bin/busybox"}, "busybox-static");
  copy_into(busybox, "/bin/busybox");
  // busybox-static needs nothing else; a dynamic busybox brings its libraries along.
  for (const fs::path& library : shared_libraries(busybox)) copy_into(library, library.string());
  for (const char* applet : kApplets) fs::create_symlink("busybox", m_root / "bin" / applet);
}

void ContainerRoot::detach_mounts() const {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::vector<std::string> below_root;
  std::string line;
  const std::string root = m_root.string();
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, source, mount_point;
    fields >> id >> parent >> device >> source >> mount_point;
    mount_point = unescape_mount_path(mount_point);
    if (mount_point == root || mount_point.rfind(root + "/", 0) == 0)
      below_root.push_back(mount_point);
  }
  // Deepest first. Only reached when a namespace leaked a mount into ours, which the private
  // propagation set up in the child should make impossible.
  std::sort(below_root.rbegin(), below_root.rend());
  for (const std::string& mount_point : below_root) ::umount2(mount_point.c_str(), MNT_DETACH);
}

namespace {

enum class SetupStep : int {
  kDeathSignal,
  kPrivate,
  kMount,
  kMountProc,
  kBindDevNull,
  kChroot,
  kChdir,
  kStdio,
  kExec
};

const char* step_name(SetupStep step) {
  switch (step) {
    case SetupStep::kDeathSignal:
      return "prctl(PR_SET_PDEATHSIG)";
    case SetupStep::kPrivate:
      return "mount --make-rprivate /";
    case SetupStep::kMount:
      return "mount";
    case SetupStep::kMountProc:
      return "mount proc";
    case SetupStep::kBindDevNull:
      return "mount --bind /dev/null";
    case SetupStep::kChroot:
      return "chroot";
    case SetupStep::kChdir:
      return "chdir /";
    case SetupStep::kStdio:
      return "dup2 stdio";
    case SetupStep::kExec:
      return "execve";
  }
  return "?";
}

struct SetupFailure {
  SetupStep step;
  int error;
  std::size_t mount_index;  // for kMount: which of the plan's mounts
};

struct ChildMount {
  const char* source;
  const char* target;
  const char* fstype;  // nullptr for a bind mount
  unsigned long flags;
  const char* data;  // nullptr when none
};

struct ChildPlan {
  const char* root;
  const ChildMount* mounts;
  std::size_t mount_count;
  const char* proc;      // nullptr: no /proc
  const char* dev_null;  // nullptr: no /dev/null bind
  int stdio[3];
  int report_fd;
  char* const* argv;
  char* const* envp;
};

// In the clone()d child, which is PID 1 of the new PID namespace: what a container runtime does
// before exec'ing the entrypoint. Only system calls: nothing here may allocate.
[[noreturn]] void become_container_init(const ChildPlan& plan) {
  auto fail = [&](SetupStep step, std::size_t mount_index = 0) {
    SetupFailure failure{step, errno, mount_index};
    ssize_t unused = ::write(plan.report_fd, &failure, sizeof(failure));
    (void)unused;
    _exit(127);
  };
  // If the test process dies (killed, crashed), the whole namespace goes with it. Kept across
  // execve.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(SetupStep::kDeathSignal);
  // Our mounts must not propagate back into the test's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(SetupStep::kPrivate);
  // The caller's mounts (an overlay over a shared root, the job's /opt/ml, ...), in order.
  for (std::size_t i = 0; i < plan.mount_count; ++i) {
    const ChildMount& m = plan.mounts[i];
    if (::mount(m.source, m.target, m.fstype, m.flags, m.data) != 0) fail(SetupStep::kMount, i);
  }
  // A /proc of the new PID namespace: smrun lists its children there.
  if (plan.proc != nullptr &&
      ::mount("proc", plan.proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    fail(SetupStep::kMountProc);
  // A shell gives background jobs /dev/null as stdin.
  if (plan.dev_null != nullptr &&
      ::mount("/dev/null", plan.dev_null, nullptr, MS_BIND, nullptr) != 0)
    fail(SetupStep::kBindDevNull);
  if (::chroot(plan.root) != 0) fail(SetupStep::kChroot);
  if (::chdir("/") != 0) fail(SetupStep::kChdir);
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(plan.stdio[fd], fd) < 0) fail(SetupStep::kStdio);
  ::execve(plan.argv[0], plan.argv, plan.envp);
  fail(SetupStep::kExec);
  _exit(127);  // not reached
}

// Reads the child's setup report: nullopt once exec succeeded (EOF on the close-on-exec pipe).
std::optional<SetupFailure> read_setup_report(int fd) {
  pollfd p{fd, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, 30000);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) throw std::runtime_error("container init neither exec'd nor failed in 30 s");
  SetupFailure failure{};
  ssize_t n;
  do {
    n = ::read(fd, &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return std::nullopt;
  if (n != static_cast<ssize_t>(sizeof(failure)))
    throw std::runtime_error("short setup report from the container init");
  return failure;
}

int open_or_throw(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + path.string() + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

std::optional<NamespaceInit> NamespaceInit::start(const ContainerRoot& root,
                                                  const std::vector<std::string>& argv,
                                                  const std::map<std::string, std::string>& env,
                                                  Unavailable& unavailable) {
  InitSpec spec;
  spec.root = root.path();
  spec.stdout_file = root.stdout_file();
  spec.stderr_file = root.stderr_file();
  return start(spec, argv, env, unavailable);
}

std::optional<NamespaceInit> NamespaceInit::start(const InitSpec& spec,
                                                  const std::vector<std::string>& argv,
                                                  const std::map<std::string, std::string>& env,
                                                  Unavailable& unavailable) {
  std::vector<std::string> arg_strings = argv;
  std::vector<char*> args;
  for (auto& s : arg_strings) args.push_back(s.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const std::string root_dir = spec.root.string();
  const std::string proc_dir = (spec.root / "proc").string();
  const std::string dev_null = (spec.root / "dev" / "null").string();
  std::vector<std::string> mount_targets;
  for (const InitMount& m : spec.mounts) mount_targets.push_back(m.target.string());
  std::vector<ChildMount> mounts;
  for (std::size_t i = 0; i < spec.mounts.size(); ++i) {
    const InitMount& m = spec.mounts[i];
    mounts.push_back({m.source.c_str(), mount_targets[i].c_str(),
                      m.fstype.empty() ? nullptr : m.fstype.c_str(), m.flags,
                      m.data.empty() ? nullptr : m.data.c_str()});
  }

  const int in = open_or_throw("/dev/null", O_RDONLY);
  const int out = open_or_throw(spec.stdout_file, O_WRONLY | O_CREAT | O_TRUNC);
  const int err = open_or_throw(spec.stderr_file, O_WRONLY | O_CREAT | O_TRUNC);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const ChildPlan plan{root_dir.c_str(),
                       mounts.data(),
                       mounts.size(),
                       spec.mount_proc ? proc_dir.c_str() : nullptr,
                       spec.bind_dev_null ? dev_null.c_str() : nullptr,
                       {in, out, err},
                       report[1],
                       args.data(),
                       envp.data()};

  // clone() without a new stack behaves like fork(), but its child is PID 1 of a new PID
  // namespace, and the value returned here is that PID 1's pid in our namespace.
  const long pid = ::syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, nullptr, nullptr,
                             nullptr, nullptr);
  if (pid == 0) become_container_init(plan);
  const int clone_error = errno;
  for (int fd : {in, out, err, report[1]}) ::close(fd);

  std::optional<SetupFailure> failure;
  if (pid > 0) {
    try {
      failure = read_setup_report(report[0]);
    } catch (...) {
      ::close(report[0]);
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
      throw;
    }
  }
  ::close(report[0]);
  if (pid < 0) {
    if (clone_error == EPERM) {
      unavailable.reason = std::string("clone(CLONE_NEWPID | CLONE_NEWNS): ") +
                           std::strerror(clone_error) +
                           " (creating namespaces needs root / CAP_SYS_ADMIN)";
      return std::nullopt;
    }
    throw std::runtime_error(std::string("clone: ") + std::strerror(clone_error));
  }
  if (failure) {
    int status = 0;
    while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
    }
    std::string what = step_name(failure->step);
    if (failure->step == SetupStep::kMount && failure->mount_index < spec.mounts.size()) {
      const InitMount& m = spec.mounts[failure->mount_index];
      what += " " + (m.fstype.empty() ? std::string("--bind ") + m.source : "-t " + m.fstype) +
              " on " + m.target.string();
    }
    what += std::string(": ") + std::strerror(failure->error);
    // Mounting is refused in some sandboxes that still allow the clone (no CAP_SYS_ADMIN over
    // the mount namespace's owner): the same "no privileges" situation.
    if (failure->error == EPERM && failure->step != SetupStep::kExec) {
      unavailable.reason = "container setup: " + what + " (needs root / CAP_SYS_ADMIN)";
      return std::nullopt;
    }
    throw std::runtime_error("container setup failed: " + what);
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
  if (pidfd < 0) {
    const int error = errno;
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    throw std::runtime_error(std::string("pidfd_open: ") + std::strerror(error));
  }
  return NamespaceInit(static_cast<pid_t>(pid), pidfd, spec.stdout_file, spec.stderr_file);
}

NamespaceInit::NamespaceInit(NamespaceInit&& other) noexcept
    : m_pid(other.m_pid),
      m_pidfd(other.m_pidfd),
      m_reaped(other.m_reaped),
      m_out(std::move(other.m_out)),
      m_err(std::move(other.m_err)) {
  other.m_pid = -1;
  other.m_pidfd = -1;
}

NamespaceInit::~NamespaceInit() {
  if (!m_reaped && m_pid > 0) {
    // SIGKILL reaches a namespace's init even from outside, and its death kills every other
    // process of the namespace; the kernel has reaped them all by the time waitpid returns.
    ::kill(m_pid, SIGKILL);
    while (::waitpid(m_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (m_pidfd >= 0) ::close(m_pidfd);
}

std::optional<ProcessResult> NamespaceInit::wait_for(std::chrono::milliseconds timeout) {
  if (m_reaped) throw std::logic_error("container init already reaped");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{m_pidfd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return std::nullopt;
    break;
  }
  int status = 0;
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_reaped = true;
  ProcessResult r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  r.out = read_file(m_out);
  r.err = read_file(m_err);
  return r;
}

}  // namespace smrun::test::e2e
