// Fault matrix, single-host rows (docs/reliability.md): faults around the model archive and
// processes a rank leaves behind. Each row asserts smrun's verdict, the teardown time and that
// nothing of the job survived; tests/e2e/fault_matrix.json holds what they expect.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "e2e/fault_matrix.hpp"

namespace smrun::test::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

// Bytes no compressor can shrink, so an archive of them needs as much room as they do.
std::string incompressible(std::size_t size, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string data(size, '\0');
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(data.data() + i, &v, 8);
  }
  return data;
}

// Every file below `root` with its content: equal snapshots mean the tree was not touched.
std::map<std::string, std::string> contents(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = read_file(e.path());
  return out;
}

// Names in `dir` starting with ".model.tar.gz.tmp-": the packer's temporary archive.
std::vector<std::string> temp_archives(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(".model.tar.gz.tmp-", 0) == 0)
      out.push_back(e.path().filename().string());
  return out;
}

bool wait_for_temp_archive(const fs::path& dir, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (temp_archives(dir).empty()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);  // polling for a file smrun creates, bounded by deadline
  }
  return true;
}

// A tmpfs mounted over `dir` for the lifetime of the guard, unmounted (lazily, so a process
// still inside cannot keep it) in every case.
class TmpfsMount {
 public:
  TmpfsMount(const fs::path& dir, const std::string& size) : m_dir(dir) {
    const std::string options = "size=" + size + ",mode=0755";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0)
      m_mounted = true;
    else
      m_error = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (m_mounted) ::umount2(m_dir.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return m_mounted; }
  const std::string& error() const { return m_error; }

 private:
  fs::path m_dir;
  bool m_mounted = false;
  std::string m_error;
};

class FaultLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
    job.write_code_file("train.py", "pass\n");
  }
  std::unique_ptr<BackgroundProcess> start(const Env& extra = {},
                                           std::vector<std::string> prefix = {}) {
    prefix.push_back(smrun_binary().string());
    prefix.push_back("train");
    return std::make_unique<BackgroundProcess>(
        prefix, job.environment(extra), job.scratch() / "smrun.out", job.scratch() / "smrun.err");
  }
  std::string smrun_err() const {
    const fs::path p = job.scratch() / "smrun.err";
    return fs::exists(p) ? read_file(p) : "";
  }
  // <base> in the row's failure lines stands for this job's SAGEMAKER_BASE_DIR.
  FaultRow row_for(const std::string& id) const {
    return fault_row(id, {{"<base>", job.base().string()}});
  }
  JobDir job;
};

TEST_F(FaultLocal, SigtermDuringPacking) {
  // The program succeeded, so the model is complete: a stop signal now must not cost it.
  // smrun finishes the archive (atomically) and reports success.
  const FaultRow row = row_for("sigterm-during-packing");
  write_file(job.model_dir() / "weights.bin", incompressible(96 << 20, 1));
  auto smrun = start({{"SMRUN_TERM_GRACE_SECONDS", "2"}});
  ASSERT_TRUE(wait_for_temp_archive(job.output_dir(), 60s)) << smrun_err();
  ASSERT_FALSE(fs::exists(job.default_archive())) << "packing ended before the signal";
  const auto injected = Clock::now();
  ASSERT_EQ(::kill(smrun->pid(), SIGTERM), 0);
  auto r = smrun->wait_for(row.bound + 20s);
  ASSERT_TRUE(r.has_value()) << smrun_err();
  expect_verdicts(row, {observe(*r, job)}, {r->err});
  expect_teardown_within_bound(row, since(injected));
  EXPECT_TRUE(fs::exists(job.success_file()));
  EXPECT_EQ(tar_members(job.default_archive()), std::vector<std::string>{"weights.bin"});
  EXPECT_EQ(temp_archives(job.output_dir()), std::vector<std::string>{});
  EXPECT_NE(r->err.find("received SIGTERM while packing the model; finished packing before "
                        "stopping"),
            std::string::npos)
      << r->err;
}

