#pragma once

// `smrun local`: one /opt/ml tree per simulated host under the output dir, laid out as SageMaker
// (and the SDK's local mode) lays it out, and the `smrun train` process that runs each host.
//
//   <output>/algo-1/input/config/{hyperparameters,resourceconfig,inputdataconfig,
//                                 checkpointconfig}.json
//   <output>/algo-1/input/data/<channel>  -> the channel's directory (a symlink)
//   <output>/algo-1/{model,output,code}/
//   <output>/algo-2/...
//
// Each host is its own loopback address (127.A.B.C, consecutive), which every host's smrun is
// told through SMRUN_HOST_ADDRESSES, so no /etc/hosts entry and no root are needed; ranks get
// the master's IP as MASTER_ADDR.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/local/local_job.hpp"
#include "smrun/supervise/process_spec.hpp"

namespace smrun::local {

struct HostDir {
  std::string name;            // "algo-1"
  std::string address;         // "127.18.203.1"
  std::filesystem::path base;  // <output>/algo-1, its SAGEMAKER_BASE_DIR
};

struct Network {
  std::uint32_t first_address = 0;  // host order; host i gets first_address + i
  int master_port = 0;              // the ranks' MASTER_PORT (torch's store listens on it)
  int control_port = 0;             // smrun's cluster channel
};

// A random 127.A.B.1 (A, B in 1..254) and two ports the kernel had free on every address, so
// that two jobs on one machine do not meet. `first` (dotted quad, from --first-address) fixes
// the addresses. Errors: kUsage for a `first` that is not a loopback address with room for
// `hosts` hosts; kInternal when no port can be had.
base::Expected<Network> choose_network(int hosts, const std::string& first);

std::string dotted(std::uint32_t address);

// Creates the host trees and writes every host's config files. The output dir must be new or
// empty (make_local_job checked); nothing outside it is written.
base::Expected<std::vector<HostDir>> write_layout(const LocalJob& job, const Network& network);

// One `smrun train` per host: `self` is this smrun's path, `base_env` the environment every host
// inherits ("KEY=VALUE"); each host gets its base dir, the address map, ports, the job name, the
// request's Environment, and (with --nproc-per-node) the native launcher. Hosts do not pack
// the model: the whole job's artifacts are collected afterwards.
std::vector<supervise::ProcessSpec> host_processes(const LocalJob& job, const Network& network,
                                                   const std::vector<HostDir>& hosts,
                                                   const std::filesystem::path& self,
                                                   const std::vector<std::string>& base_env);

}  // namespace smrun::local
