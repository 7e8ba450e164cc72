#pragma once

// A minimal container for smrun, built from files already on the machine: a root filesystem in
// a temp dir holding the built smrun binary with the shared libraries and dynamic loader it
// needs (found with ldd), a static busybox for the user program, and an /opt/ml tree. smrun is
// then started the way a container runtime starts an entrypoint: PID 1 of a new PID namespace,
// in a new mount namespace with its own /proc, chroot'ed into that root.
//
// Needs CAP_SYS_ADMIN (root). Every mount lives in the new mount namespace only, so it vanishes
// with the namespace's last process; the destructors still kill the namespace and detach any
// mount found below the root before the temp dir is removed.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace smrun::test::e2e {

namespace fs = std::filesystem;

class ContainerRoot {
 public:
  // Builds the root: /usr/bin/smrun, its libraries, /bin/busybox with applet links, /proc,
  // /dev/null (bind-mounted at start), /tmp, /probe (a scratch dir the test reads),
  // /opt/ml/{input/config,code,model,output}, and a single-host resourceconfig.json. Throws
  // std::runtime_error when a piece is missing.
  ContainerRoot();
  ~ContainerRoot();
  ContainerRoot(const ContainerRoot&) = delete;
  ContainerRoot& operator=(const ContainerRoot&) = delete;

  const fs::path& path() const { return m_root; }
  // A path inside the container ("/opt/ml/output/success") as seen from the test.
  fs::path outside(const std::string& inside) const;
  fs::path probe(const std::string& name) const { return outside("/probe/" + name); }
  // Files outside the root, for smrun's own stdout and stderr.
  fs::path stdout_file() const { return m_tmp.path() / "smrun.out"; }
  fs::path stderr_file() const { return m_tmp.path() / "smrun.err"; }

  void write_file(const std::string& inside, const std::string& content,
                  bool executable = false) const;

 private:
  void copy_into(const fs::path& host_file, const std::string& inside) const;
  void install_smrun();
  void install_busybox();
  void detach_mounts() const;

  TempDir m_tmp;
  fs::path m_root;
};

// Why the namespace could not be created, when the machine does not allow it.
struct Unavailable {
  std::string reason;
};

// A mount the container init makes in its own mount namespace before it chroots (mount(2)
// arguments; an empty fstype with MS_BIND is a bind mount).
struct InitMount {
  std::string source;
  fs::path target;  // outside the root, e.g. <root>/opt/ml
  std::string fstype;
  unsigned long flags = 0;
  std::string data;
};

// What NamespaceInit starts in: any root directory (a ContainerRoot, a debootstrapped tree, an
// overlay mounted by `mounts`), and where PID 1's stdout and stderr go.
struct InitSpec {
  fs::path root;
  std::vector<InitMount> mounts;  // made first, in order, in the new mount namespace
  bool mount_proc = true;         // the namespace's own /proc at <root>/proc
  bool bind_dev_null = true;      // the host's /dev/null over <root>/dev/null (must exist)
  fs::path stdout_file;
  fs::path stderr_file;
};

// smrun (or any program in the root) running as PID 1 of a new PID + mount namespace.
class NamespaceInit {
 public:
  // Starts `argv` (absolute path inside the root) with exactly `env`. Returns nullopt and fills
  // `unavailable` when the kernel refuses the namespaces (EPERM: not root, or no CAP_SYS_ADMIN);
  // throws on any other setup failure.
  static std::optional<NamespaceInit> start(const ContainerRoot& root,
                                            const std::vector<std::string>& argv,
                                            const std::map<std::string, std::string>& env,
                                            Unavailable& unavailable);
  static std::optional<NamespaceInit> start(const InitSpec& spec,
                                            const std::vector<std::string>& argv,
                                            const std::map<std::string, std::string>& env,
                                            Unavailable& unavailable);
  NamespaceInit(NamespaceInit&& other) noexcept;
  NamespaceInit& operator=(NamespaceInit&&) = delete;
  ~NamespaceInit();

  // PID 1's pid as seen from the test (parent namespace).
  pid_t outer_pid() const { return m_pid; }

  // Waits up to `timeout` for PID 1 to exit; nullopt on timeout (then it is still running).
  // Its stdout/stderr are read from the root's files.
  std::optional<ProcessResult> wait_for(std::chrono::milliseconds timeout);

 private:
  NamespaceInit(pid_t pid, int pidfd, fs::path out, fs::path err)
      : m_pid(pid), m_pidfd(pidfd), m_out(std::move(out)), m_err(std::move(err)) {}

  pid_t m_pid = -1;
  int m_pidfd = -1;
  bool m_reaped = false;
  fs::path m_out;
  fs::path m_err;
};

}  // namespace smrun::test::e2e
