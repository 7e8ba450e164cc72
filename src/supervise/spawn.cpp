#include "smrun/supervise/spawn.hpp"
#include "smrun/base/sys_error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "smrun/base/exit_code.hpp"
#include "smrun/supervise/exec_limits.hpp"
#include "smrun/supervise/exec_path.hpp"
#include "smrun/supervise/signals.hpp"

namespace smrun::supervise {

using base::UniqueFd;
namespace {

// Which step failed in the child; sent to the parent with errno.
enum class ChildStep : int { kSetpgid, kParentDeath, kStderr, kChdir, kExec, kStdout };

struct ChildReport {
  ChildStep step;
  int error_number;
};

// Everything the child needs, prepared before the clone: the child shares smrun's memory until it
// execs (see start_child), so it only reads this and makes async-signal-safe system calls; it
// allocates nothing and writes nothing but its own stack.
struct ChildPlan {
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<const char*> candidates;
  bool path_search = false;   // argv[0] had no '/': candidates come from PATH
  const char* cwd = nullptr;  // nullptr: stay where smrun is
  int stderr_write = -1;
  int stdout_write = -1;  // -1: stdout is inherited
  int report_write = -1;
  pid_t parent = -1;
};

int exit_code_for(const ChildReport& report) {
  if (report.step == ChildStep::kExec && report.error_number == ENOENT) return base::kExitNotFound;
  return base::kExitNotExecutable;
}

[[noreturn]] void fail_in_child(const ChildPlan& plan, ChildStep step, int error_number) {
  ChildReport report{step, error_number};
  // One small write to a pipe is atomic; if it fails the parent sees a plain exit code.
  ssize_t unused = ::write(plan.report_write, &report, sizeof(report));
  (void)unused;
  _exit(exit_code_for(report));
}

// Marks every descriptor above stderr close-on-exec, so workers get only 0, 1 and 2 (as with
// Python's close_fds=True) even when something in smrun, or smrun's own parent, left one open
// without O_CLOEXEC. Best effort, async-signal-safe.
void mark_inherited_fds_cloexec() noexcept {
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;  // Linux >= 5.11
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  alignas(dirent64) char buffer[4096];
  ssize_t size;
  while ((size = getdents64(dir, buffer, sizeof(buffer))) > 0) {
    for (ssize_t offset = 0; offset < size;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buffer + offset);
      offset += entry->d_reclen;
      int fd = 0;
      const char* c = entry->d_name;
      for (; *c >= '0' && *c <= '9'; ++c) fd = fd * 10 + (*c - '0');
      if (*c == '\0' && c != entry->d_name && fd > STDERR_FILENO && fd != dir)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  close(dir);
}

[[noreturn]] void run_child(const ChildPlan& plan) noexcept {
  // Own process group, so forwarding and teardown reach the worker's children too.
  if (setpgid(0, 0) != 0) fail_in_child(plan, ChildStep::kSetpgid, errno);
  reset_signals_for_exec();
  // Backstop: if smrun dies (even by SIGKILL), its workers do not linger.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    fail_in_child(plan, ChildStep::kParentDeath, errno);
  if (getppid() != plan.parent) _exit(base::kExitNotExecutable);  // smrun died before prctl
  int stderr_write = plan.stderr_write;
  if (plan.stdout_write >= 0) {
    // When smrun runs with 1 or 2 closed, a pipe end can BE descriptor 1 or 2, and the first
    // dup2 below would overwrite the second one's source: move both above 2 first.
    const int stdout_write = fcntl(plan.stdout_write, F_DUPFD_CLOEXEC, 3);
    if (stdout_write < 0) fail_in_child(plan, ChildStep::kStdout, errno);
    stderr_write = fcntl(plan.stderr_write, F_DUPFD_CLOEXEC, 3);
    if (stderr_write < 0) fail_in_child(plan, ChildStep::kStderr, errno);
    if (dup2(stdout_write, STDOUT_FILENO) < 0) fail_in_child(plan, ChildStep::kStdout, errno);
  }
  if (stderr_write == STDERR_FILENO) {
    // dup2 onto itself would keep FD_CLOEXEC; clear it explicitly.
    if (fcntl(STDERR_FILENO, F_SETFD, 0) != 0) fail_in_child(plan, ChildStep::kStderr, errno);
  } else if (dup2(stderr_write, STDERR_FILENO) < 0) {
    fail_in_child(plan, ChildStep::kStderr, errno);
  }
  mark_inherited_fds_cloexec();
  if (plan.cwd != nullptr && chdir(plan.cwd) != 0) fail_in_child(plan, ChildStep::kChdir, errno);

  // execvp's rules: look past entries that do not exist, remember EACCES, stop at other errors.
  bool saw_eacces = false;
  for (const char* candidate : plan.candidates) {
    execve(candidate, plan.argv.data(), plan.envp.data());
    const int error_number = errno;
    if (!plan.path_search) fail_in_child(plan, ChildStep::kExec, error_number);
    if (error_number == EACCES)
      saw_eacces = true;
    else if (error_number != ENOENT && error_number != ENOTDIR && error_number != ESTALE &&
             error_number != ENODEV && error_number != ETIMEDOUT)
      fail_in_child(plan, ChildStep::kExec, error_number);
  }
  fail_in_child(plan, ChildStep::kExec, saw_eacces ? EACCES : ENOENT);
}

int child_entry(void* plan) {
  run_child(*static_cast<const ChildPlan*>(plan));
}

// The child's stack while it shares smrun's memory. run_child needs a few KiB (a 4 KiB getdents
// buffer at most; sanitizer builds fork instead). Below malloc's mmap threshold on purpose: a
// larger stack was a fresh mapping per spawn, and its munmap (a TLB shootdown across smrun's
// threads) cost up to 0.6 ms per worker on the machine of record; this one is reused heap.
constexpr std::size_t kChildStackSize = 64 * 1024;

// Starts the child the way posix_spawn does: clone(CLONE_VM | CLONE_VFORK) on a stack of its
// own. The child shares smrun's memory instead of copying its page tables (fork's cost grows with
// smrun's mappings, and a gang of 256 ranks paid it 256 times), and this thread is suspended
// until the child has exec'd or exited, so nothing the child reads can change under it. Other
// threads keep running; the child touches nothing they use. Signals: smrun installs no handlers
// (supervised signals are blocked and read from a signalfd), so a signal the child receives
// after unblocking them takes its default action in the child alone (its handler table is its
// own: no CLONE_SIGHAND).
pid_t start_child(const ChildPlan& plan) {
  const auto stack = std::make_unique_for_overwrite<char[]>(kChildStackSize);
  // Stacks grow down on every architecture smrun builds for; 16-byte aligned top.
  auto top = reinterpret_cast<std::uintptr_t>(stack.get() + kChildStackSize);
  top &= ~std::uintptr_t{15};
#if defined(__SANITIZE_ADDRESS__)
  // ASan cannot follow a child on a stack of its own: it prints "ASan is ignoring requested
  // __asan_handle_no_return" into the child's stderr, which is the worker's output. Sanitizer
  // builds fork and run the same entry on the copied stack.
  (void)top;
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(child_entry(const_cast<ChildPlan*>(&plan)));
  return pid;
#else
  return clone(child_entry, reinterpret_cast<void*>(top), CLONE_VM | CLONE_VFORK | SIGCHLD,
               const_cast<ChildPlan*>(&plan));
#endif
}

std::string failure_message(const ProcessSpec& spec, const ChildReport& report,
                            const std::string& path) {
  const std::string& program = spec.argv.front();
  const std::string reason = base::errno_text(report.error_number);
  switch (report.step) {
    case ChildStep::kExec:
      if (report.error_number == ENOENT && program.find('/') == std::string::npos)
        return "cannot execute '" + program + "': not found in PATH=" + path;
      if (report.error_number == E2BIG) {
        // strerror alone ("Argument list too long") does not say which hyperparameter or
        // variable to shorten.
        const std::string why =
            explain_argument_list_too_long(spec.argv, spec.env, current_exec_limits());
        if (!why.empty()) return "cannot execute '" + program + "': " + reason + ": " + why;
      }
      return "cannot execute '" + program + "': " + reason;
    case ChildStep::kChdir:
      return "cannot change to directory '" + spec.cwd.string() + "' to run '" + program +
             "': " + reason;
    case ChildStep::kSetpgid:
      return "cannot start '" + program + "': setpgid: " + reason;
    case ChildStep::kParentDeath:
      return "cannot start '" + program + "': prctl(PR_SET_PDEATHSIG): " + reason;
    case ChildStep::kStderr:
      return "cannot start '" + program + "': redirecting stderr: " + reason;
    case ChildStep::kStdout:
      return "cannot start '" + program + "': redirecting stdout: " + reason;
  }
  return "cannot start '" + program + "': " + reason;
}

// What the child reported before exec, or nothing when the pipe closed on a successful exec.
// Once the child exists this cannot fail: a read error (not seen in practice) counts as "no
// report", so the caller always learns the pid and reaps the child.
std::optional<ChildReport> read_report(int fd) {
  ChildReport report{};
  auto* bytes = reinterpret_cast<char*>(&report);
  std::size_t got = 0;
  while (got < sizeof(report)) {
    ssize_t n = ::read(fd, bytes + got, sizeof(report) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got != sizeof(report)) return std::nullopt;
  return report;
}

base::Status make_pipe(UniqueFd& read_end, UniqueFd& write_end, const char* what) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return base::fail(base::ErrorKind::kInternal, std::string("cannot create the ") + what +
                                                      " pipe: " + base::errno_text(errno));
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return {};
}

}  // namespace

std::size_t output_pipe_capacity(std::size_t workers) {
  constexpr std::size_t kDefault = std::size_t{64} << 10;
  constexpr std::size_t kMost = std::size_t{1} << 20;
  constexpr std::size_t kBudget = std::size_t{16} << 20;
  if (workers == 0) return kMost;
  const std::size_t share = kBudget / (2 * workers);
  std::size_t capacity = kDefault;
  while (capacity * 2 <= share && capacity * 2 <= kMost) capacity *= 2;
  return capacity == kDefault ? 0 : capacity;  // 0: the default already
}

base::Expected<PendingSpawn> begin_spawn(const ProcessSpec& spec, const SpawnOptions& options) {
  if (spec.argv.empty() || spec.argv.front().empty())
    return base::fail(base::ErrorKind::kInternal,
                      "worker '" + spec.label + "' has an empty argv (nothing to execute)");

  // Copies, because execve takes char* const[]; they outlive the child's start below.
  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> env = spec.env;
  const std::string path = path_of(spec.env);
  const std::vector<std::string> candidates = exec_candidates(spec.argv.front(), path);
  const std::string cwd = spec.cwd.string();

  UniqueFd stderr_read, stderr_write, stdout_read, stdout_write, report_read, report_write;
  if (auto s = make_pipe(stderr_read, stderr_write, "stderr"); !s)
    return base::Unexpected(std::move(s).error());
  if (options.capture_stdout) {
    if (auto s = make_pipe(stdout_read, stdout_write, "stdout"); !s)
      return base::Unexpected(std::move(s).error());
    if (fcntl(stdout_read.get(), F_SETFL, O_NONBLOCK) != 0)
      return base::fail(base::ErrorKind::kInternal,
                        "cannot make the stdout pipe non-blocking: " + base::errno_text(errno));
  }
  if (options.pipe_capacity != 0) {
    // Larger pipes: a rank writes more per wakeup of the relay and the relay reads more per
    // call (8 ranks x 100 MB of lines: 1.17 s -> 0.75 s here). Best effort.
    (void)::fcntl(stderr_read.get(), F_SETPIPE_SZ, static_cast<int>(options.pipe_capacity));
    if (stdout_read.valid())
      (void)::fcntl(stdout_read.get(), F_SETPIPE_SZ, static_cast<int>(options.pipe_capacity));
  }
  if (auto s = make_pipe(report_read, report_write, "exec status"); !s)
    return base::Unexpected(std::move(s).error());
  // The relay end must never block the supervisor loop.
  if (fcntl(stderr_read.get(), F_SETFL, O_NONBLOCK) != 0)
    return base::fail(base::ErrorKind::kInternal,
                      "cannot make the stderr pipe non-blocking: " + base::errno_text(errno));

  ChildPlan plan;
  for (auto& arg : argv) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  for (auto& item : env) plan.envp.push_back(item.data());
  plan.envp.push_back(nullptr);
  for (const auto& candidate : candidates) plan.candidates.push_back(candidate.c_str());
  plan.path_search = spec.argv.front().find('/') == std::string::npos;
  plan.cwd = cwd.empty() ? nullptr : cwd.c_str();
  plan.stderr_write = stderr_write.get();
  plan.stdout_write = stdout_write.get();
  plan.report_write = report_write.get();
  plan.parent = getpid();

  const pid_t pid = start_child(plan);
  if (pid < 0)
    return base::fail(base::ErrorKind::kInternal, "cannot start a process for '" + spec.label +
                                                      "': clone: " + base::errno_text(errno));

  // Our copies of the write ends must go, or we would never see EOF on either pipe.
  stderr_write.reset();
  stdout_write.reset();
  report_write.reset();

  PendingSpawn pending;
  pending.process.pid = pid;
  pending.process.stderr_read = std::move(stderr_read);
  pending.process.stdout_read = std::move(stdout_read);
  pending.report_read = std::move(report_read);
  pending.path = path;
  return pending;
}

SpawnedProcess finish_spawn(const ProcessSpec& spec, PendingSpawn pending) {
  SpawnedProcess spawned = std::move(pending.process);
  if (auto report = read_report(pending.report_read.get())) {
    ExecFailure failure;
    failure.error_number = report->error_number;
    failure.exit_code = exit_code_for(*report);
    failure.message = failure_message(spec, *report, pending.path);
    spawned.exec_failure = std::move(failure);
  }
  return spawned;
}

base::Expected<SpawnedProcess> spawn_process(const ProcessSpec& spec, const SpawnOptions& options) {
  auto pending = begin_spawn(spec, options);
  if (!pending) return base::Unexpected(std::move(pending).error());
  return finish_spawn(spec, std::move(*pending));
}

}  // namespace smrun::supervise
