#include "e2e/job_fixture.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace smrun::test::e2e {

namespace {

// Python's json.dumps separators: ", " between items, ": " after keys.
void dump_python_style(const nlohmann::ordered_json& value, std::string& out) {
  if (value.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : value.items()) {
      if (!first) out += ", ";
      first = false;
      out += nlohmann::ordered_json(k).dump(-1, ' ', true);
      out += ": ";
      dump_python_style(v, out);
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& v : value) {
      if (!first) out += ", ";
      first = false;
      dump_python_style(v, out);
    }
    out += ']';
  } else {
    out += value.dump(-1, ' ', true);
  }
}

fs::path tar_binary() {
  for (const char* candidate : {"/usr/bin/tar", "/bin/tar"})
    if (access(candidate, X_OK) == 0) return candidate;
  return "/usr/bin/tar";
}

}  // namespace

std::string sdk_json_dumps(const nlohmann::ordered_json& value) {
  std::string out;
  dump_python_style(value, out);
  return out;
}

std::string compact_sorted_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', true);
}

JobDir::JobDir() : m_base(m_tmp.path() / "opt_ml"), m_scratch(m_tmp.path() / "scratch") {
  fs::create_directories(m_base / "input" / "config");
  fs::create_directories(m_base / "code");
  fs::create_directories(m_scratch);
  fs::create_directories(m_tmp.path() / "home");
  write_resource_config(R"({"current_host": "algo-1", "hosts": ["algo-1"]})");
}

void JobDir::write_hyperparameters(const std::map<std::string, std::string>& raw_values) const {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  for (const auto& [k, v] : raw_values) doc[k] = v;
  write_hyperparameters_json(sdk_json_dumps(doc));
}

void JobDir::write_sdk_hyperparameters(const nlohmann::ordered_json& decoded) const {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  for (const auto& [k, v] : decoded.items()) doc[k] = sdk_json_dumps(v);
  write_hyperparameters_json(sdk_json_dumps(doc));
}

void JobDir::write_hyperparameters_json(const std::string& text) const {
  write_file(config_dir() / "hyperparameters.json", text);
}
void JobDir::write_resource_config(const std::string& text) const {
  write_file(config_dir() / "resourceconfig.json", text);
}
void JobDir::write_input_data_config(const std::string& text) const {
  write_file(config_dir() / "inputdataconfig.json", text);
}
void JobDir::write_checkpoint_config(const std::string& text) const {
  write_file(config_dir() / "checkpointconfig.json", text);
}
void JobDir::write_code_file(const std::string& rel, const std::string& content,
                             bool executable) const {
  write_file(code_dir() / rel, content, executable);
}

