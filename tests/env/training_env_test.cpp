// The reference's Environment as a pure function: exact SM_* values for one small job, the
// process extras, and the display copy with secrets masked.

#include "smrun/env/training_env.hpp"

#include <gtest/gtest.h>

#include "smrun/config/py_json.hpp"

namespace smrun::env {
namespace {

config::JobConfig two_host_job() {
  config::JobConfig job;
  auto doc = config::parse_py_json(
      R"({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"], "network_interface_name": "eth1"})");
  EXPECT_TRUE(doc.has_value());
  auto rc = config::parse_resource_config(*doc, "resourceconfig.json");
  EXPECT_TRUE(rc.has_value()) << (rc ? "" : rc.error().message);
  job.resource = *rc;
  // hyperparameters.json values are JSON text, as the SDK writes them.
  job.hyperparameters = {{"sagemaker_program", config::PyValue::str("\"train.py\"")},
                         {"lr", config::PyValue::str("0.1")},
                         {"db_password", config::PyValue::str("\"hunter22\"")},
                         {"layers", config::PyValue::str("[1, 2]")}};
  return job;
}

TrainingEnvInputs inputs_for(const config::JobConfig& job, const EnvSnapshot& env) {
  TrainingEnvInputs in;
  in.job = &job;
  in.paths = config::ml_paths("/opt/ml");
  in.env = &env;
  in.devices = {4, 0, 0};
  return in;
}

std::string var(const EnvList& list, std::string_view name) {
  const std::string* v = list.find(name);
  return v != nullptr ? *v : "<unset>";
}

TEST(TrainingEnv, SmVariablesOfASmallJob) {
  const config::JobConfig job = two_host_job();
  const EnvSnapshot env = {{"PYTHONPATH", "/lib/extra"}};
  const TrainingEnv t = compute_training_env(inputs_for(job, env));
  EXPECT_EQ(t.user_entry_point, "train.py");
  EXPECT_EQ(t.module_name, "train");
  EXPECT_EQ(t.master_hostname, "algo-1");
  EXPECT_FALSE(t.is_master);
  EXPECT_EQ(t.user_args, (std::vector<std::string>{"--db_password", "hunter22", "--layers",
                                                   "[1, 2]", "--lr", "0.1"}));

  const EnvList sm = sm_environment(t);
  EXPECT_EQ(var(sm, "SM_HOSTS"), R"(["algo-1","algo-2"])");
  EXPECT_EQ(var(sm, "SM_CURRENT_HOST"), "algo-2");
  EXPECT_EQ(var(sm, "SM_NETWORK_INTERFACE_NAME"), "eth1");
  EXPECT_EQ(var(sm, "SM_HP_LR"), "0.1");
  EXPECT_EQ(var(sm, "SM_HP_LAYERS"), "[1,2]");
  EXPECT_EQ(var(sm, "SM_HPS"), R"({"db_password":"hunter22","layers":[1,2],"lr":0.1})");
  EXPECT_EQ(var(sm, "SM_NUM_CPUS"), "4");
  EXPECT_EQ(var(sm, "SM_NUM_GPUS"), "0");
  EXPECT_EQ(var(sm, "SM_MODEL_DIR"), "/opt/ml/model");
  EXPECT_EQ(var(sm, "SM_USER_ENTRY_POINT"), "train.py");
  EXPECT_EQ(var(sm, "SM_CHECKPOINT_DIR"), "<unset>");

  const EnvList extras = process_extras(t, env);
  EXPECT_EQ(var(extras, "PYTHONPATH"), "/opt/ml/code:/lib/extra");
  EXPECT_EQ(var(extras, "CURRENT_HOST"), "algo-2");
}

TEST(TrainingEnv, TheDisplayCopyMasksSecretHyperparametersOnly) {
  const config::JobConfig job = two_host_job();
  const EnvSnapshot env;
  TrainingEnvInputs in = inputs_for(job, env);
  in.redact_secrets = true;
  const EnvList sm = sm_environment(compute_training_env(in));
  EXPECT_EQ(var(sm, "SM_HP_DB_PASSWORD"), "****");
  EXPECT_EQ(var(sm, "SM_HP_LR"), "0.1");
  EXPECT_EQ(var(sm, "SM_HPS"), R"({"db_password":"****","layers":[1,2],"lr":0.1})");
}

}  // namespace
}  // namespace smrun::env
