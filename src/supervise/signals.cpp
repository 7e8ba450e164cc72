#include "smrun/supervise/signals.hpp"
#include "smrun/base/log.hpp"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <system_error>

namespace smrun::supervise {
namespace {

constexpr std::array kForwarded = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

}  // namespace

sigset_t supervised_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : kForwarded) sigaddset(&set, signo);
  sigaddset(&set, SIGCHLD);
  return set;
}

bool is_forwarded_signal(int signo) {
  for (int s : kForwarded)
    if (s == signo) return true;
  return false;
}

bool is_stop_signal(int signo) {
  return signo == SIGTERM || signo == SIGINT || signo == SIGHUP || signo == SIGQUIT;
}

void block_supervised_signals() {
  sigset_t set = supervised_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // fails only for an invalid `how`
  signal(SIGPIPE, SIG_IGN);                   // fails only for an invalid signal number
}

void become_subreaper() {
  if (getpid() == 1) return;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    log::warn(
        "cannot become a child subreaper (prctl(PR_SET_CHILD_SUBREAPER): {}); orphaned "
        "worker descendants will not be reaped or cleaned up by smrun",
        std::generic_category().message(errno));
}

void reset_signals_for_exec() noexcept {
  // Caught handlers are reset by execve itself; blocked and ignored ones would be inherited.
  for (int signo : kForwarded) signal(signo, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
}

int take_pending_stop_signal() {
  sigset_t stops;
  sigemptyset(&stops);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&stops, s);
  const timespec zero{0, 0};
  int got = sigtimedwait(&stops, nullptr, &zero);
  return got > 0 ? got : 0;
}

bool stop_signal_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  if (sigpending(&pending) != 0) return false;
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT})
    if (sigismember(&pending, s) == 1) return true;
  return false;
}

std::string signal_name(int signo) {
  if (const char* abbrev = sigabbrev_np(signo); abbrev != nullptr)
    return std::string("SIG") + abbrev;
  return "signal " + std::to_string(signo);
}

}  // namespace smrun::supervise
