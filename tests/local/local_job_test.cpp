// smrun local: the job from flags and requests, the host trees, the hosts' processes and the
// job's archives.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>

#include "smrun/local/artifacts.hpp"
#include "smrun/local/layout.hpp"
#include "smrun/local/local_job.hpp"
#include "support/test_support.hpp"

namespace smrun::local {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::TempDir;
using test::write_file;
using ::testing::HasSubstr;

const std::string kNow = "20261205-174501";

// A source dir with train.py, a channel dir, and an unused output path.
struct Sandbox {
  TempDir dir;
  fs::path source = dir / "src";
  fs::path data = dir / "data";
  fs::path output = dir / "out";
  Sandbox() {
    write_file(source / "train.py", "print('hi')\n");
    write_file(data / "a.csv", "1,2\n");
  }
  LocalArgs args() const {
    LocalArgs a;
    a.program = "train.py";
    a.source = source.string();
    a.output = output;
    return a;
  }
};

std::string hp(const LocalJob& job, const std::string& key) {
  for (const auto& [k, v] : job.hyperparameters)
    if (k == key) return v.as_str();
  return "<absent>";
}

std::vector<std::string> hp_keys(const LocalJob& job) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : job.hyperparameters) keys.push_back(k);
  return keys;
}

TEST(LocalHyperparameters, JsonTextIsKeptAsItsValueAndAnythingElseIsAString) {
  EXPECT_EQ(encode_hyperparameter("3"), "3");
  EXPECT_EQ(encode_hyperparameter("0.01"), "0.01");
  EXPECT_EQ(encode_hyperparameter("1e-3"), "0.001");
  EXPECT_EQ(encode_hyperparameter("true"), "true");
  EXPECT_EQ(encode_hyperparameter("null"), "null");
  EXPECT_EQ(encode_hyperparameter("[64, 32]"), "[64,32]");
  EXPECT_EQ(encode_hyperparameter("{\"b\": 1, \"a\": \"x y\"}"), "{\"a\":\"x y\",\"b\":1}");
  EXPECT_EQ(encode_hyperparameter("\"quoted\""), "\"quoted\"");
  EXPECT_EQ(encode_hyperparameter("resnet"), "\"resnet\"");
  EXPECT_EQ(encode_hyperparameter(""), "\"\"");
  EXPECT_EQ(encode_hyperparameter("True"), "\"True\"");  // Python's spelling is not JSON
  EXPECT_EQ(encode_hyperparameter("he said \"hi\""), "\"he said \\\"hi\\\"\"");
  EXPECT_EQ(encode_hyperparameter("ü"), "\"\\u00fc\"");
}

TEST(LocalJobFromFlags, FillsInWhatTheSdkWouldInOrder) {
  Sandbox s;
  LocalArgs a = s.args();
  a.hosts = "3";
  a.nproc_per_node = "2";
  a.hyperparameters = {"epochs=3", "name=resnet", "layers=[64, 32]", "epochs=4"};
  a.channels = {"train=" + s.data.string()};
  auto job = make_local_job(a, kNow);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->job_name, "smrun-local-" + kNow);
  EXPECT_EQ(job->hosts, 3);
  EXPECT_EQ(job->nproc_per_node, 2);
  EXPECT_EQ(job->instance_type, "local");
  EXPECT_THAT(hp_keys(*job),
              ::testing::ElementsAre("epochs", "name", "layers", "sagemaker_program",
                                     "sagemaker_submit_directory", "sagemaker_container_log_level",
                                     "sagemaker_job_name"));
  EXPECT_EQ(hp(*job, "epochs"), "4");  // the last --hp of a name wins, in the first one's place
  EXPECT_EQ(hp(*job, "name"), "\"resnet\"");
  EXPECT_EQ(hp(*job, "layers"), "[64,32]");
  EXPECT_EQ(hp(*job, "sagemaker_program"), "\"train.py\"");
  EXPECT_EQ(hp(*job, "sagemaker_submit_directory"), "\"file://" + s.source.string() + "\"");
  EXPECT_EQ(hp(*job, "sagemaker_container_log_level"), "20");
  EXPECT_EQ(hp(*job, "sagemaker_job_name"), "\"smrun-local-" + kNow + "\"");
  ASSERT_EQ(job->channels.size(), 1u);
  EXPECT_EQ(job->channels[0].name, "train");
  EXPECT_EQ(job->channels[0].dir, s.data);
  EXPECT_EQ(job->output_dir, s.output);
}

