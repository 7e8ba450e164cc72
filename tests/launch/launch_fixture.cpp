#include "launch/launch_fixture.hpp"

#include <gtest/gtest.h>

#include "smrun/config/py_json.hpp"

namespace smrun::launch::testing {

std::string resource_json(const std::vector<std::string>& hosts, const std::string& current,
                          const std::string& instance_type, const std::string& iface) {
  std::string list;
  for (const auto& h : hosts) list += (list.empty() ? "\"" : ", \"") + h + "\"";
  return R"({"current_host": ")" + current + R"(", "hosts": [)" + list +
         R"(], "current_group_name": "train", "current_instance_type": ")" + instance_type +
         R"(", "network_interface_name": ")" + iface +
         R"(", "instance_groups": [{"instance_group_name": "train", "instance_type": ")" +
         instance_type + R"(", "hosts": [)" + list + "]}]}";
}

Job::Job(const JobSpec& spec) : m_env(spec.env) {
  auto doc = config::parse_py_json(spec.resource);
  EXPECT_TRUE(doc.has_value());
  auto rc = config::parse_resource_config(*doc, "resourceconfig.json");
  EXPECT_TRUE(rc.has_value()) << (rc ? "" : rc.error().message);
  m_job.resource = *rc;
  for (const auto& [k, v] : spec.hyperparameters)
    m_job.hyperparameters.emplace_back(k, config::PyValue::str(v));
  m_job.hyperparameters.emplace_back("sagemaker_program",
                                     config::PyValue::str("\"" + spec.entry_point + "\""));
  m_job.checkpoint = spec.checkpoint;

  env::TrainingEnvInputs inputs;
  inputs.job = &m_job;
  inputs.paths = config::ml_paths(m_dir.path() / "ml");
  inputs.env = &m_env;
  // Settings are read as `train` reads them; a bad one is what topology() and plan() return.
  if (auto settings = settings::read_settings(m_env))
    inputs.settings = *settings;
  else
    m_settings_error = settings.error();
  inputs.devices = spec.devices;
  m_training = env::compute_training_env(inputs);

  const auto code_dir = inputs.paths.code;
  test::write_file(code_dir / spec.entry_point, "print('hi')\n");
  for (const auto& f : spec.code_files) test::write_file(code_dir / f, "\n");
  auto process = make_process_plan(m_training, m_env, code_dir);
  EXPECT_TRUE(process.has_value()) << (process ? "" : process.error().message);
  if (process) m_process = std::move(*process);
}

base::Expected<LaunchTopology> Job::topology() const {
  if (m_settings_error) return base::Unexpected(*m_settings_error);
  return plan_topology(m_training, m_env);
}

base::Expected<LaunchPlan> Job::plan(std::optional<std::string> master_ip) const {
  auto topo = topology();
  if (!topo) return base::Unexpected(topo.error());
  PlanInputs in;
  in.training = &m_training;
  in.process_env = &m_env;
  in.process = &m_process;
  in.error_dir = error_dir();
  in.master_addr_ip = std::move(master_ip);
  return make_launch_plan(*topo, in);
}

std::map<std::string, std::string> env_map(const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    EXPECT_NE(eq, std::string::npos) << item;
    EXPECT_TRUE(out.emplace(item.substr(0, eq), item.substr(eq + 1)).second)
        << "duplicate " << item;
  }
  return out;
}

}  // namespace smrun::launch::testing
