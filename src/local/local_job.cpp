#include "smrun/local/local_job.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <charconv>
#include <fstream>
#include <iterator>
#include <system_error>

#include "smrun/base/printable.hpp"
#include "smrun/code/submit_dir.hpp"
#include "smrun/config/job_config.hpp"
#include "smrun/config/py_json.hpp"

namespace smrun::local {

namespace fs = std::filesystem;
using base::ErrorKind;
using base::fail;
using config::PyValue;

namespace {

base::Unexpected<base::Error> usage(std::string message) {
  return fail(ErrorKind::kUsage, std::move(message));
}

std::optional<int> parse_count(const std::string& text, int low, int high) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < low || value > high)
    return std::nullopt;
  return value;
}

void set_hyperparameter(config::PyDict& hps, const std::string& key, std::string encoded) {
  for (auto& [k, v] : hps)
    if (k == key) {
      v = PyValue::str(std::move(encoded));
      return;
    }
  hps.emplace_back(key, PyValue::str(std::move(encoded)));
}

const std::string* find_hyperparameter(const config::PyDict& hps, std::string_view key) {
  for (const auto& [k, v] : hps)
    if (k == key) return &v.as_str();
  return nullptr;
}

// The request, field by field. `file` prefixes every error, with the JSON path:
// "request.json: $.InputDataConfig[0].ChannelName: expected a string".
struct RequestReader {
  std::string file;

  base::Unexpected<base::Error> error(const std::string& path, const std::string& what) const {
    return fail(ErrorKind::kConfig, fmt::format("{}: {}: {}", file, path, what));
  }
  base::Expected<std::optional<std::string>> string_at(const PyValue& object, const char* key,
                                                       const std::string& path) const {
    const PyValue* v = object.find(key);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_str())
      return error(path + "." + key,
                   fmt::format("expected a string, got {}", config::kind_name(v->kind())));
    return std::optional<std::string>(v->as_str());
  }
  base::Expected<const PyValue*> object_at(const PyValue& object, const char* key,
                                           const std::string& path) const {
    const PyValue* v = object.find(key);
    if (v == nullptr) return static_cast<const PyValue*>(nullptr);
    if (!v->is_dict())
      return error(path + "." + key,
                   fmt::format("expected an object, got {}", config::kind_name(v->kind())));
    return v;
  }
  // A file:// URI -> an existing directory.
  base::Expected<fs::path> local_dir(const std::string& uri, const std::string& path) const {
    if (uri.rfind("file://", 0) != 0)
      return error(path, fmt::format("smrun local reads local data only: expected a file:// URI "
                                     "of a directory, got '{}'",
                                     base::printable(uri)));
    auto p = code::file_uri_to_path(uri, path);
    if (!p) return error(path, p.error().message);
    std::error_code ec;
    if (!fs::is_directory(*p, ec))
      return error(path, fmt::format("{} is not a directory", base::printable(p->string())));
    return fs::absolute(*p);
  }
};

