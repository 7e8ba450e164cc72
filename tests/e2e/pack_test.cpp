// `smrun pack DIR OUT`: the model packer on its own, checked with the system tar and Python's
// tarfile (what SageMaker-side tooling uses to read model.tar.gz).

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

fs::path tar_path() {
  return fs::exists("/usr/bin/tar") ? "/usr/bin/tar" : "/bin/tar";
}

ProcessResult run_tool(std::vector<std::string> argv) {
  ProcessOptions options;
  options.argv = std::move(argv);
  options.env = Env{{"PATH", "/usr/bin:/bin"}};
  options.timeout = 60s;
  return run_process(options);
}

class PackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src = job.scratch() / "model";
    write_file(src / "a.txt", "hello\n");
    // Larger than one 2 MiB compression block, half random (incompressible), half repetitive.
    std::mt19937 rng(42);
    std::string big(6 << 20, '\0');
    for (std::size_t i = 0; i < big.size() / 2; ++i) big[i] = static_cast<char>(rng() & 0xff);
    for (std::size_t i = big.size() / 2; i < big.size(); ++i)
      big[i] = static_cast<char>('a' + i % 7);
    write_file(src / "sub" / "b.bin", big);
    write_file(src / "exec.sh", "#!/bin/sh\n", true);
    fs::permissions(src / "exec.sh", static_cast<fs::perms>(0755), fs::perm_options::replace);
    fs::create_directories(src / "empty_dir");
    fs::create_symlink("a.txt", src / "link");
    write_file(src / "unicod\xc3\xa9 name.txt", "u\n");
  }
  ProcessResult pack(const fs::path& out) {
    return job.run_smrun({"pack", src.string(), out.string()}, job.environment());
  }
  JobDir job;
  fs::path src;
};