TEST_F(FaultLocal, SigkillDuringPacking) {
  // Nothing can run after SIGKILL: what matters is that no partial archive carries the final
  // name (the temporary file is renamed only once complete and fsync'ed).
  const FaultRow row = row_for("sigkill-during-packing");
  write_file(job.model_dir() / "weights.bin", incompressible(96 << 20, 2));
  auto smrun = start();
  ASSERT_TRUE(wait_for_temp_archive(job.output_dir(), 60s)) << smrun_err();
  ASSERT_FALSE(fs::exists(job.default_archive())) << "packing ended before the signal";
  const auto injected = Clock::now();
  ASSERT_EQ(::kill(smrun->pid(), SIGKILL), 0);
  auto r = smrun->wait_for(row.bound + 20s);
  ASSERT_TRUE(r.has_value());
  expect_verdicts(row, {observe(*r, job)}, {r->err});
  expect_teardown_within_bound(row, since(injected));
  EXPECT_FALSE(fs::exists(job.default_archive()));
  EXPECT_FALSE(fs::exists(job.success_file()));
  // Left behind, under its hidden temporary name: documented in docs/reliability.md.
  EXPECT_EQ(temp_archives(job.output_dir()).size(), 1u);
}

TEST_F(FaultLocal, DiskFullWhilePacking) {
  const FaultRow row = row_for("disk-full-while-packing");
  fs::create_directories(job.output_dir());
  TmpfsMount full(job.output_dir(), "1m");
  if (!full.mounted())
    GTEST_SKIP() << "*** SKIPPED: cannot mount a tmpfs on " << job.output_dir() << " ("
                 << full.error() << "); this row needs root (CAP_SYS_ADMIN)";
  write_file(job.model_dir() / "a.bin", incompressible(2 << 20, 3));
  write_file(job.model_dir() / "sub" / "b.bin", incompressible(2 << 20, 4));
  const auto before = contents(job.model_dir());
  const auto started = Clock::now();
  // required: a pack problem fails the job (by default it is an error and the job succeeds).
  ProcessResult r = job.run_train({{"SMRUN_PACK_MODEL", "required"}}, 60s);
  expect_verdicts(row, {observe(r, job)}, {r.err});
  expect_teardown_within_bound(row, since(started));
  EXPECT_FALSE(fs::exists(job.default_archive())) << "a truncated archive has the final name";
  EXPECT_EQ(temp_archives(job.output_dir()), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(job.success_file()));
  EXPECT_TRUE(contents(job.model_dir()) == before) << "the model directory changed";
}

TEST_F(FaultLocal, UnreadableFileInModel) {
  // Root reads mode-000 files anyway, so smrun runs without CAP_DAC_OVERRIDE and
  // CAP_DAC_READ_SEARCH (setpriv), like an unprivileged container user.
  const FaultRow row = row_for("unreadable-model-file");
  if (::access("/usr/bin/setpriv", X_OK) != 0)
    GTEST_SKIP() << "*** SKIPPED: /usr/bin/setpriv (util-linux) is missing";
  job.write_code_file("train.py",
                      "import os\n"
                      "p = os.path.join(os.environ['SM_MODEL_DIR'], 'secret.bin')\n"
                      "open(p, 'w').write('weights')\n"
                      "os.chmod(p, 0)\n");
  const auto started = Clock::now();
  // required: a pack problem fails the job (by default it is an error and the job succeeds).
  auto smrun = start({{"SMRUN_PACK_MODEL", "required"}},
                     {"/usr/bin/setpriv", "--inh-caps=-dac_override,-dac_read_search",
                      "--bounding-set=-dac_override,-dac_read_search", "--"});
  auto r = smrun->wait_for(60s);
  ASSERT_TRUE(r.has_value()) << smrun_err();
  expect_verdicts(row, {observe(*r, job)}, {r->err});
  expect_teardown_within_bound(row, since(started));
  EXPECT_FALSE(fs::exists(job.default_archive()));
  EXPECT_EQ(temp_archives(job.output_dir()), std::vector<std::string>{});
}

