#pragma once

// Python worker fixtures shared by several supervise tests (files written to TempDirs and run
// by /usr/bin/python3; constant code, never built from data).

namespace smrun::supervise::testing {

// Leader and its forked child (same process group) each wait for SIGTERM synchronously, record
// it in a file, then die of it. "ready" goes to the FIFO once both wait.
inline constexpr const char* kGroupTermWorker = R"(
import os, signal, sys
out_dir, fifo = sys.argv[1], sys.argv[2]

def wait_and_die(name):
    signal.sigwait({signal.SIGTERM})
    with open(os.path.join(out_dir, name), "w") as f:
        f.write("TERM")
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    os.kill(os.getpid(), signal.SIGTERM)
    os._exit(99)

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
r, w = os.pipe()
if os.fork() == 0:
    os.write(w, b"x")
    wait_and_die("child")
os.read(r, 1)
with open(fifo, "w") as f:
    f.write("ready\n")
wait_and_die("leader")
)";

// Double fork: the grandchild starts its own session (outside the worker's group) and exits at
// once, becoming an orphan zombie of the supervisor (our subreaper). The worker exits 0 only if
// the grandchild's /proc entry disappears, i.e. the supervisor reaped it while the worker ran.
inline constexpr const char* kReapedWhileRunning = R"(
import os, sys, time
r, w = os.pipe()
middle = os.fork()
if middle == 0:
    os.setsid()
    grandchild = os.fork()
    if grandchild == 0:
        os._exit(0)
    os.write(w, str(grandchild).encode())
    os._exit(0)
os.close(w)
grandchild = int(os.read(r, 32))
os.waitpid(middle, 0)
deadline = time.monotonic() + 10
while os.path.exists("/proc/%d" % grandchild) and time.monotonic() < deadline:
    time.sleep(0.01)
sys.exit(0 if not os.path.exists("/proc/%d" % grandchild) else 5)
)";

}  // namespace smrun::supervise::testing