Env JobDir::environment(const Env& extra) const {
  Env env{
      {"PATH", "/usr/local/bin:/usr/bin:/bin"},
      {"HOME", (m_tmp.path() / "home").string()},
      {"SAGEMAKER_BASE_DIR", m_base.string()},
      {"SMRUN_PYTHON", "/usr/bin/python3"},
      {"SMRUN_NUM_CPUS", "4"},
      {"SMRUN_NUM_GPUS", "0"},
      {"SMRUN_NUM_NEURONS", "0"},
      {"E2E_SCRATCH", m_scratch.string()},
      // A job with an s3:// URL and no credentials would otherwise ask the EC2 metadata
      // address for some: tests never send anything there.
      {"AWS_EC2_METADATA_DISABLED", "true"},
  };
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

ProcessResult JobDir::run_smrun(const std::vector<std::string>& args, const Env& env,
                                std::chrono::milliseconds timeout) const {
  ProcessOptions options;
  options.argv = {smrun_binary().string()};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = env;
  options.cwd = m_tmp.path();
  options.timeout = timeout;
  ProcessResult r = run_process(options);
  EXPECT_FALSE(r.timed_out) << "smrun did not finish within " << timeout.count() << " ms\n"
                            << r.err;
  return r;
}

ProcessResult JobDir::run_train(const Env& extra, std::chrono::milliseconds timeout) const {
  return run_smrun({"train"}, environment(extra), timeout);
}

ProcessResult JobDir::run_train_after_mount(const std::vector<std::string>& mount_args,
                                            const Env& extra,
                                            std::chrono::milliseconds timeout) const {
  ProcessOptions options;
  // Fixed script; smrun's path and the mount arguments are its arguments.
  options.argv = {"/usr/bin/unshare",
                  "-m",
                  "--propagation",
                  "private",
                  "/bin/sh",
                  "-c",
                  "s=$1; shift; mount \"$@\" && exec \"$s\" train",
                  "sh",
                  smrun_binary().string()};
  options.argv.insert(options.argv.end(), mount_args.begin(), mount_args.end());
  options.env = environment(extra);
  options.cwd = m_tmp.path();
  options.timeout = timeout;
  ProcessResult r = run_process(options);
  EXPECT_FALSE(r.timed_out) << "smrun did not finish within " << timeout.count() << " ms\n"
                            << r.err;
  return r;
}

ProcessResult JobDir::run_env(const std::vector<std::string>& args, const Env& extra,
                              std::chrono::milliseconds timeout) const {
  std::vector<std::string> all{"env"};
  all.insert(all.end(), args.begin(), args.end());
  return run_smrun(all, environment(extra), timeout);
}

Env without(Env env, const std::vector<std::string>& names) {
  for (const auto& n : names) env.erase(n);
  return env;
}

const char* const kPythonProbe = R"PY(import json
import os
import sys

record = {"argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd(), "sys_path": sys.path}
with open(os.environ["E2E_PROBE_OUT"], "w", encoding="utf-8") as f:
    json.dump(record, f)
model_dir = os.environ["SM_MODEL_DIR"]
with open(os.path.join(model_dir, "model.txt"), "w") as f:
    f.write("weights")
os.makedirs(os.path.join(model_dir, "sub"), exist_ok=True)
with open(os.path.join(model_dir, "sub", "extra.bin"), "wb") as f:
    f.write(bytes(range(256)) * 64)
print("probe done", flush=True)
)PY";

nlohmann::json read_probe(const fs::path& path) {
  if (!fs::exists(path)) {
    ADD_FAILURE() << "probe output " << path << " was not written (the entry point did not run?)";
    return nullptr;
  }
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "probe output " << path << " is not JSON: " << e.what();
    return nullptr;
  }
}

std::vector<std::string> read_nul_records(const fs::path& path) {
  std::vector<std::string> out;
  const std::string data = read_file(path);
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t nul = data.find('\0', start);
    if (nul == std::string::npos) {
      out.push_back(data.substr(start));  // unterminated tail
      break;
    }
    out.push_back(data.substr(start, nul - start));
    start = nul + 1;
  }
  return out;
}

std::vector<std::string> tar_members(const fs::path& archive) {
  ProcessOptions options;
  options.argv = {tar_binary().string(), "--quoting-style=literal", "-tzf", archive.string()};
  options.env = Env{{"PATH", "/usr/bin:/bin"}};
  options.timeout = 30s;
  ProcessResult r = run_process(options);
  EXPECT_EQ(r.exit_code, 0) << "tar -tzf " << archive << " failed: " << r.err;
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start < r.out.size()) {
    std::size_t nl = r.out.find('\n', start);
    if (nl == std::string::npos) nl = r.out.size();
    std::string name = r.out.substr(start, nl - start);
    start = nl + 1;
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    if (name.empty() || name.back() == '/') continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool wait_for_file(const fs::path& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::error_code ec;
  while (!fs::exists(path, ec)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);  // polling a file a worker writes, bounded by deadline
  }
  return true;
}

std::vector<std::string> tree_snapshot(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = fs::relative(it->path(), root).string();
    if (it->is_symlink(ec)) {
      out.push_back(rel + " -> " + fs::read_symlink(it->path(), ec).string());
    } else if (it->is_directory(ec)) {
      out.push_back(rel + "/");
    } else {
      out.push_back(rel + " (" + std::to_string(it->file_size(ec)) + " bytes)");
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<pid_t> processes_with_marker(const std::string& marker) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == getpid()) continue;
    std::string cmdline;
    try {
      cmdline = read_file(entry.path() / "cmdline");
    } catch (const std::exception&) {
      continue;  // exited while we looked
    }
    if (cmdline.find(marker) != std::string::npos) pids.push_back(pid);
  }
  return pids;
}