TEST(LocalJobFromFlags, AProgramWithoutSourceDirIsShippedAlone) {
  Sandbox s;
  LocalArgs a;
  a.program = (s.source / "train.py").string();
  a.output = s.output;
  auto job = make_local_job(a, kNow);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(hp(*job, "sagemaker_program"), "\"train.py\"");
  EXPECT_EQ(hp(*job, "sagemaker_submit_directory"),
            "\"file://" + (s.source / "train.py").string() + "\"");
}

TEST(LocalJobFromFlags, BadInputIsNamedAndNothingIsWritten) {
  Sandbox s;
  struct Case {
    std::function<void(LocalArgs&)> change;
    base::ErrorKind kind;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](LocalArgs& a) { a.hosts = "0"; }, base::ErrorKind::kUsage,
       "--hosts 0: expected an integer from 1 to 250"},
      {[](LocalArgs& a) { a.hosts = "2x"; }, base::ErrorKind::kUsage,
       "--hosts 2x: expected an integer from 1 to 250"},
      {[](LocalArgs& a) { a.nproc_per_node = "-1"; }, base::ErrorKind::kUsage,
       "--nproc-per-node -1: expected an integer from 1 to 1024"},
      {[](LocalArgs& a) { a.hyperparameters = {"novalue"}; }, base::ErrorKind::kUsage,
       "--hp novalue: expected KEY=VALUE"},
      {[](LocalArgs& a) { a.hyperparameters = {"=1"}; }, base::ErrorKind::kUsage,
       "--hp =1: expected KEY=VALUE"},
      {[&](LocalArgs& a) { a.channels = {"../x=" + s.data.string()}; }, base::ErrorKind::kUsage,
       "channel name '../x' is not valid: expected letters, digits, '.', '-' and '_' only, and "
       "not '.' or '..'"},
      {[&](LocalArgs& a) { a.channels = {"train=" + (s.data / "a.csv").string()}; },
       base::ErrorKind::kUsage,
       "--channel train=" + (s.data / "a.csv").string() + ": " + (s.data / "a.csv").string() +
           " is not a directory"},
      {[](LocalArgs& a) { a.program = "missing.py"; }, base::ErrorKind::kCode,
       "--program missing.py: not found in the source dir "},
      {[&](LocalArgs& a) { a.source = (s.dir / "nope").string(); }, base::ErrorKind::kCode,
       "--source-dir " + (s.dir / "nope").string() + ": no such file or directory"},
      {[](LocalArgs& a) {
         a.source.reset();
         a.program = "not-here.py";
       },
       base::ErrorKind::kCode,
       "--program not-here.py: no such file (without --source-dir the program is a path to the "
       "script)"},
      {[](LocalArgs& a) { a.program.reset(); }, base::ErrorKind::kUsage,
       "no program: give --program (the entry point, e.g. train.py) or sagemaker_program in the "
       "request's HyperParameters"},
      {[](LocalArgs& a) { a.job_name = "bad_name"; }, base::ErrorKind::kUsage,
       "job name 'bad_name' is not valid: expected 1-63 letters, digits and '-', not starting "
       "with '-'"},
      {[&](LocalArgs& a) { a.output = s.source; }, base::ErrorKind::kUsage,
       "--output " + s.source.string() +
           ": exists and is not empty (smrun local never writes over earlier results; choose a "
           "new dir or remove it)"},
  };
  for (const Case& c : cases) {
    LocalArgs a = s.args();
    c.change(a);
    auto job = make_local_job(a, kNow);
    ASSERT_FALSE(job) << c.message;
    EXPECT_EQ(job.error().kind, c.kind) << c.message;
    EXPECT_THAT(job.error().message, ::testing::StartsWith(c.message));
  }
  EXPECT_FALSE(fs::exists(s.output));
  EXPECT_EQ(read_file(s.source / "train.py"), "print('hi')\n");
}

