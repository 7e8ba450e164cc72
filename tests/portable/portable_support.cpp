#include "portable/portable_support.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

namespace smrun::test::portable {

namespace {

std::string getenv_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// `tar ARGS...` on the host (run_process does no PATH lookup).
ProcessResult host_tar(const std::vector<std::string>& args) {
  ProcessOptions options;
  options.argv = {::access("/usr/bin/tar", X_OK) == 0 ? "/usr/bin/tar" : "/bin/tar"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = Env{{"PATH", "/usr/bin:/bin"}, {"LC_ALL", "C"}};
  options.timeout = 60s;
  return run_process(options);
}

}  // namespace

bool prerequisites_required() {
  return getenv_or("SMRUN_PORTABLE_REQUIRED", "0") == "1";
}

fs::path dist_smrun() {
  return getenv_or("SMRUN_DIST_BINARY", (source_dir() / "dist" / "smrun").string());
}

fs::path roots_dir() {
  return getenv_or("SMRUN_ROOTS_DIR", "/var/cache/smrun-roots");
}

std::string dist_smrun_version() {
  ProcessOptions options;
  options.argv = {dist_smrun().string(), "version"};
  options.env = Env{{"PATH", "/usr/bin:/bin"}};
  const ProcessResult r = run_process(options);
  EXPECT_EQ(r.exit_code, 0) << dist_smrun() << " version: " << r.err;
  EXPECT_EQ(r.out.rfind("smrun " SMRUN_PROJECT_VERSION, 0), 0u) << r.out;
  return r.out;
}

std::string missing_root_privileges() {
  if (::geteuid() == 0) return "";
  return "needs root (chroot, mount and PID namespaces, debootstrapped roots, podman)";
}

std::string missing_dist_smrun() {
  const fs::path binary = dist_smrun();
  if (::access(binary.c_str(), X_OK) != 0)
    return binary.string() + " is missing: run scripts/package.sh";
  return "";
}

std::string missing_cached_root(const std::string& suite) {
  const fs::path root = roots_dir() / suite;
  if (!fs::exists(root / ".smrun-root-recipe"))
    return "no cached " + suite + " root at " + root.string() + ": run scripts/make-roots.sh " +
           suite;
  return "";
}

Env container_env(const Env& extra) {
  Env env{{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
          {"HOME", "/root"}};
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

Container Container::plain() {
  Container c;
  c.m_tmp = std::make_unique<TempDir>();
  c.m_root = c.m_upper = c.m_tmp->path() / "root";
  c.m_job = c.m_root / "opt" / "ml";
  fs::create_directories(c.m_job);
  c.copy(dist_smrun(), "/usr/local/bin/smrun");
  return c;
}

Container Container::over(const fs::path& cached_root) {
  Container c;
  c.m_tmp = std::make_unique<TempDir>();
  // Resolved: overlayfs takes the real directory, not the cache's <suite> symlink.
  c.m_lower = fs::canonical(cached_root);
  c.m_upper = c.m_tmp->path() / "upper";
  c.m_work = c.m_tmp->path() / "work";
  c.m_root = c.m_tmp->path() / "root";
  c.m_job = c.m_tmp->path() / "opt_ml";
  for (const fs::path& dir : {c.m_upper / "opt" / "ml", c.m_work, c.m_root, c.m_job})
    fs::create_directories(dir);
  c.copy(dist_smrun(), "/usr/local/bin/smrun");
  return c;
}

fs::path Container::writable(const std::string& inside) const {
  return m_upper / fs::path(inside).relative_path();
}

void Container::write(const std::string& inside, const std::string& content,
                      bool executable) const {
  write_file(writable(inside), content, executable);
}

void Container::copy(const fs::path& host_file, const std::string& inside) const {
  const fs::path target = writable(inside);
  fs::create_directories(target.parent_path());
  fs::copy_file(host_file, target, fs::copy_options::overwrite_existing);
}

void Container::mkdir(const std::string& inside) const {
  fs::create_directories(writable(inside));
}

void Container::symlink(const std::string& target, const std::string& inside) const {
  const fs::path link = writable(inside);
  fs::create_directories(link.parent_path());
  fs::create_symlink(target, link);
}

std::optional<e2e::NamespaceInit> Container::start(const std::vector<std::string>& argv,
                                                   const Env& env, e2e::Unavailable& unavailable,
                                                   bool mount_proc, bool dev_null) const {
  e2e::InitSpec spec;
  spec.root = m_root;
  spec.mount_proc = mount_proc;
  spec.bind_dev_null = dev_null;
  spec.stdout_file = stdout_file();
  spec.stderr_file = stderr_file();
  if (!m_lower.empty()) {
    spec.mounts.push_back({"overlay", m_root, "overlay", 0,
                           "lowerdir=" + m_lower.string() + ",upperdir=" + m_upper.string() +
                               ",workdir=" + m_work.string()});
    spec.mounts.push_back({m_job.string(), m_root / "opt" / "ml", "", MS_BIND, ""});
  }
  return e2e::NamespaceInit::start(spec, argv, env, unavailable);
}

ProcessResult Container::run(const std::vector<std::string>& argv, const Env& env,
                             std::chrono::milliseconds timeout, bool mount_proc,
                             bool dev_null) const {
  e2e::Unavailable unavailable;
  auto init = start(argv, env, unavailable, mount_proc, dev_null);
  if (!init) {
    ADD_FAILURE() << "cannot start the container: " << unavailable.reason;
    return {};
  }
  auto result = init->wait_for(timeout);
  if (!result) {
    ADD_FAILURE() << argv[0] << " (PID 1 in " << m_root << ") did not exit within "
                  << std::chrono::duration_cast<std::chrono::seconds>(timeout).count() << " s";
    return {};  // the NamespaceInit destructor SIGKILLs the namespace
  }
  return *result;
}

std::string write_quickstart_job(const fs::path& job) {
  const fs::path example = source_dir() / "examples" / "quickstart";
  fs::copy(example / "opt_ml", job, fs::copy_options::recursive);
  const ProcessResult tar = host_tar(
      {"-czf", (job / "sourcedir.tar.gz").string(), "-C", (example / "code").string(), "."});
  EXPECT_EQ(tar.exit_code, 0) << "tar: " << tar.err;
  return "file:///opt/ml/sourcedir.tar.gz";
}

void expect_quickstart_succeeded(const fs::path& job, const ProcessResult& r,
                                 const std::string& where) {
  SCOPED_TRACE("quickstart job " + where);
  ASSERT_EQ(r.exit_code, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_NE(r.out.find("epoch=60 mse="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("saved model to /opt/ml/model/model.json"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(job / "output" / "success"));
  EXPECT_FALSE(fs::exists(job / "output" / "failure"))
      << e2e::first_line(read_file(job / "output" / "failure"));
  const fs::path archive = job / "output" / "model.tar.gz";
  ASSERT_TRUE(fs::exists(archive)) << r.err;
  EXPECT_EQ(e2e::tar_members(archive), std::vector<std::string>{"model.json"});
  const ProcessResult model = host_tar({"-xzOf", archive.string(), "model.json"});
  ASSERT_EQ(model.exit_code, 0) << model.err;
  const auto doc = nlohmann::json::parse(model.out);
  // hyperparameters.json rendered into argv exactly: --epochs 60 --lr 0.05 --batch-size 16 ...
  EXPECT_EQ(doc["hyperparameters"],
            nlohmann::json({{"epochs", 60}, {"lr", 0.05}, {"batch_size", 16}, {"seed", 7}}));
  // data.csv is target = 3*x1 - 2*x2 + 0.5 + noise.
  EXPECT_NEAR(doc["weights"][0].get<double>(), 3.0, 0.1);
  EXPECT_NEAR(doc["weights"][1].get<double>(), -2.0, 0.1);
  EXPECT_NEAR(doc["bias"].get<double>(), 0.5, 0.1);
  EXPECT_LT(doc["train_mse"].get<double>(), 0.01);
}

void write_shell_job(const fs::path& job) {
  fs::create_directories(job / "input" / "config");
  fs::create_directories(job / "code");
  write_file(job / "input" / "config" / "resourceconfig.json",
             R"({"current_host": "algo-1", "hosts": ["algo-1"]})");
  write_file(job / "input" / "config" / "hyperparameters.json",
             e2e::sdk_json_dumps(
                 {{"epochs", "3"}, {"mode", "\"fast\""}, {"sagemaker_program", "\"train.sh\""}}));
  write_file(job / "code" / "train.sh", R"SH(#!/bin/sh
echo "args: $*"
echo "host: $SM_CURRENT_HOST hps: $SM_HPS"
mkdir -p "$SM_MODEL_DIR/sub"
echo weights > "$SM_MODEL_DIR/model.txt"
echo extra > "$SM_MODEL_DIR/sub/extra.txt"
)SH",
             true);
}

}  // namespace smrun::test::portable