base::Status read_request(const fs::path& file, LocalJob& job, std::optional<fs::path>& output) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return fail(ErrorKind::kConfig,
                fmt::format("{}: cannot read the request file", base::printable(file.string())));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = config::parse_py_json(text);
  RequestReader r{base::printable(file.string())};
  if (!doc)
    return fail(ErrorKind::kConfig,
                fmt::format("{}: not JSON: {}", r.file, config::format_json_error(doc.error())));
  if (!doc->is_dict()) return r.error("$", "expected a CreateTrainingJob request (a JSON object)");

  auto name = r.string_at(*doc, "TrainingJobName", "$");
  if (!name) return base::Unexpected(name.error());
  if (*name) job.job_name = **name;

  if (const PyValue* hps = doc->find("HyperParameters"); hps != nullptr) {
    if (!hps->is_dict()) return r.error("$.HyperParameters", "expected an object of strings");
    for (const auto& [k, v] : hps->as_dict()) {
      if (!v.is_str())
        return r.error("$.HyperParameters." + base::printable(k),
                       fmt::format("expected a string (the SDK sends every value as the JSON "
                                   "text of the value), got {}",
                                   config::kind_name(v.kind())));
      set_hyperparameter(job.hyperparameters, k, v.as_str());
    }
  }

  if (const PyValue* env = doc->find("Environment"); env != nullptr) {
    if (!env->is_dict()) return r.error("$.Environment", "expected an object of strings");
    for (const auto& [k, v] : env->as_dict()) {
      if (!v.is_str()) return r.error("$.Environment." + base::printable(k), "expected a string");
      if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos)
        return r.error("$.Environment",
                       fmt::format("'{}' is not a variable name", base::printable(k)));
      job.environment.emplace_back(k, v.as_str());
    }
  }

  auto resource = r.object_at(*doc, "ResourceConfig", "$");
  if (!resource) return base::Unexpected(resource.error());
  if (*resource) {
    if (const PyValue* count = (*resource)->find("InstanceCount"); count != nullptr) {
      auto n = count->as_int64();
      if (!count->is_int() || !n || *n < 1 || *n > kMaxHosts)
        return r.error("$.ResourceConfig.InstanceCount",
                       fmt::format("expected an integer from 1 to {}", kMaxHosts));
      job.hosts = static_cast<int>(*n);
    }
    auto type = r.string_at(**resource, "InstanceType", "$.ResourceConfig");
    if (!type) return base::Unexpected(type.error());
    if (*type) job.instance_type = **type;
  }

  if (const PyValue* inputs = doc->find("InputDataConfig"); inputs != nullptr) {
    if (!inputs->is_list()) return r.error("$.InputDataConfig", "expected a list of channels");
    for (std::size_t i = 0; i < inputs->as_list().size(); ++i) {
      const PyValue& c = inputs->as_list()[i];
      const std::string path = fmt::format("$.InputDataConfig[{}]", i);
      if (!c.is_dict()) return r.error(path, "expected an object");
      auto channel_name = r.string_at(c, "ChannelName", path);
      if (!channel_name) return base::Unexpected(channel_name.error());
      if (!*channel_name) return r.error(path + ".ChannelName", "missing");
      Channel channel{**channel_name, {}, {}};
      auto content_type = r.string_at(c, "ContentType", path);
      if (!content_type) return base::Unexpected(content_type.error());
      if (*content_type) channel.content_type = **content_type;
      auto source = r.object_at(c, "DataSource", path);
      if (!source) return base::Unexpected(source.error());
      if (!*source) return r.error(path + ".DataSource", "missing");
      std::optional<std::string> uri;
      std::string uri_path;
      for (const auto& [kind, field] : {std::pair{"S3DataSource", "S3Uri"},
                                        std::pair{"FileSystemDataSource", "DirectoryPath"}}) {
        auto ds = r.object_at(**source, kind, path + ".DataSource");
        if (!ds) return base::Unexpected(ds.error());
        if (!*ds) continue;
        uri_path = path + ".DataSource." + kind;
        auto u = r.string_at(**ds, field, uri_path);
        if (!u) return base::Unexpected(u.error());
        if (!*u) return r.error(uri_path + "." + field, "missing");
        uri = **u;
        uri_path += std::string(".") + field;
        if (std::string_view(kind) == "FileSystemDataSource") uri = "file://" + *uri;
      }
      if (!uri) return r.error(path + ".DataSource", "expected S3DataSource.S3Uri (a file:// URI)");
      auto dir = r.local_dir(*uri, uri_path);
      if (!dir) return base::Unexpected(dir.error());
      channel.dir = std::move(*dir);
      job.channels.push_back(std::move(channel));
    }
  }

  auto checkpoint = r.object_at(*doc, "CheckpointConfig", "$");
  if (!checkpoint) return base::Unexpected(checkpoint.error());
  if (*checkpoint) {
    auto uri = r.string_at(**checkpoint, "S3Uri", "$.CheckpointConfig");
    if (!uri) return base::Unexpected(uri.error());
    if (*uri) {
      auto dir = r.local_dir(**uri, "$.CheckpointConfig.S3Uri");
      if (!dir) return base::Unexpected(dir.error());
      job.checkpoint_dir = std::move(*dir);
      job.checkpoint_uri = **uri;
    }
  }

  auto output_config = r.object_at(*doc, "OutputDataConfig", "$");
  if (!output_config) return base::Unexpected(output_config.error());
  if (*output_config) {
    auto uri = r.string_at(**output_config, "S3OutputPath", "$.OutputDataConfig");
    if (!uri) return base::Unexpected(uri.error());
    if (*uri) {
      auto dir = r.local_dir(**uri, "$.OutputDataConfig.S3OutputPath");
      if (!dir) return base::Unexpected(dir.error());
      output = std::move(*dir);
    }
  }
  return {};
}

