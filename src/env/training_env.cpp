#include "smrun/env/training_env.hpp"

#include <algorithm>
#include <unordered_map>

#include "smrun/base/secrets.hpp"
#include "smrun/hyperparams/py_format.hpp"

namespace smrun::env {
namespace {

using config::PyDict;
using config::PyList;
using config::PyValue;

PyValue str_list(const std::vector<std::string>& items) {
  PyList out;
  out.reserve(items.size());
  for (const auto& s : items) out.push_back(PyValue::str(s));
  return PyValue::list(std::move(out));
}

PyValue opt_str(const std::optional<std::string>& s) {
  return s ? PyValue::str(*s) : PyValue();
}

// Masks values under secret-looking keys, at any depth (a dict hyperparameter can hold one).
PyValue redact(const PyValue& value) {
  if (value.is_dict()) {
    PyDict out;
    for (const auto& [k, v] : value.as_dict())
      out.emplace_back(k, base::is_secret_name(k) ? PyValue::str(base::kRedacted) : redact(v));
    return PyValue::dict(std::move(out));
  }
  if (value.is_list()) {
    PyList out;
    for (const auto& v : value.as_list()) out.push_back(redact(v));
    return PyValue::list(std::move(out));
  }
  return value;
}

// dict[key] = value with an index: PyValue::set scans linearly, which made 100 000
// hyperparameters (one SM_HP_* each) quadratic. Same semantics: a repeated key keeps its
// position and takes the new value.
class IndexedDict {
 public:
  explicit IndexedDict(PyDict initial) : m_dict(std::move(initial)) {
    for (std::size_t i = 0; i < m_dict.size(); ++i) m_index.emplace(m_dict[i].first, i);
  }
  void set(std::string key, PyValue value) {
    if (auto it = m_index.find(key); it != m_index.end()) {
      m_dict[it->second].second = std::move(value);
      return;
    }
    m_index.emplace(key, m_dict.size());
    m_dict.emplace_back(std::move(key), std::move(value));
  }
  const PyDict& items() const { return m_dict; }

