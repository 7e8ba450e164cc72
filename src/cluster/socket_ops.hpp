#pragma once

// Thin, errno-translating wrappers over the socket calls the channel needs (internal).
// Every socket is non-blocking and close-on-exec: the caller spawns the training processes,
// and an inherited control socket would keep a dead smrun's connection open.

#include <unistd.h>

#include <string>
#include <utility>

#include "smrun/base/expected.hpp"
#include "smrun/base/unique_fd.hpp"
#include "smrun/cluster/address.hpp"
#include "timing.hpp"

namespace smrun::cluster {

// Move-only socket owner. (supervise/ has an equivalent UniqueFd; cluster does not depend on
// supervise, and this one is three lines.)

// strerror with a lowercase first letter, to read well inside a sentence.
std::string errno_text(int err);

// Listening socket bound to exactly `address` (never the wildcard) with SO_REUSEADDR.
// Errors (kCluster) are "cannot listen on 127.0.0.2 port 7780: Address already in use".
base::Expected<base::UniqueFd> listen_on(const ResolvedAddress& address);

// Accepts one pending connection (non-blocking, cloexec, TCP_NODELAY); invalid base::UniqueFd when
// none is pending. `peer` receives the numeric peer address.
base::UniqueFd accept_one(int listener, std::string& peer);

// Starts a non-blocking connect to `remote`, from `local` when given (port 0).
// Errors are the reason only: "cannot bind to 127.0.0.3: ...", "connection refused".
base::Expected<base::UniqueFd> start_connect(const ResolvedAddress& remote,
                                             const ResolvedAddress* local);
// Waits for a started connect to complete; the error is the reason ("connection refused",
// "timed out").
base::Status finish_connect(int fd, Clock::time_point deadline);

}  // namespace smrun::cluster
