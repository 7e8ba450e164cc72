#include "smrun/local/layout.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>

#include <fstream>
#include <random>
#include <system_error>

#include "smrun/base/printable.hpp"
#include "smrun/base/sys_error.hpp"
#include "smrun/base/unique_fd.hpp"
#include "smrun/config/py_json.hpp"

namespace smrun::local {

namespace fs = std::filesystem;
using base::ErrorKind;
using base::fail;
using config::PyValue;

namespace {

// A TCP port the kernel has free on every address (bound on the wildcard address, so neither a
// torch store listening on all addresses nor another job's smrun holds it), released at once.
base::Expected<int> free_port() {
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(ErrorKind::kInternal, "socket: " + base::errno_text(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail(ErrorKind::kInternal, "bind to a free port: " + base::errno_text(errno));
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return fail(ErrorKind::kInternal, "getsockname: " + base::errno_text(errno));
  return static_cast<int>(ntohs(addr.sin_port));
}

base::Status write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    return fail(ErrorKind::kInternal,
                fmt::format("cannot write {}", base::printable(path.string())));
  return {};
}

base::Status make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return fail(ErrorKind::kInternal,
                fmt::format("cannot create {}: {}", base::printable(dir.string()), ec.message()));
  return {};
}

PyValue string_list(const std::vector<HostDir>& hosts) {
  config::PyList names;
  for (const HostDir& h : hosts) names.push_back(PyValue::str(h.name));
  return PyValue::list(std::move(names));
}

}  // namespace

std::string dotted(std::uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff,
                     address & 0xff);
}

base::Expected<Network> choose_network(int hosts, const std::string& first) {
  Network net;
  if (!first.empty()) {
    in_addr a{};
    if (::inet_pton(AF_INET, first.c_str(), &a) != 1)
      return fail(ErrorKind::kUsage,
                  fmt::format("--first-address {}: expected an IPv4 address such as 127.0.0.2",
                              base::printable(first)));
    net.first_address = ntohl(a.s_addr);
    const std::uint32_t last = net.first_address + static_cast<std::uint32_t>(hosts - 1);
    if ((net.first_address >> 24) != 127 || (last >> 24) != 127 || (net.first_address & 0xff) == 0)
      return fail(ErrorKind::kUsage,
                  fmt::format("--first-address {}: expected a loopback address (127.x.y.z, z "
                              "not 0) with room for {} hosts in 127.0.0.0/8",
                              first, hosts));
  } else {
    std::random_device rd;
    const std::uint32_t b1 = 1 + rd() % 254, b2 = 1 + rd() % 254;
    net.first_address = (127u << 24) | (b1 << 16) | (b2 << 8) | 1u;
  }
  auto master = free_port();
  if (!master) return base::Unexpected(master.error());
  auto control = free_port();
  if (!control) return base::Unexpected(control.error());
  for (int tries = 0; *control == *master && tries < 8; ++tries) control = free_port();
  if (!control) return base::Unexpected(control.error());
  net.master_port = *master;
  net.control_port = *control;
  return net;
}