 private:
  PyDict m_dict;
  std::unordered_map<std::string, std::size_t> m_index;
};

// Python's `x in container` for the two shapes sagemaker_distribution_instance_groups can take.
bool python_in(const std::string& needle, const PyValue& container) {
  if (container.is_list())
    return std::any_of(container.as_list().begin(), container.as_list().end(),
                       [&](const PyValue& v) { return v.is_str() && v.as_str() == needle; });
  if (container.is_str()) return container.as_str().find(needle) != std::string::npos;
  if (container.is_dict()) return container.find(needle) != nullptr;
  return false;
}

const char* const kDistributionFlags[] = {
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    "sagemaker_torch_distributed_enabled",
};

}  // namespace

TrainingEnv compute_training_env(const TrainingEnvInputs& in) {
  const config::JobConfig& job = *in.job;
  const EnvSnapshot& penv = *in.env;
  TrainingEnv e;
  e.paths = in.paths;
  e.resource = job.resource;
  e.input_data_config = job.input_data_config;
  e.checkpoint = job.checkpoint;
  e.devices = in.devices;
  e.settings = in.settings;
  e.smddprun_installed = in.smddprun_installed;
  e.smddpmprun_installed = in.smddpmprun_installed;

  PyDict decoded = hyperparams::decode_hyperparameters(job.hyperparameters);
  if (in.redact_secrets) decoded = redact(PyValue::dict(std::move(decoded))).as_dict();
  e.hyperparameters = hyperparams::split_hyperparameters(decoded);
  e.user_args = hyperparams::to_cmd_args(e.hyperparameters.user);
  const PyValue sm = PyValue::dict(e.hyperparameters.sagemaker);

  // Entry point: SAGEMAKER_PROGRAM wins over sagemaker_program (reference precedence). An empty
  // SAGEMAKER_PROGRAM counts as unset, as Python's `or` does.
  auto program_env = lookup(penv, "SAGEMAKER_PROGRAM");
  const PyValue* program_hp = sm.find("sagemaker_program");
  if (program_env && !program_env->empty()) {
    e.user_entry_point = *program_env;
  } else if (program_hp != nullptr && program_hp->truthy()) {
    e.user_entry_point = hyperparams::py_str(*program_hp);
  }
  std::string module =
      program_env ? *program_env : (program_hp ? hyperparams::py_str(*program_hp) : "None");
  if (module.size() >= 3 && module.ends_with(".py")) module.resize(module.size() - 3);
  e.module_name = module;

  // Submit directory: hyperparameter, then SAGEMAKER_SUBMIT_DIRECTORY (the reference reads but
  // discards the variable; smrun honours it, see docs/compatibility.md), then the code dir.
  if (const PyValue* dir = sm.find("sagemaker_submit_directory"); dir != nullptr) {
    e.module_dir = hyperparams::py_str(*dir);
  } else if (auto dir_env = lookup(penv, "SAGEMAKER_SUBMIT_DIRECTORY");
             dir_env && !dir_env->empty()) {
    e.module_dir = *dir_env;
  } else {
    e.module_dir = in.paths.code.string();
  }

  if (const PyValue* level = sm.find("sagemaker_container_log_level"); level != nullptr)
    e.log_level = *level;
  e.framework_module = lookup(penv, "SAGEMAKER_TRAINING_MODULE");
  e.job_name = lookup(penv, "TRAINING_JOB_NAME");
  if (const PyValue* jn = sm.find("sagemaker_job_name"); jn != nullptr)
    e.sagemaker_job_name = hyperparams::py_str(*jn);
  // sagemaker_region, else boto3's default region (AWS_DEFAULT_REGION), else "".
  if (const PyValue* region = sm.find("sagemaker_region"); region != nullptr && region->truthy())
    e.region = hyperparams::py_str(*region);
  else
    e.region = lookup(penv, "AWS_DEFAULT_REGION").value_or("");

  // mp_parameters and mp_parameters != "{}": None / "" / False / True.
  if (auto mp = lookup(penv, "SM_HP_MP_PARAMETERS"); mp) {
    if (mp->empty())
      e.is_modelparallel_enabled = PyValue::str("");
    else
      e.is_modelparallel_enabled = PyValue::boolean(*mp != "{}");
  }

  // Heterogeneous clusters (environment.py get_distribution_* / get_master_hostname).
  const config::ResourceConfig& rc = job.resource;
  const PyValue framework = PyValue::dict(e.hyperparameters.framework);
  if (const PyValue* groups = framework.find("sagemaker_distribution_instance_groups"); groups) {
    e.distribution_instance_groups = *groups;
  } else {
    bool any = std::any_of(std::begin(kDistributionFlags), std::end(kDistributionFlags),
                           [&](const char* flag) {
                             const PyValue* v = framework.find(flag);
                             return v != nullptr && v->truthy();
                           });
    e.distribution_instance_groups =
        any ? PyValue::list({PyValue::str(rc.current_group_name)}) : PyValue::list();
  }
  if (!rc.instance_groups.empty()) {
    for (const auto& group : rc.instance_groups)
      if (python_in(group.name, e.distribution_instance_groups))
        e.distribution_hosts.insert(e.distribution_hosts.end(), group.hosts.begin(),
                                    group.hosts.end());
  } else {
    e.distribution_hosts = rc.hosts;
  }
  for (const auto& group : rc.instance_groups) {
    if (group.name == rc.current_group_name) {
      e.current_instance_group_hosts = group.hosts;
      break;
    }
  }
  e.is_hetero = rc.instance_groups.size() > 1;
  e.master_hostname =
      e.distribution_hosts.empty() ? rc.hosts.front() : e.distribution_hosts.front();
  e.is_master = rc.current_host == e.master_hostname;
  e.distribution_enabled = python_in(rc.current_group_name, e.distribution_instance_groups);
  return e;
}

PyValue training_env_dict(const TrainingEnv& e) {
  const config::ResourceConfig& rc = e.resource;
  PyDict channels;
  if (e.input_data_config.is_dict())
    for (const auto& [name, _] : e.input_data_config.as_dict())
      channels.emplace_back(name, PyValue::str(e.paths.channel(name).string()));
  PyList group_names;
  PyDict groups_dict;
  for (const auto& g : rc.instance_groups) {
    group_names.push_back(PyValue::str(g.name));
    PyValue tmp = PyValue::dict(std::move(groups_dict));
    tmp.set(g.name, g.raw);
    groups_dict = std::move(tmp.as_dict());
  }
  const PyValue* hosts = rc.raw.find("hosts");
  PyDict d{
      {"additional_framework_parameters", PyValue::dict(e.hyperparameters.framework)},
      {"channel_input_dirs", PyValue::dict(std::move(channels))},
      {"current_host", PyValue::str(rc.current_host)},
      {"current_instance_group", PyValue::str(rc.current_group_name)},
      {"current_instance_group_hosts", str_list(e.current_instance_group_hosts)},
      {"current_instance_type", PyValue::str(rc.current_instance_type)},
      {"distribution_hosts", str_list(e.distribution_hosts)},
      {"distribution_instance_groups", e.distribution_instance_groups},
      {"framework_module", opt_str(e.framework_module)},
      {"hosts", hosts ? *hosts : str_list(rc.hosts)},
      {"hyperparameters", PyValue::dict(e.hyperparameters.user)},
      {"input_config_dir", PyValue::str(e.paths.input_config.string())},
      {"input_data_config", e.input_data_config},
      {"input_dir", PyValue::str(e.paths.input.string())},
      {"instance_groups", PyValue::list(std::move(group_names))},
      {"instance_groups_dict", PyValue::dict(std::move(groups_dict))},
      {"is_hetero", PyValue::boolean(e.is_hetero)},
      {"is_master", PyValue::boolean(e.is_master)},
      {"is_modelparallel_enabled", e.is_modelparallel_enabled},
      {"is_smddpmprun_installed", PyValue::boolean(e.smddpmprun_installed)},
      {"is_smddprun_installed", PyValue::boolean(e.smddprun_installed)},
      {"job_name", opt_str(e.job_name)},
      {"log_level", e.log_level},
      {"master_hostname", PyValue::str(e.master_hostname)},
      {"model_dir", PyValue::str(e.paths.model.string())},
      {"module_dir", PyValue::str(e.module_dir)},
      {"module_name", PyValue::str(e.module_name)},
      {"network_interface_name", PyValue::str(rc.network_interface_name)},
      {"num_cpus", PyValue::integer(e.devices.cpus)},
      {"num_gpus", PyValue::integer(e.devices.gpus)},
      {"num_neurons", PyValue::integer(e.devices.neurons)},
      {"output_data_dir", PyValue::str(e.paths.output_data.string())},
      {"output_dir", PyValue::str(e.paths.output.string())},
      {"output_intermediate_dir", PyValue::str(e.paths.output_intermediate.string())},
      {"resource_config", rc.raw},
      {"topology", rc.topology},
      {"user_entry_point", opt_str(e.user_entry_point)},
  };
  return PyValue::dict(std::move(d));
}

EnvList sm_environment(const TrainingEnv& e) {
  const config::ResourceConfig& rc = e.resource;
  const PyValue training = training_env_dict(e);
  auto prop = [&](const char* name) -> const PyValue& { return *training.find(name); };

  std::vector<std::string> channel_names;
  if (e.input_data_config.is_dict())
    for (const auto& [name, _] : e.input_data_config.as_dict()) channel_names.push_back(name);
  std::vector<std::string> sorted_channels = channel_names;
  std::sort(sorted_channels.begin(), sorted_channels.end());  // byte order == code point order
  PyList user_args;
  for (const auto& a : e.user_args) user_args.push_back(PyValue::str(a));

  // Same keys, same order as Environment.to_env_vars().
  IndexedDict env({
      {"hosts", prop("hosts")},
      {"network_interface_name", prop("network_interface_name")},
      {"hps", prop("hyperparameters")},
      {"user_entry_point", prop("user_entry_point")},
      {"framework_params", prop("additional_framework_parameters")},
      {"resource_config", prop("resource_config")},
      {"input_data_config", prop("input_data_config")},
      {"output_data_dir", prop("output_data_dir")},
      {"channels", str_list(sorted_channels)},
      {"current_host", prop("current_host")},
      {"current_instance_type", prop("current_instance_type")},
      {"current_instance_group", prop("current_instance_group")},
      {"current_instance_group_hosts", prop("current_instance_group_hosts")},
      {"instance_groups", prop("instance_groups")},
      {"instance_groups_dict", prop("instance_groups_dict")},
      {"distribution_instance_groups", prop("distribution_instance_groups")},
      {"is_hetero", prop("is_hetero")},
      {"module_name", prop("module_name")},
      {"log_level", prop("log_level")},
      {"framework_module", prop("framework_module")},
      {"input_dir", prop("input_dir")},
      {"input_config_dir", prop("input_config_dir")},
      {"output_dir", prop("output_dir")},
      {"num_cpus", prop("num_cpus")},
      {"num_gpus", prop("num_gpus")},
      {"num_neurons", prop("num_neurons")},
      {"model_dir", prop("model_dir")},
      {"module_dir", prop("module_dir")},
      {"training_env", training},
      {"user_args", PyValue::list(std::move(user_args))},
      {"output_intermediate_dir", prop("output_intermediate_dir")},
  });
  if (rc.topology.truthy()) env.set("topology", rc.topology);
  for (const auto& name : channel_names)
    env.set("channel_" + name, PyValue::str(e.paths.channel(name).string()));
  for (const auto& [key, value] : e.hyperparameters.user) env.set("hp_" + key, value);

  EnvList out;
  for (const auto& [key, value] : env.items())
    out.set(hyperparams::format_env_key(key), hyperparams::format_env_value(value));
  if (e.checkpoint) out.set("SM_CHECKPOINT_DIR", e.checkpoint->local_path.string());
  return out;
}

EnvList process_extras(const TrainingEnv& e, const EnvSnapshot& process_env) {
  EnvList out;
  std::string pythonpath = e.paths.code.string();
  if (auto existing = lookup(process_env, "PYTHONPATH"); existing && !existing->empty())
    pythonpath += ":" + *existing;
  out.set("PYTHONPATH", pythonpath);
  out.set("SAGEMAKER_JOB_NAME", e.sagemaker_job_name);
  out.set("CURRENT_HOST", e.resource.current_host);
  out.set("SAGEMAKER_REGION", e.region);
  return out;
}

}  // namespace smrun::env