TEST_F(PackTest, SystemTarListsEntriesInArchiveOrderAndExtractsExactly) {
  const fs::path out = job.scratch() / "model.tar.gz";
  ProcessResult r = pack(out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ProcessResult list =
      run_tool({tar_path().string(), "--quoting-style=literal", "-tzf", out.string()});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out,
            "a.txt\nempty_dir/\nexec.sh\nlink\nsub/\nsub/b.bin\nunicod\xc3\xa9 name.txt\n");

  const fs::path dest = job.scratch() / "extracted";
  fs::create_directories(dest);
  ProcessResult x = run_tool({tar_path().string(), "-xzf", out.string(), "-C", dest.string()});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  EXPECT_EQ(tree_snapshot(dest), tree_snapshot(src));
  EXPECT_EQ(read_file(dest / "sub" / "b.bin"), read_file(src / "sub" / "b.bin"));
  EXPECT_EQ(read_file(dest / "a.txt"), "hello\n");
  EXPECT_TRUE(fs::is_symlink(dest / "link"));
  EXPECT_EQ(fs::read_symlink(dest / "link"), "a.txt");
  struct stat st {};
  ASSERT_EQ(stat((dest / "exec.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(PackTest, PythonTarfileReadsTheMultiMemberGzip) {
  const fs::path out = job.scratch() / "model.tar.gz";
  ASSERT_EQ(pack(out).exit_code, 0);
  ProcessResult py =
      run_tool({"/usr/bin/python3", "-c",
                "import hashlib, sys, tarfile\n"
                "with tarfile.open(sys.argv[1], 'r:gz') as t:\n"
                "    data = t.extractfile('sub/b.bin').read()\n"
                "    print(len(t.getnames()), len(data), hashlib.sha256(data).hexdigest())\n",
                out.string()});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  ProcessResult sum = run_tool({"/usr/bin/sha256sum", (src / "sub" / "b.bin").string()});
  ASSERT_EQ(sum.exit_code, 0) << sum.err;
  EXPECT_EQ(py.out, "7 " + std::to_string(6 << 20) + " " + sum.out.substr(0, 64) + "\n");
}

TEST_F(PackTest, OutputIsDeterministic) {
  const fs::path one = job.scratch() / "one.tar.gz";
  const fs::path two = job.scratch() / "two.tar.gz";
  ASSERT_EQ(pack(one).exit_code, 0);
  ASSERT_EQ(pack(two).exit_code, 0);
  EXPECT_TRUE(read_file(one) == read_file(two)) << "two packs of the same tree differ";
}

TEST_F(PackTest, MissingDirectoryFailsAndLeavesNoOutput) {
  const fs::path out = job.scratch() / "never.tar.gz";
  ProcessResult r =
      job.run_smrun({"pack", (job.scratch() / "nope").string(), out.string()}, job.environment());
  EXPECT_EQ(r.exit_code, 68) << r.err;
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(PackTest, WrongArgumentCountIsUsageError) {
  ProcessResult r = job.run_smrun({"pack", src.string()}, job.environment());
  EXPECT_EQ(r.exit_code, 64) << r.err;
}

// After the program succeeded, packing is best effort unless SMRUN_PACK_MODEL=required: a failed
// pack is logged as an error and the job still succeeds with the model dir intact.
TEST(TrainPacking, FailedPackAfterSuccessIsAnErrorNotAFailedJob) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import os\n"
                      "open(os.path.join(os.environ['SM_MODEL_DIR'], 'w.bin'), 'w').write('x')\n");
  // A directory that does not exist: the archive's temp file cannot be created.
  const std::string archive = (job.scratch() / "missing-dir" / "model.tar.gz").string();
  ProcessResult r = job.run_train({{"SMRUN_MODEL_ARCHIVE", archive}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(job.success_file()));
  EXPECT_FALSE(fs::exists(job.failure_file()));
  EXPECT_EQ(read_file(job.model_dir() / "w.bin"), "x");
  EXPECT_NE(r.err.find("the program succeeded, so the job still does, and the model stays in " +
                       job.model_dir().string() +
                       " (SMRUN_PACK_MODEL=required would fail the job instead)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Reporting training SUCCESS"), std::string::npos) << r.err;

  ProcessResult req =
      job.run_train({{"SMRUN_MODEL_ARCHIVE", archive}, {"SMRUN_PACK_MODEL", "required"}});
  EXPECT_EQ(req.exit_code, 68) << req.err;
  EXPECT_FALSE(fs::exists(job.success_file()));
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_EQ(read_file(job.failure_file()).rfind("ModelPackError: cannot write " + archive, 0), 0u)
      << read_file(job.failure_file());
}

// An archive that cannot fit is not attempted: as root, output/ is a 1 MiB tmpfs in a private
// mount namespace and the model holds 4 MiB of random bytes.
TEST(TrainPacking, ArchiveThatCannotFitIsSkipped) {
  if (::geteuid() != 0) GTEST_SKIP() << "*** SKIPPED: needs root to mount a small tmpfs";
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import os\n"
                      "open(os.path.join(os.environ['SM_MODEL_DIR'], 'w.bin'), 'wb')"
                      ".write(os.urandom(4 << 20))\n");
  fs::create_directories(job.output_dir());
  for (const char* mode : {"1", "required"}) {
    ProcessResult r = job.run_train_after_mount(
        {"-t", "tmpfs", "-o", "size=1m", "smrun-test", job.output_dir().string()},
        {{"SMRUN_PACK_MODEL", mode}});
    const std::string expected = "not packing " + job.model_dir().string() + " into " +
                                 (job.output_dir() / "model.tar.gz").string() +
                                 ": its file system has ";
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(" MiB free and the archive may need up to 5.0 MiB"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.exit_code, std::string(mode) == "required" ? 68 : 0) << r.err;
    EXPECT_EQ(fs::file_size(job.model_dir() / "w.bin"), 4u << 20);
  }
}

}  // namespace
}  // namespace smrun::test::e2e