bool is_archive_name(const std::string& name) {
  for (const char* suffix : {".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz", ".tar.zst"})
    if (name.size() > std::string_view(suffix).size() &&
        name.compare(name.size() - std::string_view(suffix).size(), std::string::npos, suffix) == 0)
      return true;
  return false;
}

}  // namespace

std::string encode_hyperparameter(const std::string& value) {
  if (auto parsed = config::parse_py_json(value)) return config::dump_py_json(*parsed);
  return config::dump_py_json(PyValue::str(value));
}

base::Expected<LocalJob> make_local_job(const LocalArgs& args, const std::string& now) {
  LocalJob job;
  std::optional<fs::path> request_output;
  if (args.request)
    if (auto st = read_request(*args.request, job, request_output); !st)
      return base::Unexpected(st.error());

  if (args.job_name) job.job_name = *args.job_name;
  if (job.job_name.empty()) job.job_name = "smrun-local-" + now;
  // SageMaker's rule for job names; they become directory and S3 key parts.
  if (job.job_name.size() > 63 ||
      !std::all_of(
          job.job_name.begin(), job.job_name.end(),
          [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }) ||
      job.job_name.front() == '-')
    return usage(
        fmt::format("job name '{}' is not valid: expected 1-63 letters, digits and '-', "
                    "not starting with '-'",
                    base::printable(job.job_name)));

  if (args.hosts) {
    auto n = parse_count(*args.hosts, 1, kMaxHosts);
    if (!n)
      return usage(fmt::format("--hosts {}: expected an integer from 1 to {}",
                               base::printable(*args.hosts), kMaxHosts));
    job.hosts = *n;
  }
  if (args.nproc_per_node) {
    auto n = parse_count(*args.nproc_per_node, 1, 1024);
    if (!n)
      return usage(fmt::format("--nproc-per-node {}: expected an integer from 1 to 1024",
                               base::printable(*args.nproc_per_node)));
    job.nproc_per_node = *n;
  }
  if (args.instance_type) job.instance_type = *args.instance_type;

  for (const std::string& item : args.hyperparameters) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      return usage(fmt::format("--hp {}: expected KEY=VALUE", base::printable(item)));
    set_hyperparameter(job.hyperparameters, item.substr(0, eq),
                       encode_hyperparameter(item.substr(eq + 1)));
  }

  for (const std::string& item : args.channels) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      return usage(fmt::format("--channel {}: expected NAME=DIR", base::printable(item)));
    Channel channel{item.substr(0, eq), fs::path(item.substr(eq + 1)), {}};
    std::error_code ec;
    if (!fs::is_directory(channel.dir, ec))
      return usage(fmt::format("--channel {}: {} is not a directory", base::printable(item),
                               base::printable(channel.dir.string())));
    channel.dir = fs::absolute(channel.dir);
    // A flag replaces the request's channel of the same name.
    std::erase_if(job.channels, [&](const Channel& c) { return c.name == channel.name; });
    job.channels.push_back(std::move(channel));
  }
  for (const Channel& c : job.channels)
    if (!config::valid_channel_name(c.name))
      return usage(
          fmt::format("channel name '{}' is not valid: expected letters, digits, '.', "
                      "'-' and '_' only, and not '.' or '..'",
                      base::printable(c.name)));

  if (args.checkpoint_dir) {
    std::error_code ec;
    if (!fs::is_directory(*args.checkpoint_dir, ec))
      return usage(fmt::format("--checkpoint-dir {}: not a directory",
                               base::printable(args.checkpoint_dir->string())));
    job.checkpoint_dir = fs::absolute(*args.checkpoint_dir);
    job.checkpoint_uri = "file://" + job.checkpoint_dir->string();
  }

  // The program and where it comes from, as the SDK's estimator takes them: entry_point inside
  // source_dir, or a lone entry_point file shipped on its own.
  std::string program;
  if (args.program) {
    program = *args.program;
  } else if (const std::string* hp =
                 find_hyperparameter(job.hyperparameters, "sagemaker_program")) {
    auto decoded = config::parse_py_json(*hp);
    program = decoded && decoded->is_str() ? decoded->as_str() : *hp;
  }
  if (program.empty())
    return usage(
        "no program: give --program (the entry point, e.g. train.py) or "
        "sagemaker_program in the request's HyperParameters");
  std::optional<std::string> submit;
  if (args.source) {
    const std::string& source = *args.source;
    if (source.rfind("s3://", 0) == 0) {
      submit = source;
    } else {
      fs::path dir = source.rfind("file://", 0) == 0 ? fs::path() : fs::path(source);
      if (dir.empty()) {
        auto p = code::file_uri_to_path(source, "--source-dir");
        if (!p) return base::Unexpected(p.error());
        dir = *p;
      }
      std::error_code ec;
      if (!fs::exists(dir, ec))
        return fail(ErrorKind::kCode, fmt::format("--source-dir {}: no such file or directory",
                                                  base::printable(source)));
      dir = fs::absolute(dir);
      if (fs::is_directory(dir, ec) && !fs::exists(dir / program, ec))
        return fail(ErrorKind::kCode,
                    fmt::format("--program {}: not found in the source dir {}",
                                base::printable(program), base::printable(dir.string())));
      if (!fs::is_directory(dir, ec) && !is_archive_name(dir.filename().string()))
        return fail(ErrorKind::kCode,
                    fmt::format("--source-dir {}: expected a directory or a tar archive "
                                "(.tar.gz, .tgz, .tar, ...)",
                                base::printable(source)));
      submit = "file://" + dir.string();
    }
  } else if (const std::string* hp =
                 find_hyperparameter(job.hyperparameters, "sagemaker_submit_directory")) {
    auto decoded = config::parse_py_json(*hp);
    submit = decoded && decoded->is_str() ? decoded->as_str() : *hp;
  } else {
    // No source dir: the entry point is shipped alone, as the SDK does.
    std::error_code ec;
    if (!fs::is_regular_file(program, ec))
      return fail(ErrorKind::kCode,
                  fmt::format("--program {}: no such file (without --source-dir the program is "
                              "a path to the script)",
                              base::printable(program)));
    submit = "file://" + fs::absolute(program).string();
    program = fs::path(program).filename().string();
  }
  set_hyperparameter(job.hyperparameters, "sagemaker_program",
                     config::dump_py_json(PyValue::str(program)));
  set_hyperparameter(job.hyperparameters, "sagemaker_submit_directory",
                     config::dump_py_json(PyValue::str(*submit)));
  if (!find_hyperparameter(job.hyperparameters, "sagemaker_container_log_level"))
    set_hyperparameter(job.hyperparameters, "sagemaker_container_log_level", "20");
  set_hyperparameter(job.hyperparameters, "sagemaker_job_name",
                     config::dump_py_json(PyValue::str(job.job_name)));

  // Where the hosts and the artifacts go: new or empty, never over the user's files.
  if (args.output)
    job.output_dir = *args.output;
  else if (request_output)
    job.output_dir = *request_output / job.job_name;
  else
    job.output_dir = fs::path(job.job_name);
  job.output_dir = fs::absolute(job.output_dir).lexically_normal();
  std::error_code ec;
  if (fs::exists(job.output_dir, ec)) {
    if (!fs::is_directory(job.output_dir, ec))
      return usage(fmt::format("--output {}: exists and is not a directory",
                               base::printable(job.output_dir.string())));
    if (!fs::is_empty(job.output_dir, ec))
      return usage(
          fmt::format("--output {}: exists and is not empty (smrun local never writes "
                      "over earlier results; choose a new dir or remove it)",
                      base::printable(job.output_dir.string())));
  }
  return job;
}

}  // namespace smrun::local
