#pragma once

// `smrun local`: after the hosts end, the job's artifacts are collected as the SDK's local mode
// collects them: every host's model/ and output/ merged (a later host's file replaces an
// earlier host's file of the same name), then packed into <output>/model.tar.gz and
// <output>/output.tar.gz.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/local/layout.hpp"

namespace smrun::local {

struct Artifacts {
  std::filesystem::path model_archive;
  std::filesystem::path output_archive;
  std::uint64_t model_files = 0;
  std::uint64_t output_files = 0;
};

// Packs <host>/model and <host>/output of every host. When more than one host has files in a
// dir, they are merged first into <output>/artifacts/<dir> (hard links where the file system
// allows, copies otherwise). Only reads the host trees.
base::Expected<Artifacts> collect_artifacts(const std::filesystem::path& output,
                                            const std::vector<HostDir>& hosts);

// How one host ended.
struct HostEnd {
  std::string host;
  int exit_code = 0;
  std::string reason;  // first line of its output/failure, when it wrote one
};

// The job's exit code: the first host's when it failed (the master reports the job's root
// cause), else the first failing host's, else 0.
int job_exit_code(const std::vector<HostEnd>& ends);

// First line of <host base>/output/failure (at most 300 bytes), or empty.
std::string failure_line(const HostDir& host);

}  // namespace smrun::local