std::string first_line(const std::string& text) {
  return line_at(text, 0);
}

std::string line_at(const std::string& text, std::size_t index) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < index; ++i) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) return "";
    start = nl + 1;
  }
  std::size_t nl = text.find('\n', start);
  return text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
}

namespace {

bool try_pip_venv(const fs::path& dir, const std::vector<std::string>& flags, std::string& log) {
  fs::remove_all(dir);
  ProcessOptions create;
  create.argv = {"/usr/bin/python3", "-m", "venv"};
  create.argv.insert(create.argv.end(), flags.begin(), flags.end());
  create.argv.push_back(dir.string());
  create.env = Env{{"PATH", "/usr/bin:/bin"}, {"HOME", dir.parent_path().string()}};
  create.timeout = 100s;
  ProcessResult r = run_process(create);
  log += r.out + r.err;
  if (r.exit_code != 0) return false;
  ProcessOptions pip;
  pip.argv = {(dir / "bin" / "python").string(), "-m", "pip", "--version"};
  pip.env = Env{{"PATH", "/usr/bin:/bin"}, {"PIP_DISABLE_PIP_VERSION_CHECK", "1"}};
  pip.timeout = 60s;
  ProcessResult p = run_process(pip);
  log += p.out + p.err;
  return p.exit_code == 0;
}

}  // namespace

bool make_pip_venv(const fs::path& dir, std::string& log) {
  // ensurepip takes ~20 s on a loaded machine: only when borrowing python3-pip fails.
  return try_pip_venv(dir, {"--without-pip", "--system-site-packages"}, log) ||
         try_pip_venv(dir, {}, log);
}

Env offline_pip_env(const fs::path& venv, Env extra) {
  extra["SMRUN_PYTHON"] = (venv / "bin" / "python").string();
  extra["PIP_NO_INDEX"] = "1";
  extra["PIP_NO_BUILD_ISOLATION"] = "0";  // pip's inverted spelling: disables isolation
  extra["PIP_DISABLE_PIP_VERSION_CHECK"] = "1";
  extra["PIP_NO_CACHE_DIR"] = "1";
  return extra;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const Env& env,
                                     const fs::path& stdout_file, const fs::path& stderr_file)
    : m_stdout_file(stdout_file), m_stderr_file(stderr_file) {
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> args;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  const std::string out_path = stdout_file.string();
  const std::string err_path = stderr_file.string();

  m_pid = fork();
  if (m_pid < 0) throw std::runtime_error("fork failed");
  if (m_pid == 0) {
    setpgid(0, 0);  // own group: cleanup can kill the whole tree
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  setpgid(m_pid, m_pid);
  m_pidfd = static_cast<int>(syscall(SYS_pidfd_open, m_pid, 0));
  if (m_pidfd < 0) throw std::runtime_error(std::string("pidfd_open: ") + std::strerror(errno));
}

BackgroundProcess::~BackgroundProcess() {
  if (!m_reaped && m_pid > 0) {
    kill(-m_pid, SIGKILL);
    kill(m_pid, SIGKILL);
    int status = 0;
    while (waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (m_pidfd >= 0) close(m_pidfd);
}

std::optional<ProcessResult> BackgroundProcess::wait_for(std::chrono::milliseconds timeout) {
  if (m_reaped) throw std::logic_error("process already reaped");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = 0ms;
    pollfd p{m_pidfd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return std::nullopt;
    break;
  }
  int status = 0;
  while (waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_reaped = true;
  // Anything the process left behind in its group is not the test's business any more.
  kill(-m_pid, SIGKILL);
  ProcessResult r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  r.out = read_file(m_stdout_file);
  r.err = read_file(m_stderr_file);
  return r;
}

}  // namespace smrun::test::e2e
