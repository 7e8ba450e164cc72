#pragma once

// Signals are waited for, not handled (as in tini): main blocks them before any thread starts,
// the supervisor reads them from a signalfd, and every child gets a clean signal state back.

#include <signal.h>

#include <string>

namespace smrun::supervise {

// SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 (forwarded to workers) and SIGCHLD.
sigset_t supervised_signals();

// Signals smrun passes on to every worker process group.
bool is_forwarded_signal(int signo);

// Forwarded signals that also mean "stop": they start the grace period before SIGKILL.
bool is_stop_signal(int signo);

// Call first thing in main, before any thread exists, so every thread inherits the mask and no
// signal is lost or handled by default before the supervisor loop reads it. Also ignores
// SIGPIPE so a closed stderr reader cannot kill PID 1. Cannot fail with these arguments.
void block_supervised_signals();

// Orphaned descendants are reparented to us (PR_SET_CHILD_SUBREAPER) so we can reap them and
// kill leftovers. A no-op as PID 1, which gets orphans anyway. On failure (kernel < 3.4) smrun
// still works but orphans escape to the real init: logged as a warning.
void become_subreaper();

// In a forked child before exec: default dispositions for every signal smrun blocked or ignored
// and an empty mask, so workers react to SIGTERM/SIGINT/SIGPIPE normally even when smrun's own
// parent started it with some of them ignored. Async-signal-safe.
void reset_signals_for_exec() noexcept;

// "SIGTERM" for logs; "signal N" when the number has no name.
std::string signal_name(int signo);

// A stop signal (SIGTERM, SIGINT, SIGHUP, SIGQUIT) that arrived while no supervisor loop was
// running — during config, code download, install bookkeeping or packing — consumed from the
// pending set; 0 if none. Lets `train` stop between phases instead of starting the next one.
int take_pending_stop_signal();

// Whether such a stop signal is pending, without consuming it (any thread may ask: a long
// download polls this to give up early, and train's next phase check then reports the signal).
bool stop_signal_pending();

}  // namespace smrun::supervise
