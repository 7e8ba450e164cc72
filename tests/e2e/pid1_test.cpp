// smrun as a container's entrypoint for real: PID 1 of a new PID namespace, chroot'ed into a
// minimal root filesystem (smrun, its libraries, a static busybox, /opt/ml), with the
// namespace's own /proc. The user programs are busybox shell scripts. Needs root; skipped, with
// the reason, where namespaces cannot be created.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <sstream>

#include "e2e/container_root.hpp"
#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

// Every run is bounded: smrun has this long to finish.
constexpr auto kRunTimeout = 60s;

// Shared by the user programs: waits (bounded, 20 s) until a file another process writes with
// one echo (a single write) is not empty. Writers use the shell's builtin echo, not a forked mv:
// a finished child its parent has not reaped yet would show up in the zombie count.
constexpr const char* kWaitFile = R"SH(wait_file() {
  n=0
  while [ ! -s "$1" ]; do
    n=$((n + 1)); [ $n -gt 400 ] && return 1
    sleep 0.05
  done
}
)SH";

// A background process that outlives the user program. On SIGTERM it stops its own child and
// takes 0.3 s before writing "done" and exiting: if smrun exited without waiting for it, the
// kernel would SIGKILL it with the namespace and "done" would never be written. The child is
// stopped with SIGKILL: on a busy machine it may not have exec'd `sleep` yet when the SIGTERMs
// come, and a forked shell that has not exec'd yet loses a caught SIGTERM at exec; that child
// would live on until smrun's own grace-period SIGKILL.
constexpr const char* kOrphanScript = R"SH(#!/bin/sh
name=$1
trap 'kill -KILL $s; echo TERM > /probe/$name.term; sleep 0.3; echo done > /probe/$name.done; exit 0' TERM
sleep 1000 &
s=$!
echo $$ > /probe/$name.pid
wait $s
echo "wait returned $?" > /probe/$name.unexpected
)SH";

// Records what PID 1 is, makes three orphans (A exits at once and must be reaped by PID 1;
// B, in its own session, and C, in the program's process group, outlive the program), proves A
// was reaped while the program still runs, lists the namespace's zombies, saves a model.
constexpr const char* kOrphansProgram = R"SH(
echo "$PPID" > /probe/ppid
cat /proc/1/cmdline > /probe/pid1_cmdline
( sh -c 'echo $$ > /probe/a.pid' & )
wait_file /probe/a.pid || exit 90
read a < /probe/a.pid
# A zombie keeps its /proc entry until its parent (PID 1, after the double fork) reaps it.
n=0
while [ -e /proc/$a ]; do
  n=$((n + 1)); [ $n -gt 400 ] && { echo "orphan $a was never reaped" >&2; exit 91; }
  sleep 0.05
done
( setsid ./orphan.sh b & )
( ./orphan.sh c & )
wait_file /probe/b.pid || exit 92
wait_file /probe/c.pid || exit 93
read b < /probe/b.pid
read c < /probe/c.pid
read -r _ _ _ b_ppid _ < /proc/$b/stat
read -r _ _ _ c_ppid _ < /proc/$c/stat
echo "$b_ppid $c_ppid" > /probe/orphan_ppids
zombies=""
for f in /proc/[0-9]*/stat; do
  read -r pid _ state _ < $f && [ "$state" = Z ] && zombies="$zombies $pid"
done
echo "zombies:$zombies" > /probe/zombies
echo weights > "$SM_MODEL_DIR/model.txt"
exit 0
)SH";

// Handles SIGTERM by writing a marker and exiting 7; announces readiness once the trap is set.
constexpr const char* kTermProgram = R"SH(
trap 'echo TERM > /probe/term; exit 7' TERM
echo "$PPID" > /probe/ppid
sleep 1000 &
echo ready > /probe/ready.tmp && mv /probe/ready.tmp /probe/ready
wait
echo "wait returned $?" > /probe/unexpected
)SH";

class Pid1Container : public ::testing::Test {
 protected:
  // The SageMaker layout at its default place: no SAGEMAKER_BASE_DIR, as in a real container.
  void write_job(const std::string& program_body) {
    root.write_file("/opt/ml/input/config/hyperparameters.json",
                    sdk_json_dumps({{"sagemaker_program", "\"train.sh\""},
                                    {"sagemaker_container_log_level", "10"}}));
    root.write_file("/opt/ml/code/train.sh", std::string("#!/bin/sh\n") + kWaitFile + program_body,
                    true);
    root.write_file("/opt/ml/code/orphan.sh", kOrphanScript, true);
  }

  // Starts smrun as the namespace's PID 1; false (and the test is skipped) without privileges.
  bool start() {
    const std::map<std::string, std::string> env{
        {"PATH", "/usr/bin:/bin"},
        {"HOME", "/root"},
        {"SMRUN_TERM_GRACE_SECONDS", "20"},
    };
    Unavailable unavailable;
    auto started = NamespaceInit::start(root, {"/usr/bin/smrun", "train"}, env, unavailable);
    if (!started) {
      skip_reason = "PID 1 tests need root: " + unavailable.reason;
      std::fprintf(stderr, "\n*** SKIPPING %s\n\n", skip_reason.c_str());
      return false;
    }
    init = std::make_unique<NamespaceInit>(std::move(*started));
    return true;
  }

  ProcessResult finish() {
    auto result = init->wait_for(kRunTimeout);
    if (!result) {
      ADD_FAILURE() << "smrun (PID 1) did not exit within " << kRunTimeout.count() << " s";
      return {};
    }
    return *result;
  }