TEST(LocalJobFromRequest, TakesTheCreateTrainingJobFieldsAndFlagsWin) {
  Sandbox s;
  const fs::path ckpt = s.dir / "ckpt";
  fs::create_directories(ckpt);
  const fs::path results = s.dir / "results";
  fs::create_directories(results);
  const fs::path request = s.dir / "request.json";
  write_file(request, R"({
    "TrainingJobName": "my-job-1",
    "AlgorithmSpecification": {"TrainingImage": "ignored", "TrainingInputMode": "File"},
    "HyperParameters": {"epochs": "3", "sagemaker_program": "\"train.py\"",
                        "sagemaker_submit_directory": "\"file://)" +
                          s.source.string() + R"(\""},
    "InputDataConfig": [
      {"ChannelName": "train", "ContentType": "text/csv",
       "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file://)" +
                          s.data.string() + R"("}}},
      {"ChannelName": "test",
       "DataSource": {"FileSystemDataSource": {"DirectoryPath": ")" +
                          s.data.string() + R"("}}}],
    "ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
    "CheckpointConfig": {"S3Uri": "file://)" +
                          ckpt.string() + R"("},
    "OutputDataConfig": {"S3OutputPath": "file://)" +
                          results.string() + R"("},
    "Environment": {"MY_FLAG": "on"}
  })");
  LocalArgs a;
  a.request = request;
  auto job = make_local_job(a, kNow);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->job_name, "my-job-1");
  EXPECT_EQ(job->hosts, 2);
  EXPECT_EQ(job->instance_type, "ml.m5.xlarge");
  EXPECT_EQ(hp(*job, "epochs"), "3");
  EXPECT_EQ(hp(*job, "sagemaker_program"), "\"train.py\"");
  EXPECT_EQ(hp(*job, "sagemaker_submit_directory"), "\"file://" + s.source.string() + "\"");
  EXPECT_EQ(hp(*job, "sagemaker_job_name"), "\"my-job-1\"");
  ASSERT_EQ(job->channels.size(), 2u);
  EXPECT_EQ(job->channels[0].name, "train");
  EXPECT_EQ(job->channels[0].content_type, "text/csv");
  EXPECT_EQ(job->channels[1].name, "test");
  EXPECT_EQ(job->channels[1].dir, s.data);
  EXPECT_EQ(job->checkpoint_dir, ckpt);
  EXPECT_EQ(job->output_dir, results / "my-job-1");
  ASSERT_EQ(job->environment.size(), 1u);
  EXPECT_EQ(job->environment[0], std::make_pair(std::string("MY_FLAG"), std::string("on")));

  a.hosts = "1";
  a.hyperparameters = {"epochs=9"};
  a.output = s.output;
  a.instance_type = "ml.c5.large";
  auto flagged = make_local_job(a, kNow);
  ASSERT_TRUE(flagged) << flagged.error().message;
  EXPECT_EQ(flagged->hosts, 1);
  EXPECT_EQ(hp(*flagged, "epochs"), "9");
  EXPECT_EQ(flagged->instance_type, "ml.c5.large");
  EXPECT_EQ(flagged->output_dir, s.output);
}

TEST(LocalJobFromRequest, ErrorsNameTheFileAndTheField) {
  Sandbox s;
  const fs::path request = s.dir / "request.json";
  struct Case {
    std::string body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{",
       ": not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char "
       "1)"},
      {"[]", ": $: expected a CreateTrainingJob request (a JSON object)"},
      {R"({"HyperParameters": {"epochs": 3}})",
       ": $.HyperParameters.epochs: expected a string (the SDK sends every value as the JSON text "
       "of the value), got int"},
      {R"({"ResourceConfig": {"InstanceCount": 0}})",
       ": $.ResourceConfig.InstanceCount: expected an integer from 1 to 250"},
      {R"({"InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource":
          {"S3Uri": "s3://bucket/train"}}}]})",
       ": $.InputDataConfig[0].DataSource.S3DataSource.S3Uri: smrun local reads local data only: "
       "expected a file:// URI of a directory, got 's3://bucket/train'"},
      {R"({"InputDataConfig": [{"DataSource": {}}]})",
       ": $.InputDataConfig[0].ChannelName: missing"},
      {R"({"InputDataConfig": [{"ChannelName": "x", "DataSource": {}}]})",
       ": $.InputDataConfig[0].DataSource: expected S3DataSource.S3Uri (a file:// URI)"},
      {R"({"CheckpointConfig": {"S3Uri": "file:///no/such/dir"}})",
       ": $.CheckpointConfig.S3Uri: /no/such/dir is not a directory"},
      {R"({"Environment": {"A": 1}})", ": $.Environment.A: expected a string"},
  };
  for (const Case& c : cases) {
    write_file(request, c.body);
    LocalArgs a = s.args();
    a.request = request;
    auto job = make_local_job(a, kNow);
    ASSERT_FALSE(job) << c.body;
    EXPECT_EQ(job.error().kind, base::ErrorKind::kConfig) << c.body;
    EXPECT_EQ(job.error().message, request.string() + c.message);
  }
  LocalArgs a = s.args();
  a.request = s.dir / "missing.json";
  auto job = make_local_job(a, kNow);
  ASSERT_FALSE(job);
  EXPECT_EQ(job.error().message,
            (s.dir / "missing.json").string() + ": cannot read the request file");
}

