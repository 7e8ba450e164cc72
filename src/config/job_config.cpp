#include "smrun/config/job_config.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "smrun/base/printable.hpp"
#include "smrun/config/py_json.hpp"

namespace smrun::config {
namespace {

using base::ErrorKind;
using base::fail;

// Config files are small; anything this large is a mistake, and reading it all would let a
// broken file exhaust memory before we could complain.
constexpr std::size_t kMaxConfigBytes = 64u << 20;

std::string type_error(const std::string& file, const std::string& path, const char* expected,
                       const PyValue& got) {
  return file + ": " + path + ": expected " + expected + ", got " + kind_name(got.kind());
}

base::Expected<std::string> get_string(const PyValue& obj, const std::string& key,
                                       const std::string& file, const std::string& path) {
  const PyValue* v = obj.find(key);
  if (v == nullptr)
    return fail(ErrorKind::kConfig, file + ": " + path + ": required field missing");
  if (!v->is_str()) return fail(ErrorKind::kConfig, type_error(file, path, "a string", *v));
  return v->as_str();
}

base::Status get_optional_string(const PyValue& obj, const std::string& key,
                                 const std::string& file, std::string& out) {
  const PyValue* v = obj.find(key);
  if (v == nullptr) return {};
  if (!v->is_str()) return fail(ErrorKind::kConfig, type_error(file, "$." + key, "a string", *v));
  out = v->as_str();
  return {};
}

base::Expected<std::vector<std::string>> get_string_list(const PyValue& v, const std::string& file,
                                                         const std::string& path) {
  if (!v.is_list()) return fail(ErrorKind::kConfig, type_error(file, path, "a list of strings", v));
  std::vector<std::string> out;
  const PyList& list = v.as_list();
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_str())
      return fail(ErrorKind::kConfig,
                  type_error(file, path + "[" + std::to_string(i) + "]", "a string", list[i]));
    out.push_back(list[i].as_str());
  }
  return out;
}

}  // namespace

base::Expected<std::optional<PyValue>> read_json_file(const std::filesystem::path& path) {
  const std::string label = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<PyValue>();
    return fail(ErrorKind::kConfig, label + ": cannot open: " + base::errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(ErrorKind::kConfig, label + ": expected a regular JSON file");
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxConfigBytes) {
    ::close(fd);
    return fail(ErrorKind::kConfig, label + ": file is " + std::to_string(st.st_size) +
                                        " bytes; config files are limited to 64 MiB");
  }
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail(ErrorKind::kConfig, label + ": read failed: " + base::errno_text(err));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  auto parsed = parse_py_json(text);
  if (!parsed) {
    const JsonSyntaxError& e = parsed.error();
    return fail(ErrorKind::kConfig, label + ": invalid JSON: " + e.message + " at line " +
                                        std::to_string(e.line) + " column " +
                                        std::to_string(e.column));
  }
  return std::optional<PyValue>(std::move(parsed).value());
}

base::Expected<ResourceConfig> parse_resource_config(const PyValue& doc, const std::string& file) {
  if (!doc.is_dict()) return fail(ErrorKind::kConfig, type_error(file, "$", "a JSON object", doc));
  ResourceConfig rc;
  rc.raw = doc;

  auto current_host = get_string(doc, "current_host", file, "$.current_host");
  if (!current_host) return base::Unexpected(current_host.error());
  rc.current_host = *current_host;

  const PyValue* hosts = doc.find("hosts");
  if (hosts == nullptr) return fail(ErrorKind::kConfig, file + ": $.hosts: required field missing");
  auto host_list = get_string_list(*hosts, file, "$.hosts");
  if (!host_list) return base::Unexpected(host_list.error());
  if (host_list->empty())
    return fail(ErrorKind::kConfig, file + ": $.hosts: expected at least one host, got []");
  rc.hosts = std::move(*host_list);
  // The reference runs one host silently here (and fails only later, in hosts.index(), when
  // distributed): a host that is not in its own cluster is a broken config.
  if (std::find(rc.hosts.begin(), rc.hosts.end(), rc.current_host) == rc.hosts.end()) {
    std::string listed;
    for (const auto& h : rc.hosts) listed += (listed.empty() ? "" : ", ") + base::printable(h);
    return fail(ErrorKind::kConfig, file + ": $.current_host: '" +
                                        base::printable(rc.current_host) +
                                        "' is not one of $.hosts [" + listed + "]");
  }

  for (auto [key, field] : {std::pair{"current_instance_type", &rc.current_instance_type},
                            std::pair{"current_group_name", &rc.current_group_name},
                            std::pair{"network_interface_name", &rc.network_interface_name}}) {
    if (auto st = get_optional_string(doc, key, file, *field); !st)
      return base::Unexpected(st.error());
  }

  if (const PyValue* topo = doc.find("topology"); topo != nullptr && !topo->is_none())
    rc.topology = *topo;

  if (const PyValue* groups = doc.find("instance_groups");
      groups != nullptr && !groups->is_none()) {
    if (!groups->is_list())
      return fail(ErrorKind::kConfig, type_error(file, "$.instance_groups", "a list", *groups));
    const PyList& list = groups->as_list();
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = "$.instance_groups[" + std::to_string(i) + "]";
      if (!list[i].is_dict())
        return fail(ErrorKind::kConfig, type_error(file, path, "an object", list[i]));
      InstanceGroup group;
      group.raw = list[i];
      auto name = get_string(list[i], "instance_group_name", file, path + ".instance_group_name");
      if (!name) return base::Unexpected(name.error());
      group.name = *name;
      const PyValue* group_hosts = list[i].find("hosts");
      if (group_hosts == nullptr)
        return fail(ErrorKind::kConfig, file + ": " + path + ".hosts: required field missing");
      auto gh = get_string_list(*group_hosts, file, path + ".hosts");
      if (!gh) return base::Unexpected(gh.error());
      group.hosts = std::move(*gh);
      rc.instance_groups.push_back(std::move(group));
    }
  }
  return rc;
}

