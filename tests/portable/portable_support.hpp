#pragma once

// The packaged binary (dist/smrun, made by scripts/package.sh) in foreign root filesystems: an
// empty root, a busybox-only root, and the Debian roots scripts/make-roots.sh caches outside the
// repository. Each "container" is smrun as PID 1 of new PID + mount namespaces, chroot'ed into
// its root (e2e/container_root's NamespaceInit), the job's /opt/ml in it.
//
// What these tests need (dist/smrun, the cached roots, root privileges, podman) is checked up
// front. Where it is missing the test is skipped with the reason, unless SMRUN_PORTABLE_REQUIRED=1
// (scripts/test.sh sets it in CI): then it fails, loudly.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "e2e/container_root.hpp"
#include "e2e/job_fixture.hpp"

namespace smrun::test::portable {

namespace fs = std::filesystem;
using e2e::Env;
using namespace std::chrono_literals;

// SMRUN_PORTABLE_REQUIRED=1: a missing prerequisite is a failure, not a skip.
bool prerequisites_required();

// dist/smrun (SMRUN_DIST_BINARY overrides).
fs::path dist_smrun();
// The cache scripts/make-roots.sh fills (SMRUN_ROOTS_DIR, default /var/cache/smrun-roots).
fs::path roots_dir();

// What `dist/smrun version` prints on this machine ("smrun X.Y.Z ..." and a newline): what it
// must print anywhere else too.
std::string dist_smrun_version();

// Why the test cannot run ("" when it can): not root, no dist/smrun, no cached root for `suite`.
std::string missing_root_privileges();
std::string missing_dist_smrun();
std::string missing_cached_root(const std::string& suite);

// The environment a container runtime gives an image without ENV: Docker's default PATH.
Env container_env(const Env& extra = {});

// Fails or skips (see above) the current test when `reason` is not empty. Only in a function
// returning void (SetUp or the test body), like GTEST_SKIP.
#define SMRUN_PORTABLE_NEED(reason_expr)                                                         \
  do {                                                                                           \
    const std::string smrun_portable_reason = (reason_expr);                                     \
    if (!smrun_portable_reason.empty()) {                                                        \
      if (::smrun::test::portable::prerequisites_required())                                     \
        FAIL() << "missing prerequisite (SMRUN_PORTABLE_REQUIRED=1): " << smrun_portable_reason; \
      GTEST_SKIP() << smrun_portable_reason;                                                     \
    }                                                                                            \
  } while (0)

// One container made from a root directory, with dist/smrun installed at
// /usr/local/bin/smrun:
//  - plain(): a root built by the test in a temp dir, empty but for what the test adds; the job
//    tree is written straight into <root>/opt/ml;
//  - over(cached): a root from the cache under an overlay (a temp upper dir takes every write,
//    the cached root is never modified; the init mounts it in its own mount namespace), and the
//    job tree is a host directory bind-mounted at /opt/ml, like `docker run -v job:/opt/ml`.
// Several containers may share one cached root, each with its own overlay and /opt/ml.
class Container {
 public:
  static Container plain();
  static Container over(const fs::path& cached_root);
  Container(Container&&) = default;

  // The host directory that is /opt/ml inside.
  const fs::path& job() const { return m_job; }
  // Writes a file into the root, before start() (into the overlay's upper dir for over()).
  void write(const std::string& inside, const std::string& content, bool executable = false) const;
  // Copies a host file into the root, before start().
  void copy(const fs::path& host_file, const std::string& inside) const;
  // A directory in the root (for plain roots: /proc, /dev, ...).
  void mkdir(const std::string& inside) const;
  // A symbolic link `inside` -> `target` in the root.
  void symlink(const std::string& target, const std::string& inside) const;

  // Starts `argv` as PID 1; nullopt (with the reason) when namespaces are refused. mount_proc
  // and dev_null: the init mounts the namespace's /proc and the host's /dev/null (both need the
  // mount point in the root).
  std::optional<e2e::NamespaceInit> start(const std::vector<std::string>& argv, const Env& env,
                                          e2e::Unavailable& unavailable, bool mount_proc = true,
                                          bool dev_null = true) const;
  // Starts and waits (bounded); fails the test if it does not end in `timeout`.
  ProcessResult run(const std::vector<std::string>& argv, const Env& env,
                    std::chrono::milliseconds timeout, bool mount_proc = true,
                    bool dev_null = true) const;

  fs::path stdout_file() const { return m_tmp->path() / "init.out"; }
  fs::path stderr_file() const { return m_tmp->path() / "init.err"; }

 private:
  Container() = default;
  fs::path writable(const std::string& inside) const;

  std::unique_ptr<TempDir> m_tmp;
  fs::path m_lower;  // overlay: the cached root
  fs::path m_upper;  // overlay: where the root's writes land; plain: the root itself
  fs::path m_work;   // overlay: overlayfs's work dir
  fs::path m_root;   // what the init chroots into (overlay: the mount point)
  fs::path m_job;
};

// Job helpers shared by the foreign-root and image tests.

// examples/quickstart as `scripts/run-example.sh` ships it: the opt_ml tree copied into `job`,
// the code as <job>/sourcedir.tar.gz. Returns the SAGEMAKER_SUBMIT_DIRECTORY value that names
// it from inside the container (file:///opt/ml/sourcedir.tar.gz).
std::string write_quickstart_job(const fs::path& job);
// Checks a finished quickstart job: exit 0, output/success, a model.tar.gz holding exactly
// model.json with the job's hyperparameters (epochs 60, lr 0.05, batch size 16, seed 7).
void expect_quickstart_succeeded(const fs::path& job, const ProcessResult& r,
                                 const std::string& where);

// A `#!/bin/sh` entry point job (any POSIX shell, busybox's included) in `job`: code/train.sh
// prints its argv, writes model/model.txt and model/sub/extra.txt.
void write_shell_job(const fs::path& job);

}  // namespace smrun::test::portable
