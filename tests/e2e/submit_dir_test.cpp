// Getting the code: sourcedir.tar.gz (file:// URI or plain path), a submit directory, the
// code-dir-wins rule and the unsupported s3:// case.

#include <gtest/gtest.h>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

// A train.py that writes `tag` to $E2E_SCRATCH/ran_from plus its argv, and a helper module that
// proves sibling files were unpacked too.
std::string marker_script(const std::string& tag) {
  return "import os, sys\n"
         "import helper\n"
         "with open(os.path.join(os.environ['E2E_SCRATCH'], 'ran_from'), 'w') as f:\n"
         "    f.write('" +
         tag + "' + ' ' + helper.WORD + ' ' + ' '.join(sys.argv[1:]))\n";
}

class SubmitDirTest : public ::testing::Test {
 protected:
  // Writes the source tree to scratch/src and packs it as scratch/sourcedir.tar.gz.
  fs::path make_tarball(const std::string& tag) {
    const fs::path src = job.scratch() / "src";
    write_file(src / "train.py", marker_script(tag));
    write_file(src / "helper.py", "WORD = 'helped'\n");
    const fs::path tarball = job.scratch() / "sourcedir.tar.gz";
    ProcessOptions options;
    options.argv = {fs::exists("/usr/bin/tar") ? "/usr/bin/tar" : "/bin/tar",
                    "-czf",
                    tarball.string(),
                    "-C",
                    src.string(),
                    "."};
    options.env = Env{{"PATH", "/usr/bin:/bin"}};
    ProcessResult r = run_process(options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return tarball;
  }
  void use_submit_dir(const std::string& uri) {
    job.write_sdk_hyperparameters(
        {{"sagemaker_program", "train.py"}, {"sagemaker_submit_directory", uri}, {"lr", 0.5}});
  }
  std::string ran_from() const {
    const fs::path marker = job.scratch() / "ran_from";
    return fs::exists(marker) ? read_file(marker) : "<did not run>";
  }
  JobDir job;
};

TEST_F(SubmitDirTest, FileUriTarballIsExtractedAndRun) {
  fs::path tarball = make_tarball("tarball");
  use_submit_dir("file://" + tarball.string());
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ran_from(), "tarball helped --lr 0.5");
  EXPECT_TRUE(fs::exists(job.code_dir() / "train.py"));
  EXPECT_TRUE(fs::exists(job.code_dir() / "helper.py"));
  EXPECT_TRUE(fs::exists(job.success_file()));
}

TEST_F(SubmitDirTest, PlainPathTarballIsExtractedAndRun) {
  fs::path tarball = make_tarball("tarball");
  use_submit_dir(tarball.string());
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ran_from(), "tarball helped --lr 0.5");
}

TEST_F(SubmitDirTest, LocalDirectoryIsCopiedAndRun) {
  make_tarball("directory");
  use_submit_dir((job.scratch() / "src").string());
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ran_from(), "directory helped --lr 0.5");
  EXPECT_TRUE(fs::exists(job.scratch() / "src" / "train.py"));  // source left alone
}

TEST_F(SubmitDirTest, NonEmptyCodeDirWinsOverSubmitDir) {
  fs::path tarball = make_tarball("tarball");
  job.write_code_file("train.py", marker_script("codedir"));
  job.write_code_file("helper.py", "WORD = 'local'\n");
  use_submit_dir("file://" + tarball.string());
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ran_from(), "codedir local --lr 0.5");
}