bool valid_channel_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
         });
}

base::Expected<CheckpointConfig> parse_checkpoint_config(const PyValue& doc,
                                                         const std::string& file) {
  if (!doc.is_dict()) return fail(ErrorKind::kConfig, type_error(file, "$", "a JSON object", doc));
  CheckpointConfig cc;
  std::string local;
  if (auto st = get_optional_string(doc, "LocalPath", file, local); !st)
    return base::Unexpected(st.error());
  if (!local.empty()) cc.local_path = local;
  if (const PyValue* s3 = doc.find("S3Uri"); s3 != nullptr) {
    if (!s3->is_str())
      return fail(ErrorKind::kConfig, type_error(file, "$.S3Uri", "a string", *s3));
    cc.s3_uri = s3->as_str();
  }
  return cc;
}

base::Expected<JobConfig> load_job_config(const MlPaths& paths, const std::string& hostname) {
  JobConfig job;

  auto hps = read_json_file(paths.hyperparameters_file);
  if (!hps) return base::Unexpected(hps.error());
  if (hps->has_value()) {
    if (!(*hps)->is_dict())
      return fail(ErrorKind::kConfig,
                  type_error(paths.hyperparameters_file.string(), "$", "a JSON object", **hps));
    job.hyperparameters = (*hps)->as_dict();
  }

  auto rc = read_json_file(paths.resource_config_file);
  if (!rc) return base::Unexpected(rc.error());
  PyValue rc_doc;
  if (rc->has_value()) {
    rc_doc = std::move(**rc);
  } else {
    // Same document the reference writes when it has to invent a local job (environment.py).
    job.resource_config_missing = true;
    PyDict group{{"instance_group_name", PyValue::str("homogeneousCluster")},
                 {"instance_type", PyValue::str("local")},
                 {"hosts", PyValue::list({PyValue::str(hostname)})}};
    rc_doc = PyValue::dict({{"current_host", PyValue::str(hostname)},
                            {"hosts", PyValue::list({PyValue::str(hostname)})},
                            {"current_instance_group", PyValue::str("homogeneousCluster")},
                            {"instance_groups", PyValue::list({PyValue::dict(std::move(group))})}});
  }
  auto resource = parse_resource_config(rc_doc, paths.resource_config_file.string());
  if (!resource) return base::Unexpected(resource.error());
  job.resource = std::move(*resource);

  auto idc = read_json_file(paths.input_data_config_file);
  if (!idc) return base::Unexpected(idc.error());
  if (idc->has_value()) {
    if (!(*idc)->is_dict())
      return fail(ErrorKind::kConfig,
                  type_error(paths.input_data_config_file.string(), "$", "a JSON object", **idc));
    // SageMaker's rule for channel names; `..` or `a/b` would put SM_CHANNEL_* outside the data
    // dir.
    for (const auto& [name, value] : (*idc)->as_dict()) {
      if (!valid_channel_name(name))
        return fail(ErrorKind::kConfig,
                    paths.input_data_config_file.string() + ": channel name '" +
                        base::printable(name) +
                        "' is not valid: expected letters, digits, '.', '-' and '_' only, and "
                        "not '.' or '..'");
    }
    job.input_data_config = std::move(**idc);
  }

  auto ckpt = read_json_file(paths.checkpoint_config_file);
  if (!ckpt) return base::Unexpected(ckpt.error());
  if (ckpt->has_value()) {
    auto cc = parse_checkpoint_config(**ckpt, paths.checkpoint_config_file.string());
    if (!cc) return base::Unexpected(cc.error());
    job.checkpoint = std::move(*cc);
  }
  return job;
}

}  // namespace smrun::config
