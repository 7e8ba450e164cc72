#include "smrun/env/devices.hpp"
#include "smrun/base/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <sstream>

#include "smrun/config/py_json.hpp"
#include "smrun/supervise/capture.hpp"

namespace smrun::env {
namespace {

// nvidia-smi can hang for minutes on a wedged driver; start-up must stay bounded.
constexpr auto kToolTimeout = std::chrono::seconds(15);

// Runs a tool (the one spawner, supervise/spawn) and returns its stdout if it exits 0 within the
// time limit.
std::optional<std::string> capture_tool(const EnvSnapshot& env, const std::string& exe,
                                        const std::vector<std::string>& args) {
  supervise::ProcessSpec spec;
  spec.argv.push_back(exe);
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  for (const auto& [k, v] : env) spec.env.push_back(k + "=" + v);
  spec.label = exe;
  auto result = supervise::run_and_capture(
      spec, std::chrono::duration_cast<std::chrono::milliseconds>(kToolTimeout));
  if (!result) {
    log::debug("running {} failed: {}", exe, result.error().message);
    return std::nullopt;
  }
  if (result->timed_out) {
    log::warn("{} did not finish within {}s; assuming no devices", exe, kToolTimeout.count());
    return std::nullopt;
  }
  if (result->exit_code != 0) return std::nullopt;
  return std::move(result->out);
}

}  // namespace

int count_gpus_in_nvidia_smi_output(std::string_view output) {
  int count = 0;
  std::size_t pos = 0;
  while (pos <= output.size()) {
    auto nl = output.find('\n', pos);
    auto line =
        output.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (line.substr(0, 4) == "GPU ") ++count;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return count;
}

int count_gpus_in_proc(const std::string& proc_dir) {
  std::error_code ec;
  int count = 0;
  for (auto it = std::filesystem::directory_iterator(proc_dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++count;
  return count;
}

std::optional<int> count_neuron_cores_in_neuron_ls_json(std::string_view json) {
  auto doc = config::parse_py_json(json);
  if (!doc || !doc->is_list()) return std::nullopt;
  long long total = 0;
  for (const auto& device : doc->as_list()) {
    const config::PyValue* nc = device.find("nc_count");
    if (nc == nullptr) return std::nullopt;
    auto n = nc->as_int64();
    if (!n || *n < 0) return std::nullopt;
    total += *n;
  }
  return static_cast<int>(total);
}

std::string resolve_on_path(const EnvSnapshot& env, std::string_view name) {
  auto path =
      lookup(env, "PATH").value_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + std::string(name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return {};
}

bool is_on_path(const EnvSnapshot& env, std::string_view name) {
  return !resolve_on_path(env, name).empty();
}

base::Expected<DeviceCounts> detect_devices(const EnvSnapshot& env,
                                            const settings::Settings& settings,
                                            const std::string& instance_type) {
  DeviceCounts counts;

  // multiprocessing.cpu_count(): online host CPUs, not the cgroup quota.
  counts.cpus = settings.num_cpus.value_or(static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));

  if (settings.num_gpus) {
    counts.gpus = *settings.num_gpus;
  } else if (auto smi = resolve_on_path(env, "nvidia-smi"); !smi.empty()) {
    auto out = capture_tool(env, smi, {"--list-gpus"});
    counts.gpus = out ? count_gpus_in_nvidia_smi_output(*out) : 0;
  } else {
    counts.gpus = count_gpus_in_proc();
  }

  if (settings.num_neurons) {
    counts.neurons = *settings.num_neurons;
  } else if (instance_type.find("trn2.48xlarge") != std::string::npos) {
    counts.neurons = 64;  // the reference hard-codes this (neuron-ls under-reports LNC=2 cores)
  } else if (auto ls = resolve_on_path(env, "neuron-ls"); !ls.empty()) {
    auto out = capture_tool(env, ls, {"-j"});
    if (out) {
      auto n = count_neuron_cores_in_neuron_ls_json(*out);
      if (!n)
        log::warn("neuron-ls -j printed JSON without nc_count entries; assuming 0 NeuronCores");
      counts.neurons = n.value_or(0);
    }
  }
  return counts;
}

}  // namespace smrun::env