base::Expected<std::vector<HostDir>> write_layout(const LocalJob& job, const Network& network) {
  std::vector<HostDir> hosts;
  for (int i = 0; i < job.hosts; ++i)
    hosts.push_back(HostDir{"algo-" + std::to_string(i + 1),
                            dotted(network.first_address + static_cast<std::uint32_t>(i)),
                            job.output_dir / ("algo-" + std::to_string(i + 1))});

  config::PyDict input_data;
  for (const Channel& c : job.channels) {
    PyValue channel = PyValue::dict();
    if (!c.content_type.empty()) channel.set("ContentType", PyValue::str(c.content_type));
    channel.set("TrainingInputMode", PyValue::str("File"));
    channel.set("S3DistributionType", PyValue::str("FullyReplicated"));
    channel.set("RecordWrapperType", PyValue::str("None"));
    input_data.emplace_back(c.name, std::move(channel));
  }
  const std::string input_data_text = config::dump_py_json_indented(PyValue::dict(input_data));
  const std::string hyperparameters_text =
      config::dump_py_json_indented(PyValue::dict(job.hyperparameters));

  for (const HostDir& host : hosts) {
    const fs::path config_dir = host.base / "input" / "config";
    for (const fs::path& dir : {config_dir, host.base / "input" / "data", host.base / "model",
                                host.base / "output" / "data", host.base / "code"})
      if (auto st = make_dir(dir); !st) return base::Unexpected(st.error());

    PyValue group = PyValue::dict();
    group.set("instance_group_name", PyValue::str("homogeneousCluster"));
    group.set("instance_type", PyValue::str(job.instance_type));
    group.set("hosts", string_list(hosts));
    PyValue resource = PyValue::dict();
    resource.set("current_host", PyValue::str(host.name));
    resource.set("current_instance_type", PyValue::str(job.instance_type));
    resource.set("current_group_name", PyValue::str("homogeneousCluster"));
    resource.set("hosts", string_list(hosts));
    resource.set("instance_groups", PyValue::list({std::move(group)}));
    resource.set("network_interface_name", PyValue::str("lo"));

    if (auto st = write_file(config_dir / "hyperparameters.json", hyperparameters_text); !st)
      return base::Unexpected(st.error());
    if (auto st =
            write_file(config_dir / "resourceconfig.json", config::dump_py_json_indented(resource));
        !st)
      return base::Unexpected(st.error());
    if (auto st = write_file(config_dir / "inputdataconfig.json", input_data_text); !st)
      return base::Unexpected(st.error());
    if (job.checkpoint_dir) {
      PyValue checkpoint = PyValue::dict();
      checkpoint.set("LocalPath", PyValue::str(job.checkpoint_dir->string()));
      checkpoint.set("S3Uri", PyValue::str(job.checkpoint_uri.value_or("")));
      if (auto st = write_file(config_dir / "checkpointconfig.json",
                               config::dump_py_json_indented(checkpoint));
          !st)
        return base::Unexpected(st.error());
    }
    // The channel's data is the user's directory itself, as local mode bind-mounts it.
    for (const Channel& c : job.channels) {
      std::error_code ec;
      fs::create_directory_symlink(c.dir, host.base / "input" / "data" / c.name, ec);
      if (ec)
        return fail(ErrorKind::kInternal,
                    fmt::format("cannot link channel {} to {}: {}", c.name,
                                base::printable(c.dir.string()), ec.message()));
    }
  }
  return hosts;
}

std::vector<supervise::ProcessSpec> host_processes(const LocalJob& job, const Network& network,
                                                   const std::vector<HostDir>& hosts,
                                                   const fs::path& self,
                                                   const std::vector<std::string>& base_env) {
  std::string addresses;
  for (const HostDir& h : hosts)
    addresses += (addresses.empty() ? "" : ",") + h.name + "=" + h.address;

  // Later entries replace earlier ones of the same name.
  std::vector<std::pair<std::string, std::string>> common = {
      {"TRAINING_JOB_NAME", job.job_name},
      {"SMRUN_HOST_ADDRESSES", addresses},
      {"SMRUN_MASTER_ADDR_IP", "1"},
      {"SMRUN_MASTER_PORT", std::to_string(network.master_port)},
      {"SMRUN_CONTROL_PORT", std::to_string(network.control_port)},
      // The job's archives are made from every host's trees once all have ended.
      {"SMRUN_PACK_MODEL", "0"},
  };
  if (job.nproc_per_node) {
    common.emplace_back("SMRUN_LAUNCHER", "native");
    common.emplace_back("SMRUN_NPROC_PER_NODE", std::to_string(*job.nproc_per_node));
  }
  for (const auto& kv : job.environment) common.push_back(kv);

  std::vector<supervise::ProcessSpec> specs;
  for (const HostDir& host : hosts) {
    std::vector<std::pair<std::string, std::string>> set = common;
    set.emplace_back("SAGEMAKER_BASE_DIR", host.base.string());
    // Everything on this machine talks over loopback, unless the user chose otherwise.
    std::vector<std::string> env;
    bool has_gloo_ifname = false;
    for (const std::string& item : base_env) {
      const std::string name = item.substr(0, item.find('='));
      if (name == "GLOO_SOCKET_IFNAME") has_gloo_ifname = true;
      const bool replaced =
          std::any_of(set.begin(), set.end(), [&](const auto& kv) { return kv.first == name; });
      if (!replaced) env.push_back(item);
    }
    if (!has_gloo_ifname && std::none_of(set.begin(), set.end(), [](const auto& kv) {
          return kv.first == "GLOO_SOCKET_IFNAME";
        }))
      set.emplace_back("GLOO_SOCKET_IFNAME", "lo");
    // The last of several same-named entries wins (the request's Environment over smrun's).
    for (std::size_t i = 0; i < set.size(); ++i) {
      bool later = false;
      for (std::size_t j = i + 1; j < set.size(); ++j)
        later = later || set[j].first == set[i].first;
      if (!later) env.push_back(set[i].first + "=" + set[i].second);
    }
    supervise::ProcessSpec spec;
    spec.argv = {self.string(), "train"};
    spec.env = std::move(env);
    spec.label = host.name;
    spec.host = host.name;
    spec.nested_labels = true;
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace smrun::local