TEST(LocalNetwork, AddressesAreConsecutiveLoopbackAndPortsDiffer) {
  auto net = choose_network(3, "127.0.9.7");
  ASSERT_TRUE(net) << net.error().message;
  EXPECT_EQ(dotted(net->first_address), "127.0.9.7");
  EXPECT_GT(net->master_port, 0);
  EXPECT_GT(net->control_port, 0);
  EXPECT_NE(net->master_port, net->control_port);

  auto random = choose_network(250, "");
  ASSERT_TRUE(random);
  EXPECT_EQ(random->first_address >> 24, 127u);
  EXPECT_EQ(random->first_address & 0xff, 1u);
  EXPECT_NE((random->first_address >> 8) & 0xff, 0u);

  for (const std::string& bad : {"10.0.0.1", "127.0.0.0", "localhost", "127.255.255.254"}) {
    auto n = choose_network(3, bad);
    ASSERT_FALSE(n) << bad;
    EXPECT_EQ(n.error().kind, base::ErrorKind::kUsage);
    EXPECT_THAT(n.error().message, HasSubstr("--first-address " + bad));
  }
}

TEST(LocalLayout, EachHostHasItsOwnTreeWithTheSdkFiles) {
  Sandbox s;
  fs::create_directories(s.dir / "ckpt");
  LocalArgs a = s.args();
  a.hosts = "2";
  a.channels = {"train=" + s.data.string()};
  a.checkpoint_dir = s.dir / "ckpt";
  a.hyperparameters = {"lr=0.1"};
  auto job = make_local_job(a, kNow);
  ASSERT_TRUE(job);
  Network net{(127u << 24) | (5u << 8) | 1u, 29600, 29601};
  auto hosts = write_layout(*job, net);
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[1].name, "algo-2");
  EXPECT_EQ((*hosts)[1].address, "127.0.5.2");
  EXPECT_EQ((*hosts)[1].base, s.output / "algo-2");
  const fs::path config = s.output / "algo-2" / "input" / "config";
  EXPECT_EQ(read_file(config / "resourceconfig.json"), R"({
  "current_host": "algo-2",
  "current_instance_type": "local",
  "current_group_name": "homogeneousCluster",
  "hosts": [
    "algo-1",
    "algo-2"
  ],
  "instance_groups": [
    {
      "instance_group_name": "homogeneousCluster",
      "instance_type": "local",
      "hosts": [
        "algo-1",
        "algo-2"
      ]
    }
  ],
  "network_interface_name": "lo"
})");
  EXPECT_EQ(read_file(config / "inputdataconfig.json"), R"({
  "train": {
    "TrainingInputMode": "File",
    "S3DistributionType": "FullyReplicated",
    "RecordWrapperType": "None"
  }
})");
  EXPECT_EQ(read_file(config / "hyperparameters.json"),
            "{\n  \"lr\": \"0.1\",\n  \"sagemaker_program\": \"\\\"train.py\\\"\",\n"
            "  \"sagemaker_submit_directory\": \"\\\"file://" +
                s.source.string() +
                "\\\"\",\n  \"sagemaker_container_log_level\": \"20\",\n"
                "  \"sagemaker_job_name\": \"\\\"smrun-local-" +
                kNow + "\\\"\"\n}");
  EXPECT_EQ(read_file(config / "checkpointconfig.json"),
            "{\n  \"LocalPath\": \"" + (s.dir / "ckpt").string() + "\",\n  \"S3Uri\": \"file://" +
                (s.dir / "ckpt").string() + "\"\n}");
  EXPECT_EQ(fs::read_symlink(s.output / "algo-1" / "input" / "data" / "train"), s.data);
  for (const char* dir : {"model", "output/data", "code"})
    EXPECT_TRUE(fs::is_directory(s.output / "algo-1" / dir)) << dir;
}

