// The images in docker/, built and run for real with podman (no Docker engine and no registry
// here): the base image is imported from the cached trixie root (scripts/make-roots.sh), each
// Dockerfile is built on it with the repository root as context, and jobs run through
// `podman run IMAGE train` with the job's /opt/ml mounted, as SageMaker's local mode does.
//
// Registered with ctest as three steps (tests/CMakeLists.txt): portable.image_build (a ctest
// fixture setup), portable.image_run (needs it) and portable.image_cleanup (the fixture's
// cleanup, which ctest runs even when the others fail). podman keeps everything in its own
// store under SMRUN_PODMAN_DIR (default /var/tmp/smrun-podman) and reads its settings from
// tests/portable/podman/ and that directory, never from /etc/containers or ~/.config.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "portable/portable_support.hpp"

namespace smrun::test::portable {
namespace {

constexpr const char* kBaseSuite = "trixie";
const std::string kBaseImage = "localhost/smrun-portable-base:trixie";
// The DLC stand-in: the base plus a toolkit-like `train` in /opt/conda/bin, first on PATH.
const std::string kDlcLikeBaseImage = "localhost/smrun-portable-base:trixie-dlc-like";

struct Variant {
  const char* name;
  const char* dockerfile;
  bool dlc_like_base;  // built on kDlcLikeBaseImage
};
constexpr Variant kVariants[] = {
    {"generic", "docker/Dockerfile", false},
    {"pytorch", "docker/Dockerfile.pytorch", true},
    {"neuron", "docker/Dockerfile.neuron", true},
};

void PrintTo(const Variant& v, std::ostream* os) {
  *os << v.dockerfile;
}

std::string image_of(const Variant& v) {
  return std::string("localhost/smrun-portable:") + v.name;
}

fs::path podman_dir() {
  const char* dir = std::getenv("SMRUN_PODMAN_DIR");
  return dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::path("/var/tmp/smrun-podman");
}

fs::path podman_binary() {
  for (const char* candidate : {"/usr/bin/podman", "/bin/podman"})
    if (::access(candidate, X_OK) == 0) return candidate;
  return {};
}

// podman with the self-contained store and settings, bounded like every process in the tests.
ProcessOptions podman_command(const std::vector<std::string>& args,
                              std::chrono::milliseconds timeout = 120s) {
  const fs::path dir = podman_dir();
  const fs::path conf = source_dir() / "tests" / "portable" / "podman";
  for (const char* sub : {"home", "tmp"}) fs::create_directories(dir / sub);
  // The store: overlay, under `dir` (storage.conf needs absolute paths, hence written here).
  const fs::path storage_conf = dir / "storage.conf";
  const std::string storage = "[storage]\ndriver = \"overlay\"\ngraphroot = \"" +
                              (dir / "storage").string() + "\"\nrunroot = \"" +
                              (dir / "run").string() + "\"\n";
  if (!fs::exists(storage_conf) || read_file(storage_conf) != storage)
    write_file(storage_conf, storage);
  ProcessOptions options;
  options.argv = {podman_binary().string(), "--tmpdir", (dir / "libpod").string()};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = Env{{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
                    {"HOME", (dir / "home").string()},
                    {"TMPDIR", (dir / "tmp").string()},
                    {"LC_ALL", "C"},
                    {"CONTAINERS_CONF", (conf / "containers.conf").string()},
                    {"CONTAINERS_STORAGE_CONF", storage_conf.string()},
                    {"CONTAINERS_REGISTRIES_CONF", (conf / "registries.conf").string()}};
  options.timeout = timeout;
  return options;
}

ProcessResult podman(const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = 120s) {
  return run_process(podman_command(args, timeout));
}

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
         "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// Runs `f`, reporting its wall time on stderr and as a test property (README quotes them).
template <typename F>
ProcessResult timed(const std::string& what, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  ProcessResult result = f();
  const long long ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::fprintf(stderr, "[portable] %s: %lld ms\n", what.c_str(), ms);
  ::testing::Test::RecordProperty(what, std::to_string(ms));
  return result;
}

// Removes every container and image of the store: all of them are this suite's.
void remove_everything() {
  podman({"rm", "--all", "--force", "--time", "0"});
  podman({"rmi", "--all", "--force"});
}

// `podman build` of `dockerfile` (relative to `context`) with BASE_IMAGE=`base`, no network.
ProcessResult build(const std::string& what, const fs::path& context, const std::string& dockerfile,
                    const std::string& base, const std::string& tag) {
  return timed(what, [&] {
    return podman(
        {"build", "--network", "none", "--pull=never", "--build-arg", "BASE_IMAGE=" + base,
         "--file", (context / dockerfile).string(), "--tag", tag, context.string()},
        300s);
  });
}

// A container the test started; removed (killed first) however the test ends.
class ContainerGuard {
 public:
  explicit ContainerGuard(std::string name) : m_name(std::move(name)) {
    podman({"rm", "--force", "--time", "0", m_name});  // left over from an interrupted run
  }
  ~ContainerGuard() { podman({"rm", "--force", "--time", "0", m_name}); }
  ContainerGuard(const ContainerGuard&) = delete;
  ContainerGuard& operator=(const ContainerGuard&) = delete;
  const std::string& name() const { return m_name; }

 private:
  std::string m_name;
};

class Image : public ::testing::Test {
 protected:
  void SetUp() override {
    SMRUN_PORTABLE_NEED(missing_root_privileges());
    SMRUN_PORTABLE_NEED(missing_dist_smrun());
    SMRUN_PORTABLE_NEED(missing_cached_root(kBaseSuite));
    SMRUN_PORTABLE_NEED(podman_binary().empty() ? "podman is missing: install Debian's podman"
                                                : "");
    const bool runc = ::access("/usr/sbin/runc", X_OK) == 0 || ::access("/usr/bin/runc", X_OK) == 0;
    SMRUN_PORTABLE_NEED(runc ? "" : "runc is missing: install Debian's runc");
  }
};

// --- portable.image_build ---------------------------------------------------------------------

TEST_F(Image, BuildEveryDockerfileOnALocalBase) {
  remove_everything();  // whatever an interrupted run left in the store
  const fs::path root = fs::canonical(roots_dir() / kBaseSuite);
  // Debian's published images set this PATH; an imported tarball has no configuration at all.
  ProcessOptions import = podman_command(
      {"import", "--change",
       "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "-", kBaseImage},
      300s);
  import.argv.insert(import.argv.begin(),
                     {"/bin/bash", "-c", "set -o pipefail; tar -C \"$1\" -c . | \"${@:2}\"",
                      "import", root.string()});
  ProcessResult r =
      timed("podman import of the cached trixie root", [&] { return run_process(import); });
  ASSERT_EQ(r.exit_code, 0) << describe(r);

  // A stand-in for an AWS Deep Learning Container: the Python toolkit's `train` console script
  // in /opt/conda/bin, which comes first on PATH.
  TempDir dlc;
  write_file(dlc.path() / "Containerfile",
             "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n"
             "RUN mkdir -p /opt/conda/bin && printf '#!/bin/sh\\n"
             "echo toolkit train\\n' > /opt/conda/bin/train && "
             "chmod +x /opt/conda/bin/train\n"
             "ENV PATH=/opt/conda/bin:$PATH\n");
  r = build("podman build of the DLC stand-in", dlc.path(), "Containerfile", kBaseImage,
            kDlcLikeBaseImage);
  ASSERT_EQ(r.exit_code, 0) << describe(r);

  // The build context is the repository root, as README documents; only when
  // SMRUN_DIST_BINARY names a binary elsewhere, a stand-in context holds it as dist/smrun.
  fs::path context = source_dir();
  TempDir stand_in;
  if (fs::weakly_canonical(dist_smrun()) != fs::weakly_canonical(context / "dist" / "smrun")) {
    context = stand_in.path();
    fs::copy(source_dir() / "docker", context / "docker", fs::copy_options::recursive);
    fs::copy_file(source_dir() / ".dockerignore", context / ".dockerignore");
    fs::create_directories(context / "dist");
    fs::copy_file(dist_smrun(), context / "dist" / "smrun");
  }
  for (const Variant& v : kVariants) {
    SCOPED_TRACE(v.dockerfile);
    r = build(std::string("podman build of ") + v.dockerfile, context, v.dockerfile,
              v.dlc_like_base ? kDlcLikeBaseImage : kBaseImage, image_of(v));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    r = podman({"image", "inspect", "--format", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}",
                image_of(v)});
    EXPECT_EQ(r.out, "[\"smrun\"] [\"train\"]\n") << describe(r);
    r = podman({"run", "--rm", "--network", "none", image_of(v), "version"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, dist_smrun_version()) << describe(r);
    // Whatever `train` the image's PATH finds first is smrun (in the DLC stand-in too, where it
    // replaced the toolkit's script).
    r = podman({"run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", image_of(v), "-c",
                "readlink -f \"$(command -v train)\"; for t in /opt/conda/bin/train; do "
                "[ -e $t ] && readlink -f $t; done; true"});
    EXPECT_EQ(r.out, v.dlc_like_base ? "/usr/local/bin/smrun\n/usr/local/bin/smrun\n"
                                     : "/usr/local/bin/smrun\n")
        << describe(r);
  }
}

// --- portable.image_run -----------------------------------------------------------------------

class ImageRun : public Image, public ::testing::WithParamInterface<Variant> {
 protected:
  void SetUp() override {
    Image::SetUp();
    if (IsSkipped() || HasFailure()) return;
    const ProcessResult r = podman({"image", "exists", image_of(GetParam())});
    ASSERT_EQ(r.exit_code, 0) << image_of(GetParam())
                              << " is not built: run the portable.image_build test first "
                                 "(ctest -L portable runs it as this test's fixture)";
  }
};

TEST_P(ImageRun, QuickstartJob) {
  TempDir tmp;
  const fs::path job = tmp.path() / "opt_ml";
  const std::string submit = write_quickstart_job(job);
  ContainerGuard container(std::string("smrun-portable-quickstart-") + GetParam().name);
  ProcessResult r = timed(std::string("podman run (quickstart job, ") + GetParam().name + ")", [&] {
    return podman({"run", "--rm", "--network", "none", "--name", container.name(), "--volume",
                   job.string() + ":/opt/ml", "--env", "SAGEMAKER_SUBMIT_DIRECTORY=" + submit,
                   image_of(GetParam()), "train"});
  });
  expect_quickstart_succeeded(job, r, std::string("in the image from ") + GetParam().dockerfile);
}

INSTANTIATE_TEST_SUITE_P(Dockerfiles, ImageRun, ::testing::ValuesIn(kVariants),
                         [](const auto& info) { return std::string(info.param.name); });

// `podman stop -t 5` on a running job: podman sends SIGTERM to PID 1 (smrun), smrun forwards it
// to the program, and the container's exit code is the job's verdict, long before the 5 s after
// which podman would SIGKILL.
struct StopCase {
  const char* name;
  const char* program;  // code/train.sh; writes /opt/ml/probe/ready once it waits
  int exit_code;        // of the container
  const char* failure;  // first line of output/failure
};

constexpr StopCase kStopCases[] = {
    {"ProgramTrapsSigterm",
     "#!/bin/sh\n"
     "trap 'echo TERM > /opt/ml/probe/term; exit 7' TERM\n"
     "sleep 1000 &\n"
     "echo ready > /opt/ml/probe/ready.tmp && mv /opt/ml/probe/ready.tmp /opt/ml/probe/ready\n"
     "wait\n"
     "echo \"wait returned $?\" > /opt/ml/probe/unexpected\n",
     7,
     "ExecuteUserScriptError: train.sh exited with code 7 on algo-1 after smrun received SIGTERM "
     "and forwarded it"},
    {"ProgramKilledBySigterm",
     "#!/bin/sh\n"
     "echo ready > /opt/ml/probe/ready.tmp && mv /opt/ml/probe/ready.tmp /opt/ml/probe/ready\n"
     "exec sleep 1000\n",
     143,
     "ExecuteUserScriptError: train.sh was killed by SIGTERM (signal 15) on algo-1 after smrun "
     "received SIGTERM and forwarded it"},
};

void PrintTo(const StopCase& c, std::ostream* os) {
  *os << c.name;
}

class ImageStop : public Image, public ::testing::WithParamInterface<StopCase> {
 protected:
  void SetUp() override {
    Image::SetUp();
    if (IsSkipped() || HasFailure()) return;
    ASSERT_EQ(podman({"image", "exists", image_of(kVariants[0])}).exit_code, 0)
        << image_of(kVariants[0]) << " is not built: run the portable.image_build test first";
  }
};

TEST_P(ImageStop, PodmanStopDeliversSigtermToTheProgram) {
  const StopCase& c = GetParam();
  TempDir tmp;
  const fs::path job = tmp.path() / "opt_ml";
  write_shell_job(job);  // the configuration; train.sh replaced below
  write_file(job / "code" / "train.sh", c.program, true);
  fs::create_directories(job / "probe");
  ContainerGuard container(std::string("smrun-portable-stop-") + c.name);
  ProcessResult r =
      podman({"run", "--detach", "--network", "none", "--name", container.name(), "--volume",
              job.string() + ":/opt/ml", image_of(kVariants[0]), "train"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(e2e::wait_for_file(job / "probe" / "ready", 60s))
      << "the program never wrote /opt/ml/probe/ready; container log:\n"
      << describe(podman({"logs", container.name()}));

  r = timed(std::string("podman stop -t 5 (") + c.name + ")", [&] {
    return podman({"stop", "--time", "5", container.name()});
  });
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const ProcessResult waited = podman({"wait", container.name()});
  EXPECT_EQ(waited.out, std::to_string(c.exit_code) + "\n") << describe(waited);
  const ProcessResult logs = podman({"logs", container.name()});
  EXPECT_NE(logs.err.find("received SIGTERM"), std::string::npos) << describe(logs);
  EXPECT_EQ(logs.err.find("SIGKILL"), std::string::npos) << describe(logs);

  if (c.exit_code == 7) {
    EXPECT_EQ(read_file(job / "probe" / "term"), "TERM\n");
  }
  EXPECT_FALSE(fs::exists(job / "probe" / "unexpected"));
  const fs::path failure = job / "output" / "failure";
  ASSERT_TRUE(fs::exists(failure)) << describe(logs);
  EXPECT_EQ(e2e::first_line(read_file(failure)), c.failure);
  EXPECT_FALSE(fs::exists(job / "output" / "success"));
}

INSTANTIATE_TEST_SUITE_P(Cases, ImageStop, ::testing::ValuesIn(kStopCases),
                         [](const auto& info) { return std::string(info.param.name); });

// --- portable.image_cleanup -------------------------------------------------------------------

TEST_F(Image, CleanupRemovesEveryContainerAndImage) {
  remove_everything();
  ProcessResult r = podman({"ps", "--all", "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "") << "containers left:\n" << r.out;
  r = podman({"images", "--all", "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "") << "images left:\n" << r.out;
}

}  // namespace
}  // namespace smrun::test::portable
