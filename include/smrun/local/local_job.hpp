#pragma once

// `smrun local`: what job to run on this machine, from the command line and/or a SageMaker
// CreateTrainingJob request (the JSON the SDK sends), checked before anything is written.

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/config/py_value.hpp"

namespace smrun::local {

// The command line as given (each field empty/absent when the flag was not used). Flags win
// over the request's fields.
struct LocalArgs {
  std::optional<std::filesystem::path> request;         // --job request.json
  std::optional<std::string> hosts;                     // --hosts N
  std::optional<std::string> nproc_per_node;            // --nproc-per-node P
  std::optional<std::string> program;                   // --program train.py
  std::optional<std::string> source;                    // --source-dir DIR|ARCHIVE|s3://...
  std::vector<std::string> hyperparameters;             // --hp KEY=VALUE, in order
  std::vector<std::string> channels;                    // --channel NAME=DIR, in order
  std::optional<std::string> instance_type;             // --instance-type
  std::optional<std::filesystem::path> output;          // --output DIR
  std::optional<std::string> job_name;                  // --job-name
  std::optional<std::filesystem::path> checkpoint_dir;  // --checkpoint-dir DIR
};

struct Channel {
  std::string name;
  std::filesystem::path dir;  // absolute, an existing directory
  std::string content_type;   // empty: none given
};

struct LocalJob {
  std::string job_name;
  int hosts = 1;
  std::optional<int> nproc_per_node;  // set: the native launcher with P ranks per host
  std::string instance_type = "local";
  // hyperparameters.json as the SDK writes it: every value the JSON text of the user's value
  // ("0.01", "\"resnet\""), sagemaker_program and sagemaker_submit_directory included.
  config::PyDict hyperparameters;
  std::vector<Channel> channels;
  std::optional<std::filesystem::path> checkpoint_dir;           // absolute
  std::optional<std::string> checkpoint_uri;                     // as the request gave it
  std::vector<std::pair<std::string, std::string>> environment;  // the request's Environment
  std::filesystem::path output_dir;                              // absolute; empty or new
};

// Highest --hosts: every host gets an address in one /24 of 127.0.0.0/8.
inline constexpr int kMaxHosts = 250;

// Reads the request (if any), applies the flags, fills in what the SDK would (job name,
// sagemaker_program, sagemaker_submit_directory, sagemaker_container_log_level) and checks it:
// the program and source exist, channels are directories with valid names, counts are in
// range, the output dir is new or empty. Errors name the flag, file or field: kUsage for the
// command line, kConfig for the request file, kCode for missing code. `now` names default job
// and output dirs ("smrun-local-20261205-174501").
base::Expected<LocalJob> make_local_job(const LocalArgs& args, const std::string& now);

// The SDK's encoding of one --hp value: JSON text is kept as its value re-encoded
// (`3` -> "3", `[1, 2]` -> "[1,2]", `true` -> "true"), anything else is a string ("resnet" ->
// "\"resnet\"").
std::string encode_hyperparameter(const std::string& value);

}  // namespace smrun::local
