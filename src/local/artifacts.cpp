#include "smrun/local/artifacts.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <system_error>

#include "smrun/base/printable.hpp"
#include "smrun/pack/pack.hpp"

namespace smrun::local {

namespace fs = std::filesystem;
using base::ErrorKind;
using base::fail;

namespace {

bool has_entries(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && !fs::is_empty(dir, ec);
}

base::Unexpected<base::Error> merge_error(const fs::path& path, const std::error_code& ec) {
  return fail(ErrorKind::kPack, fmt::format("cannot merge {} into the job's artifacts: {}",
                                            base::printable(path.string()), ec.message()));
}

// Copies `from`'s tree into `to`, replacing same-named entries: a hard link per file where the
// file system allows it (a multi-GB model is not copied), a copy otherwise; symlinks as symlinks.
base::Status merge_into(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::recursive_directory_iterator it(from, fs::directory_options::none, ec);
  if (ec) return merge_error(from, ec);
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return merge_error(from, ec);
    const fs::path source = it->path();
    const fs::path target = to / source.lexically_relative(from);
    const fs::file_status st = it->symlink_status(ec);
    if (ec) return merge_error(source, ec);
    // Whatever stands at the target and is not what comes now goes first (a later host wins).
    const fs::file_status existing = fs::symlink_status(target, ec);
    if (fs::is_directory(st)) {
      if (fs::exists(existing) && !fs::is_directory(existing)) fs::remove(target, ec);
      fs::create_directories(target, ec);
      if (ec) return merge_error(target, ec);
      continue;
    }
    if (fs::is_directory(existing))
      fs::remove_all(target, ec);
    else if (fs::exists(existing))
      fs::remove(target, ec);
    ec.clear();  // a leftover that could not be removed makes the write below fail
    if (fs::is_symlink(st)) {
      fs::copy_symlink(source, target, ec);
    } else if (fs::is_regular_file(st)) {
      if (::link(source.c_str(), target.c_str()) != 0)
        fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
    } else {
      continue;  // FIFOs, sockets, devices: the packer would skip them anyway
    }
    if (ec) return merge_error(source, ec);
  }
  return {};
}

// One of the job's two archives: <output>/<name>.tar.gz from every host's <name>/ dir.
base::Expected<pack::PackResult> pack_merged(const fs::path& output,
                                             const std::vector<HostDir>& hosts,
                                             const std::string& name) {
  std::vector<fs::path> filled;
  for (const HostDir& h : hosts)
    if (has_entries(h.base / name)) filled.push_back(h.base / name);
  fs::path source;
  if (filled.size() <= 1) {
    source = filled.empty() ? hosts.front().base / name : filled.front();
  } else {
    source = output / "artifacts" / name;
    std::error_code ec;
    fs::create_directories(source, ec);
    if (ec) return merge_error(source, ec);
    for (const fs::path& dir : filled)
      if (auto st = merge_into(dir, source); !st) return base::Unexpected(st.error());
  }
  std::error_code ec;
  fs::create_directories(source, ec);
  return pack::pack_directory(source, output / (name + ".tar.gz"));
}

}  // namespace

base::Expected<Artifacts> collect_artifacts(const fs::path& output,
                                            const std::vector<HostDir>& hosts) {
  Artifacts a;
  auto model = pack_merged(output, hosts, "model");
  if (!model) return base::Unexpected(model.error());
  a.model_archive = output / "model.tar.gz";
  a.model_files = model->files;
  auto out = pack_merged(output, hosts, "output");
  if (!out) return base::Unexpected(out.error());
  a.output_archive = output / "output.tar.gz";
  a.output_files = out->files;
  return a;
}

int job_exit_code(const std::vector<HostEnd>& ends) {
  if (!ends.empty() && ends.front().exit_code != 0) return ends.front().exit_code;
  for (const HostEnd& e : ends)
    if (e.exit_code != 0) return e.exit_code;
  return 0;
}

std::string failure_line(const HostDir& host) {
  std::ifstream in(host.base / "output" / "failure", std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  if (line.size() > 300) line = line.substr(0, 297) + "...";
  return base::printable(line);
}

}  // namespace smrun::local