TEST_F(FaultLocal, SpecialFilesInModel) {
  // A FIFO would block a reader forever, a socket and a device node cannot be archived: they
  // are skipped with a warning, and the rest of the model is packed.
  const FaultRow row = row_for("special-files-in-model");
  job.write_code_file(
      "train.py",
      "import os, socket, stat\n"
      "m = os.environ['SM_MODEL_DIR']\n"
      "open(os.path.join(m, 'model.txt'), 'w').write('weights')\n"
      "os.mkfifo(os.path.join(m, 'fifo'))\n"
      "s = socket.socket(socket.AF_UNIX)\n"
      "s.bind(os.path.join(m, 'sock'))\n"
      "os.mknod(os.path.join(m, 'null'), 0o600 | stat.S_IFCHR, os.makedev(1, 3))\n");
  const auto started = Clock::now();
  ProcessResult r = job.run_train({}, 60s);
  expect_verdicts(row, {observe(r, job)}, {r.err});
  expect_teardown_within_bound(row, since(started));
  for (const char* name : {"fifo", "sock", "null"})
    EXPECT_NE(r.err.find(std::string("skipping ") + job.model_dir().string() + "/" + name),
              std::string::npos)
        << name << "\n"
        << r.err;
  EXPECT_EQ(tar_members(job.default_archive()), std::vector<std::string>{"model.txt"});
}

// Two ranks exit 0 leaving behind: a `sleep 1000` in their process group, and a
// DataLoader-like worker that double-forks into its own session and ignores SIGTERM. Each
// process records its pid; the rank announces its exit with a file.
constexpr const char* kLeavesChildrenBehind = R"PY(import os, pathlib, signal, subprocess, sys
scratch = pathlib.Path(os.environ["E2E_SCRATCH"])
rank = os.environ["RANK"]
def record(name, pid):
    tmp = scratch / ("pid-%s.tmp" % name)
    tmp.write_text(str(pid))
    tmp.rename(scratch / ("pid-" + name))
record("rank" + rank, os.getpid())
sleeper = subprocess.Popen(["sleep", "1000"])
record("sleep" + rank, sleeper.pid)
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        record("daemon" + rank, os.getpid())
        os.write(w, b"x")
        signal.pause()
    os._exit(0)
os.read(r, 1)
(scratch / ("exiting-" + rank)).write_text("")
sys.exit(0)
)PY";

TEST_F(FaultLocal, GrandchildrenLeftBehind) {
  const FaultRow row = row_for("grandchildren-left-behind");
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "train.py"}, {"sagemaker_torch_distributed_enabled", true}});
  job.write_code_file("train.py", kLeavesChildrenBehind);
  auto smrun = start({{"SMRUN_NPROC_PER_NODE", "2"}, {"SMRUN_TERM_GRACE_SECONDS", "2"}});
  ASSERT_TRUE(wait_for_file(job.scratch() / "exiting-0", 60s)) << smrun_err();
  ASSERT_TRUE(wait_for_file(job.scratch() / "exiting-1", 60s)) << smrun_err();
  const auto injected = Clock::now();
  auto r = smrun->wait_for(row.bound + 20s);
  ASSERT_TRUE(r.has_value()) << smrun_err();
  const auto teardown = since(injected);
  const std::vector<pid_t> pids = recorded_pids(job.scratch());
  EXPECT_EQ(pids.size(), 6u);
  expect_verdicts(row, {observe(*r, job)}, {r->err});
  expect_teardown_within_bound(row, teardown);
  expect_all_gone(pids, row.id);
  EXPECT_TRUE(fs::exists(job.success_file()));
}

TEST(FaultMatrix, ReliabilityTableIsInSync) {
  ProcessOptions options;
  options.argv = {"/usr/bin/python3",
                  (source_dir() / "tools" / "gen_reliability_table.py").string(), "--check"};
  options.env = Env{{"PATH", "/usr/bin:/bin"}};
  options.cwd = source_dir();
  ProcessResult r = run_process(options);
  EXPECT_EQ(r.exit_code, 0) << "tools/gen_reliability_table.py --check failed:\n" << r.out << r.err;
}

}  // namespace
}  // namespace smrun::test::e2e
