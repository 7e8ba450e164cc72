#include "smrun/supervise/capture.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "smrun/supervise/spawn.hpp"

namespace smrun::supervise {

base::Expected<CaptureResult> run_and_capture(const ProcessSpec& spec,
                                              std::chrono::milliseconds limit) {
  SpawnOptions options;
  options.capture_stdout = true;
  auto spawned = spawn_process(spec, options);
  if (!spawned) return base::Unexpected(spawned.error());
  CaptureResult result;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  UniqueFd out = std::move(spawned->stdout_read);
  UniqueFd err = std::move(spawned->stderr_read);
  while (out.valid() || err.valid()) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(-spawned->pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out.valid() ? out.get() : -1, POLLIN, 0},
                     {err.valid() ? err.get() : -1, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds[i].revents == 0) continue;
      UniqueFd& fd = i == 0 ? out : err;
      char buf[4096];
      const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
      if (n > 0) {
        if (i == 0) result.out.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd.reset();
      }
    }
  }
  int status = 0;
  while (::waitpid(spawned->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
  return result;
}

}  // namespace smrun::supervise
