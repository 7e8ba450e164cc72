#include "smrun/launch/mpi_plan.hpp"

#include <cctype>

#include "smrun/config/py_json.hpp"
#include "smrun/launch/instance_profile.hpp"

namespace smrun::launch {
namespace {

constexpr std::string_view kNcclDebugFlag = "--NCCL_DEBUG";

// str.split(): runs of ASCII whitespace separate tokens.
std::vector<std::string> split_whitespace(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

// argparse accepts "--NCCL_DEBUG" and any abbreviation of it ("--N", "--NCCL").
bool names_nccl_debug(std::string_view option) {
  return option.size() > 2 && option.starts_with("--") && kNcclDebugFlag.starts_with(option);
}

class CommandBuilder {
 public:
  explicit CommandBuilder(const env::EnvSnapshot& process_env) : m_env(process_env) {}

  void add(std::initializer_list<std::string> items) { m_cmd.insert(m_cmd.end(), items); }
  void add_all(const std::vector<std::string>& items) {
    m_cmd.insert(m_cmd.end(), items.begin(), items.end());
  }
  void mca(const std::string& key, const std::string& value) { add({"-mca", key, value}); }
  // -x NAME=value, or -x NAME when the user already set NAME: mpirun then exports their value.
  void export_default(const std::string& name, const std::string& value) {
    add({"-x", env::lookup(m_env, name) ? name : name + "=" + value});
  }
  void export_name(const std::string& name) { add({"-x", name}); }
  std::vector<std::string> take() { return std::move(m_cmd); }

 private:
  const env::EnvSnapshot& m_env;
  std::vector<std::string> m_cmd;
};

std::string host_list(const std::vector<std::string>& hosts, int slots, bool with_slots) {
  std::string out;
  for (const auto& host : hosts) {
    if (!out.empty()) out += ",";
    out += with_slots ? host + ":" + std::to_string(slots) : host;
  }
  return out;
}

void add_credentials_and_names(CommandBuilder& b, const MpiInputs& in) {
  for (const char* credential : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})
    if (env::lookup(in.process_env, credential)) b.export_name(credential);
  for (const auto& name : in.forwarded_names) b.export_name(name);
}

}  // namespace

base::Expected<CustomMpiOptions> parse_custom_mpi_options(std::string_view text,
                                                          std::string_view source) {
  CustomMpiOptions out;
  const std::vector<std::string> tokens = split_whitespace(text);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    const auto eq = token.find('=');
    const std::string_view option = std::string_view(token).substr(0, eq);
    if (!names_nccl_debug(option)) {
      out.extra.push_back(token);
      continue;
    }
    if (eq != std::string::npos) {
      out.nccl_debug = token.substr(eq + 1);
    } else if (i + 1 < tokens.size() && !tokens[i + 1].starts_with("-")) {
      out.nccl_debug = tokens[++i];
    } else {
      return base::fail(base::ErrorKind::kConfig, "hyperparameter " + std::string(source) + ": " +
                                                      token + " expects a value");
    }
  }
  return out;
}

ModelParallelOptions modelparallel_options(const ModelParallelInputs& in) {
  ModelParallelOptions out;
  if (!in.mp_parameters || *in.mp_parameters == "{}" || in.mp_parameters->empty()) return out;
  if (in.dlc_torch_version) {
    out.mpi_options = {"-x", "NCCL_PROTO=simple"};
    const std::string& v = *in.dlc_torch_version;
    int major = 0;
    std::size_t i = 0;
    for (; i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])) && major < 1000; ++i)
      major = major * 10 + (v[i] - '0');
    if (i > 0 && major > 1) out.mpi_options.insert(out.mpi_options.end(), {"-x", "NCCL_ALGO=ring"});
  }
  std::string backend = "auto";
  if (auto doc = config::parse_py_json(*in.mp_parameters); doc && doc->is_dict())
    if (const config::PyValue* b = doc->find("ddp_dist_backend"); b != nullptr && b->is_str())
      backend = b->as_str();
  if (backend == "auto" && in.smddpmprun_installed)
    out.program_prefix = {"smddpmprun", "-i", in.instance_type, "--allow-bypass"};
  return out;
}

