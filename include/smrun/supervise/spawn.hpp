#pragma once

#include <cstddef>

#include <sys/types.h>

#include <optional>
#include <string>

#include "smrun/base/expected.hpp"
#include "smrun/base/unique_fd.hpp"
#include "smrun/supervise/process_spec.hpp"

namespace smrun::supervise {

using base::UniqueFd;

// The worker could not be started: the child reported why through a close-on-exec pipe.
struct ExecFailure {
  int error_number = 0;
  int exit_code = 0;    // 127 when the program was not found, else 126 (shell meaning)
  std::string message;  // one line naming argv[0] (and cwd when chdir failed) and strerror
};

struct SpawnOptions {
  bool capture_stdout = false;  // stdout into a pipe too, instead of smrun's own stdout
  // Capacity asked for the stdout/stderr pipes (F_SETPIPE_SZ); 0 keeps the kernel's default
  // (64 KiB). Refusals (a user over the pipe-user-pages limits) keep the default too.
  std::size_t pipe_capacity = 0;
};

// The capacity for each of `workers` workers' two output pipes: 1 MiB each for a few workers,
// less for many, so all of them together stay within 16 MiB (a quarter of the kernel's default
// per-user soft limit for pipe buffers, which a non-root user's other pipes also count against),
// never below the default 64 KiB. A pipe's pages are only allocated as data waits in it.
std::size_t output_pipe_capacity(std::size_t workers);

struct SpawnedProcess {
  pid_t pid = -1;        // also the process group id: each worker leads its own group
  UniqueFd stderr_read;  // non-blocking read end of the worker's stderr pipe
  UniqueFd stdout_read;  // likewise for stdout, only with SpawnOptions::capture_stdout
  std::optional<ExecFailure> exec_failure;  // set when the child exited before exec
};

// clone(CLONE_VM | CLONE_VFORK) + execve of one worker (as posix_spawn, plus PDEATHSIG). The child
// gets its own process group, default signal state, PR_SET_PDEATHSIG(SIGKILL), smrun's stdin and
// stdout unchanged (stdout into a pipe with options.capture_stdout), stderr into a pipe, no other
// inherited descriptor, spec.cwd, and exactly spec.argv / spec.env. Returns once the child has
// exec'd or failed to; on an exec failure the child still exists and must be reaped like any other
// (it exits with the code in exec_failure). Fails only before the child exists (empty argv, no
// pipes, clone failed), so a returned error never leaves a child behind.
base::Expected<SpawnedProcess> spawn_process(const ProcessSpec& spec,
                                             const SpawnOptions& options = {});

// spawn_process in two halves: begin_spawn returns once the child has exec'd or exited (the
// calling thread is suspended until then); finish_spawn reads whether exec failed. Every begun
// spawn must be finished (it holds the report pipe, and its child must be reaped).
struct PendingSpawn {
  SpawnedProcess process;
  UniqueFd report_read;  // closed on exec; carries a ChildReport when exec failed
  std::string path;      // PATH the child searched, for the failure message
};
base::Expected<PendingSpawn> begin_spawn(const ProcessSpec& spec, const SpawnOptions& options = {});
SpawnedProcess finish_spawn(const ProcessSpec& spec, PendingSpawn pending);

}  // namespace smrun::supervise
