#pragma once

#include "smrun/base/error.hpp"

namespace smrun::base {

// smrun's own exit codes. A user program's verdict is passed through unchanged (its exit code,
// or 128 + signal number), so smrun's codes sit in the sysexits.h range that programs rarely use.
// Documented in README.md ("Exit codes"); keep the two in step.
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitUsage = 64;           // EX_USAGE: bad smrun command line
inline constexpr int kExitConfig = 65;          // EX_DATAERR: invalid config JSON or SMRUN_* value
inline constexpr int kExitCode = 66;            // EX_NOINPUT: user code missing or unpackable
inline constexpr int kExitInstall = 67;         // requirements / package install failed
inline constexpr int kExitPack = 68;            // model archive failed
inline constexpr int kExitCluster = 69;         // EX_UNAVAILABLE: peers missing, channel lost
inline constexpr int kExitInternal = 70;        // EX_SOFTWARE: smrun bug or OS failure
inline constexpr int kExitNotExecutable = 126;  // entry point exists but cannot be executed
inline constexpr int kExitNotFound = 127;       // entry point / interpreter not found

int exit_code_for(ErrorKind kind);

// 128 + signal, the shell convention that tini and docker use too.
inline constexpr int exit_code_for_signal(int signo) {
  return 128 + signo;
}

}  // namespace smrun::base