TEST_F(SubmitDirTest, SubmitDirectoryVariableIsUsedWithoutHyperparameter) {
  // smrun deviation (docs/compatibility.md): SAGEMAKER_SUBMIT_DIRECTORY is honoured when the
  // hyperparameter is absent (the quickstart relies on it).
  fs::path tarball = make_tarball("tarball");
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  ProcessResult r = job.run_train({{"SAGEMAKER_SUBMIT_DIRECTORY", "file://" + tarball.string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ran_from(), "tarball helped ");
}

TEST_F(SubmitDirTest, S3SubmitDirWithoutCredentialsIsAClearCodeError) {
  // No credentials anywhere (the job's environment disables instance metadata, so nothing is
  // contacted); downloads themselves are tested in tests/s3 against a real S3 server.
  use_submit_dir("s3://my-bucket/prefix/sourcedir.tar.gz");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 66) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(failure.rfind("UserCodeError: cannot download s3://my-bucket/prefix/sourcedir.tar.gz: "
                          "no AWS credentials found; tried environment",
                          0),
            0u)
      << failure;
  EXPECT_NE(failure.find("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)"),
            std::string::npos)
      << failure;
  EXPECT_FALSE(fs::exists(job.success_file()));
}

TEST_F(SubmitDirTest, MissingSubmitPathIsACodeError) {
  use_submit_dir((job.scratch() / "nope.tar.gz").string());
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 66) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_NE(read_file(job.failure_file()).find("nope.tar.gz"), std::string::npos);
}

// A truncated or corrupt archive is an error naming it, not a file copied into code/ (after which
// the job failed with Python's "can't open file 'train.py'"): by name, and by gzip magic.
TEST_F(SubmitDirTest, CorruptOrTruncatedArchiveIsACodeError) {
  const std::string whole = read_file(make_tarball("tarball"));
  const fs::path truncated = job.scratch() / "truncated.tar.gz";
  write_file(truncated, whole.substr(0, whole.size() / 2));
  const fs::path renamed = job.scratch() / "code-bundle";  // gzip magic, no archive name
  write_file(renamed, whole.substr(0, 40));
  const fs::path junk = job.scratch() / "junk.tgz";
  write_file(junk, "this is not an archive at all\n");
  for (const fs::path& bad : {truncated, renamed, junk}) {
    fs::remove_all(job.code_dir());
    fs::remove_all(job.output_dir());
    use_submit_dir(bad.string());
    ProcessResult r = job.run_train();
    EXPECT_EQ(r.exit_code, 66) << bad << r.err;
    EXPECT_EQ(ran_from(), "<did not run>");
    EXPECT_FALSE(fs::exists(job.code_dir() / bad.filename())) << "copied as a file: " << bad;
    ASSERT_TRUE(fs::exists(job.failure_file())) << r.err;
    const std::string failure = read_file(job.failure_file());
    EXPECT_EQ(failure.rfind("UserCodeError: cannot extract " + bad.string() + ": ", 0), 0u)
        << failure;
    EXPECT_NE(failure.substr(0, failure.find('\n')).find(bad.string()), std::string::npos)
        << failure;
  }
}

TEST_F(SubmitDirTest, TarballEscapingTheCodeDirIsRefused) {
  // An archive member "../evil.py" must not be written outside the code dir.
  const fs::path src = job.scratch() / "evil_src" / "inner";
  write_file(src / "train.py", "print('hi')\n");
  write_file(job.scratch() / "evil_src" / "evil.py", "print('evil')\n");
  const fs::path tarball = job.scratch() / "evil.tar.gz";
  ProcessOptions options;
  options.argv = {fs::exists("/usr/bin/tar") ? "/usr/bin/tar" : "/bin/tar",
                  "-P",
                  "-czf",
                  tarball.string(),
                  "-C",
                  src.string(),
                  "train.py",
                  "../evil.py"};
  options.env = Env{{"PATH", "/usr/bin:/bin"}};
  ProcessResult packed = run_process(options);
  ASSERT_EQ(packed.exit_code, 0) << packed.err;
  use_submit_dir(tarball.string());
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 66) << r.err;
  EXPECT_FALSE(fs::exists(job.base() / "evil.py"));
  EXPECT_FALSE(fs::exists(job.code_dir() / "train.py"))
      << "a refused archive must leave code/ empty";
}

}  // namespace
}  // namespace smrun::test::e2e