TEST(LocalLayout, EveryHostRunsSmrunTrainWithItsBaseDirAddressesAndPorts) {
  Sandbox s;
  LocalArgs a = s.args();
  a.hosts = "2";
  a.nproc_per_node = "4";
  auto job = make_local_job(a, kNow);
  ASSERT_TRUE(job);
  job->environment = {{"MY_FLAG", "on"}, {"SMRUN_PACK_MODEL", "required"}};
  Network net{(127u << 24) | (5u << 8) | 1u, 29600, 29601};
  auto hosts = write_layout(*job, net);
  ASSERT_TRUE(hosts);
  auto specs = host_processes(*job, net, *hosts, "/bin/smrun",
                              {"PATH=/usr/bin", "SMRUN_MASTER_PORT=1", "MY_FLAG=off"});
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_THAT(specs[1].argv, ::testing::ElementsAre("/bin/smrun", "train"));
  EXPECT_EQ(specs[1].label, "algo-2");
  EXPECT_EQ(specs[1].host, "algo-2");
  EXPECT_TRUE(specs[1].nested_labels);
  EXPECT_THAT(
      specs[1].env,
      ::testing::UnorderedElementsAre(
          "PATH=/usr/bin", "TRAINING_JOB_NAME=smrun-local-" + kNow,
          "SMRUN_HOST_ADDRESSES=algo-1=127.0.5.1,algo-2=127.0.5.2", "SMRUN_MASTER_ADDR_IP=1",
          "SMRUN_MASTER_PORT=29600", "SMRUN_CONTROL_PORT=29601", "SMRUN_LAUNCHER=native",
          "SMRUN_NPROC_PER_NODE=4", "MY_FLAG=on", "SMRUN_PACK_MODEL=required",
          "GLOO_SOCKET_IFNAME=lo", "SAGEMAKER_BASE_DIR=" + (s.output / "algo-2").string()));

  auto own_ifname = host_processes(*job, net, *hosts, "/bin/smrun", {"GLOO_SOCKET_IFNAME=eth9"});
  EXPECT_THAT(own_ifname[0].env, ::testing::Contains("GLOO_SOCKET_IFNAME=eth9"));
  EXPECT_THAT(own_ifname[0].env, ::testing::Not(::testing::Contains("GLOO_SOCKET_IFNAME=lo")));
}

TEST(LocalArtifacts, HostsTreesMergeLaterHostsWinningAndPackIntoTheOutputDir) {
  TempDir dir;
  std::vector<HostDir> hosts = {{"algo-1", "127.0.0.2", dir / "algo-1"},
                                {"algo-2", "127.0.0.3", dir / "algo-2"}};
  write_file(dir / "algo-1" / "model" / "model.pt", "one");
  write_file(dir / "algo-1" / "model" / "sub" / "a.txt", "a1");
  write_file(dir / "algo-2" / "model" / "sub" / "a.txt", "a2");
  write_file(dir / "algo-2" / "model" / "b.txt", "b2");
  write_file(dir / "algo-1" / "output" / "success", "");
  fs::create_directories(dir / "algo-2" / "output");
  auto a = collect_artifacts(dir.path(), hosts);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->model_archive, dir / "model.tar.gz");
  EXPECT_EQ(a->output_archive, dir / "output.tar.gz");
  EXPECT_EQ(a->model_files, 4u);  // model.pt, b.txt, sub/, sub/a.txt
  EXPECT_EQ(a->output_files, 1u);
  EXPECT_EQ(read_file(dir / "artifacts" / "model" / "sub" / "a.txt"), "a2");
  EXPECT_EQ(read_file(dir / "artifacts" / "model" / "model.pt"), "one");
  // Hard links, not copies; the hosts' own files are untouched.
  struct stat merged {
  }, original{};
  ASSERT_EQ(::stat((dir / "artifacts" / "model" / "b.txt").c_str(), &merged), 0);
  ASSERT_EQ(::stat((dir / "algo-2" / "model" / "b.txt").c_str(), &original), 0);
  EXPECT_EQ(merged.st_ino, original.st_ino);
  EXPECT_EQ(read_file(dir / "algo-1" / "model" / "sub" / "a.txt"), "a1");
  // One host with output: packed from its own tree, no merge copy.
  EXPECT_FALSE(fs::exists(dir / "artifacts" / "output"));
  auto listing = test::run_process({.argv = {"/bin/tar", "-tzf", (dir / "model.tar.gz").string()}});
  EXPECT_EQ(listing.out, "b.txt\nmodel.pt\nsub/\nsub/a.txt\n");
}

TEST(LocalVerdict, TheFirstHostsFailureIsTheJobsThenAnyOther) {
  EXPECT_EQ(job_exit_code({}), 0);
  EXPECT_EQ(job_exit_code({{"algo-1", 0, ""}, {"algo-2", 0, ""}}), 0);
  EXPECT_EQ(job_exit_code({{"algo-1", 0, ""}, {"algo-2", 3, ""}, {"algo-3", 4, ""}}), 3);
  EXPECT_EQ(job_exit_code({{"algo-1", 7, ""}, {"algo-2", 3, ""}}), 7);
}

}  // namespace
}  // namespace smrun::local