  std::string probe(const std::string& name) const {
    return fs::exists(root.probe(name)) ? read_file(root.probe(name)) : "<missing>";
  }

  ContainerRoot root;                   // destroyed last: the namespace is gone by then
  std::unique_ptr<NamespaceInit> init;  // SIGKILLs the namespace if a test bails out early
  std::string skip_reason;
};

TEST_F(Pid1Container, SuccessReapsOrphansWaitsForThemAndPacksTheModel) {
  write_job(kOrphansProgram);
  if (!start()) GTEST_SKIP() << skip_reason;
  ProcessResult r = finish();
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // smrun is PID 1: the user program's parent, and /proc/1 of the namespace.
  EXPECT_EQ(probe("ppid"), "1\n");
  constexpr char kCmdline[] = "/usr/bin/smrun\0train\0";  // NUL-separated argv
  EXPECT_EQ(probe("pid1_cmdline"), std::string(kCmdline, sizeof(kCmdline) - 1));
  // Orphans are reparented to PID 1; A was reaped while the program ran; no zombie anywhere.
  EXPECT_EQ(probe("orphan_ppids"), "1 1\n");
  EXPECT_EQ(probe("zombies"), "zombies:\n");
  const std::string a = probe("a.pid"), b = probe("b.pid"), c = probe("c.pid");
  EXPECT_NE(r.err.find("reaped orphan process " + a), std::string::npos) << r.err;
  // When the program exited, smrun sent SIGTERM to its process group (C) and to the leftover in
  // another session (B), then waited for both to finish before exiting.
  EXPECT_NE(r.err.find("sending SIGTERM to leftover process " + b), std::string::npos) << r.err;
  EXPECT_EQ(probe("b.term"), "TERM\n");
  EXPECT_EQ(probe("c.term"), "TERM\n");
  EXPECT_EQ(probe("b.done"), "done\n");
  EXPECT_EQ(probe("c.done"), "done\n");
  EXPECT_FALSE(fs::exists(root.probe("b.unexpected")));
  EXPECT_FALSE(fs::exists(root.probe("c.unexpected")));
  EXPECT_EQ(r.err.find("SIGKILL"), std::string::npos) << r.err;

  EXPECT_TRUE(fs::exists(root.outside("/opt/ml/output/success")));
  EXPECT_FALSE(fs::exists(root.outside("/opt/ml/output/failure")));
  EXPECT_EQ(tar_members(root.outside("/opt/ml/output/model.tar.gz")),
            std::vector<std::string>{"model.txt"});
}

TEST_F(Pid1Container, SigtermFromOutsideReachesTheProgramAndItsExitCodeIsTheVerdict) {
  write_job(kTermProgram);
  if (!start()) GTEST_SKIP() << skip_reason;
  ASSERT_TRUE(wait_for_file(root.probe("ready"), 30s)) << read_file(root.stderr_file());

  // Seen from outside, the process we signal is smrun, and pid 1 in its own namespace.
  const std::string outer = std::to_string(init->outer_pid());
  const fs::path proc = fs::path("/proc") / outer;
  EXPECT_EQ(fs::read_symlink(proc / "exe"), root.outside("/usr/bin/smrun"));
  std::string nspid;
  {
    std::istringstream status(read_file(proc / "status"));
    for (std::string line; std::getline(status, line);)
      if (line.rfind("NSpid:", 0) == 0) nspid = line;
  }
  EXPECT_EQ(nspid, "NSpid:\t" + outer + "\t1");

  ASSERT_EQ(::kill(init->outer_pid(), SIGTERM), 0);
  ProcessResult r = finish();
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_EQ(probe("ppid"), "1\n");
  EXPECT_EQ(probe("term"), "TERM\n");
  EXPECT_FALSE(fs::exists(root.probe("unexpected")));
  EXPECT_NE(r.err.find("received SIGTERM"), std::string::npos) << r.err;

  const fs::path failure = root.outside("/opt/ml/output/failure");
  ASSERT_TRUE(fs::exists(failure)) << r.err;
  EXPECT_EQ(first_line(read_file(failure)),
            "ExecuteUserScriptError: train.sh exited with code 7 on algo-1 after smrun received "
            "SIGTERM and forwarded it");
  EXPECT_FALSE(fs::exists(root.outside("/opt/ml/output/success")));
  EXPECT_FALSE(fs::exists(root.outside("/opt/ml/output/model.tar.gz")));
}

TEST_F(Pid1Container, FailingProgramExitCodeIsTheVerdict) {
  write_job("echo \"ppid $PPID\" >&2\necho 'loss is nan, giving up' >&2\nexit 3\n");
  if (!start()) GTEST_SKIP() << skip_reason;
  ProcessResult r = finish();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.term_signal, 0);

  const fs::path failure = root.outside("/opt/ml/output/failure");
  ASSERT_TRUE(fs::exists(failure)) << r.err;
  const std::string report = read_file(failure);
  EXPECT_EQ(first_line(report), "ExecuteUserScriptError: train.sh exited with code 3 on algo-1");
  EXPECT_EQ(line_at(report, 1), "loss is nan, giving up");
  EXPECT_NE(report.find("ppid 1\n"), std::string::npos) << report;
  EXPECT_FALSE(fs::exists(root.outside("/opt/ml/output/success")));
  EXPECT_FALSE(fs::exists(root.outside("/opt/ml/output/model.tar.gz")));
}

}  // namespace
}  // namespace smrun::test::e2e
