// Fuzzes config::load_job_config over a real /opt/ml-style tree.
//
// The input is split at 0x1e bytes (ASCII record separator: never valid in JSON, so it cannot
// collide with document text) into up to four documents, written as
//   resourceconfig.json, inputdataconfig.json, hyperparameters.json, checkpointconfig.json.
// An empty or missing part leaves its file absent, which exercises the "file may be missing"
// paths (a synthesised resource config, {} for the others). The loaded hyperparameters then go
// through decoding, splitting and argv rendering, as smrun does.
//
// Invariants: never crashes; an error is a one-line kConfig error; a loaded config has at least
// one host, a dict of input channels and hyperparameters whose argv has two entries per user key.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "smrun/config/job_config.hpp"
#include "smrun/hyperparams/hyperparameters.hpp"

namespace {

namespace fs = std::filesystem;

const smrun::config::MlPaths& paths() {
  static const smrun::config::MlPaths kPaths = [] {
    const fs::path base = smrun::fuzz::make_temp_dir("smrun-fuzz-config");
    smrun::config::MlPaths p = smrun::config::ml_paths(base);
    fs::create_directories(p.input_config);
    return p;
  }();
  return kPaths;
}

std::vector<std::string_view> split_documents(std::string_view input) {
  std::vector<std::string_view> parts;
  while (parts.size() < 3) {
    const std::size_t sep = input.find('\x1e');
    if (sep == std::string_view::npos) break;
    parts.push_back(input.substr(0, sep));
    input.remove_prefix(sep + 1);
  }
  parts.push_back(input);
  return parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const smrun::config::MlPaths& p = paths();
  const fs::path files[] = {p.resource_config_file, p.input_data_config_file,
                            p.hyperparameters_file, p.checkpoint_config_file};
  const std::vector<std::string_view> parts =
      split_documents(std::string_view(reinterpret_cast<const char*>(data), size));
  for (std::size_t i = 0; i < std::size(files); ++i) {
    std::error_code ec;
    if (i < parts.size() && !parts[i].empty()) {
      smrun::fuzz::write_file(files[i], parts[i]);
    } else {
      fs::remove(files[i], ec);
    }
  }

  auto job = smrun::config::load_job_config(p, "algo-fuzz");
  if (!job) {
    FUZZ_CHECK(job.error().kind == smrun::base::ErrorKind::kConfig, job.error().message);
    FUZZ_CHECK(!job.error().message.empty(), "empty error message");
    FUZZ_CHECK(job.error().message.find('\n') == std::string::npos, job.error().message);
    return 0;
  }
  FUZZ_CHECK(!job->resource.hosts.empty(), "no hosts");
  FUZZ_CHECK(job->resource.raw.is_dict(), "resource config is not a dict");
  FUZZ_CHECK(job->input_data_config.is_dict(), "input data config is not a dict");
  for (const auto& group : job->resource.instance_groups)
    FUZZ_CHECK(group.raw.is_dict(), "instance group is not a dict");
  FUZZ_CHECK(job->resource_config_missing == parts[0].empty(),
             "resource config missing flag does not match the tree");
  if (job->resource_config_missing)
    FUZZ_CHECK(job->resource.hosts == std::vector<std::string>{"algo-fuzz"}, "synthesised hosts");

  const auto decoded = smrun::hyperparams::decode_hyperparameters(job->hyperparameters);
  FUZZ_CHECK(decoded.size() == job->hyperparameters.size(), "decoding lost keys");
  const auto split = smrun::hyperparams::split_hyperparameters(decoded);
  const auto argv = smrun::hyperparams::to_cmd_args(split.user);
  FUZZ_CHECK(argv.size() == 2 * split.user.size(), "argv is not two entries per hyperparameter");
  return 0;
}
