#pragma once

#include <sys/types.h>

#include <vector>

namespace smrun::supervise {

// Pids whose parent is this process (including reparented orphans and unreaped zombies), read
// from /proc/<pid>/stat, which needs no optional kernel config. Used only to clean up leftovers.
// Empty when /proc is not mounted for our PID namespace (its pids would be someone else's).
std::vector<pid_t> list_children();

}  // namespace smrun::supervise