base::Expected<std::vector<std::string>> mpirun_command(const MpiInputs& in) {
  auto custom = parse_custom_mpi_options(in.custom_options, in.custom_options_source);
  if (!custom) return base::Unexpected(custom.error());
  const auto profile = instance_profile(in.instance_type);
  const bool efa = profile && profile->efa;
  const bool rdma = profile && profile->device_rdma;
  const int num_hosts = static_cast<int>(in.hosts.size());
  const std::string& iface = in.interface_name;
  const bool smddp = in.flavour == MpiFlavor::kSmDataParallel;

  CommandBuilder b(in.process_env);
  if (!smddp) {
    const int np = in.num_processes.value_or(in.processes_per_host * num_hosts);
    b.add({"mpirun", "--host",
           host_list(in.hosts, in.processes_per_host, in.processes_per_host != 1), "-np",
           std::to_string(np), "--allow-run-as-root", "--display-map", "--tag-output"});
    b.mca("btl_tcp_if_include", iface);
    b.mca("oob_tcp_if_include", iface);
    b.mca("plm_rsh_no_tree_spawn", "1");
    b.add({"-bind-to", "none", "-map-by", "slot"});
    b.mca("pml", "ob1");
    b.mca("btl", "^openib");
    b.mca("orte_abort_on_non_zero_status", "1");
    b.mca("btl_vader_single_copy_mechanism", "none");
    if (in.rsh_agent) b.mca("plm_rsh_agent", *in.rsh_agent);
    b.export_default("NCCL_MIN_NRINGS", "4");
    b.export_default("NCCL_SOCKET_IFNAME", iface);
  } else {
    // One host: the bare name (mpirun --oversubscribe fills it); several: host:slots.
    b.add({"mpirun", "--host", host_list(in.hosts, in.processes_per_host, num_hosts > 1), "-np",
           std::to_string(in.processes_per_host * num_hosts), "--allow-run-as-root", "--tag-output",
           "--oversubscribe"});
    b.mca("btl_tcp_if_include", iface);
    b.mca("oob_tcp_if_include", iface);
    b.mca("plm_rsh_no_tree_spawn", "1");
    b.mca("pml", "ob1");
    b.mca("btl", "^openib");
    b.mca("orte_abort_on_non_zero_status", "1");
    b.mca("btl_vader_single_copy_mechanism", "none");
    b.mca("plm_rsh_num_concurrent", std::to_string(num_hosts));
    if (in.rsh_agent) b.mca("plm_rsh_agent", *in.rsh_agent);
    b.export_default("NCCL_SOCKET_IFNAME", iface);
  }
  // An explicit --NCCL_DEBUG beats the environment; otherwise the user's NCCL_DEBUG beats INFO.
  if (custom->nccl_debug)
    b.add({"-x", "NCCL_DEBUG=" + *custom->nccl_debug});
  else
    b.export_default("NCCL_DEBUG", "INFO");
  b.add({"-x", "LD_LIBRARY_PATH", "-x", "PATH"});

  if (!smddp) {
    b.add_all(custom->extra);
    if (efa) {
      b.export_default("FI_PROVIDER", "efa");
      b.export_default("NCCL_PROTO", "simple");
    }
    if (rdma) {
      b.export_default("FI_EFA_USE_DEVICE_RDMA", "1");
      b.export_default("RDMAV_FORK_SAFE", "1");  // smrun: always paired with RDMA
    }
    add_credentials_and_names(b, in);
    const ModelParallelOptions mp = modelparallel_options(in.model_parallel);
    b.add_all(mp.mpi_options);
    b.add_all(mp.program_prefix);
  } else {
    b.add({"-x",
           num_hosts > 1 ? "SMDATAPARALLEL_USE_HOMOGENEOUS=1" : "SMDATAPARALLEL_USE_SINGLENODE=1"});
    b.export_default("FI_PROVIDER", "efa");
    b.export_default("RDMAV_FORK_SAFE", "1");
    b.add_all(custom->extra);
    if (efa) b.export_default("NCCL_PROTO", "simple");
    if (rdma) b.export_default("FI_EFA_USE_DEVICE_RDMA", "1");
    if (num_hosts > 1)
      b.add({"-x", "SMDATAPARALLEL_SERVER_ADDR=" + in.master_host, "-x",
             "SMDATAPARALLEL_SERVER_PORT=" + std::to_string(kSmDataParallelServerPort), "-x",
             "SAGEMAKER_INSTANCE_TYPE=" + in.instance_type});
    // The reference relies on workers' /etc/environment here; smrun never writes it, so the
    // SM_* variables travel by name like the MPI runner's.
    add_credentials_and_names(b, in);
    if (in.smddprun_installed) b.add({"smddprun"});
  }
  b.add_all(in.program);
  return b.take();
}

}  // namespace smrun::launch
