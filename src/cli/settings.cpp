#include "smrun/cli/settings.hpp"

#include <algorithm>
#include <charconv>

namespace smrun::cli {
namespace {

base::Expected<long long> parse_int(const std::string& name, const std::string& value, long long lo,
                                    long long hi) {
  long long n = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() || n < lo || n > hi)
    return base::fail(base::ErrorKind::kConfig, "environment variable " + name + "='" + value +
                                                    "': expected an integer from " +
                                                    std::to_string(lo) + " to " +
                                                    std::to_string(hi));
  return n;
}

}  // namespace

base::Expected<bool> parse_switch(const std::string& name, const std::string& value) {
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return base::fail(base::ErrorKind::kConfig, "environment variable " + name + "='" + value +
                                                  "': expected 1/true/yes/on or 0/false/no/off");
}

base::Expected<RunSettings> read_run_settings(const env::EnvSnapshot& env) {
  RunSettings s;
  if (auto v = env::lookup(env, "SAGEMAKER_BASE_DIR"); v && !v->empty()) s.base_dir = *v;
  if (auto v = env::lookup(env, "SMRUN_TERM_GRACE_SECONDS")) {
    auto n = parse_int("SMRUN_TERM_GRACE_SECONDS", *v, 0, 24 * 3600);
    if (!n) return base::Unexpected(n.error());
    s.term_grace = std::chrono::seconds(*n);
  }
  if (auto v = env::lookup(env, "SMRUN_PACK_MODEL")) {
    std::string lower = *v;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower == "required") {
      s.pack_model = true;
      s.pack_required = true;
    } else {
      auto b = parse_switch("SMRUN_PACK_MODEL", *v);
      if (!b)
        return base::fail(base::ErrorKind::kConfig,
                          "environment variable SMRUN_PACK_MODEL='" + *v +
                              "': expected required, 1/true/yes/on or 0/false/no/off");
      s.pack_model = *b;
    }
  }
  if (auto v = env::lookup(env, "SMRUN_MODEL_ARCHIVE"); v && !v->empty()) s.model_archive = *v;
  if (auto v = env::lookup(env, "SMRUN_PACK_LEVEL")) {
    auto n = parse_int("SMRUN_PACK_LEVEL", *v, 1, 12);
    if (!n) return base::Unexpected(n.error());
    s.pack_level = static_cast<int>(*n);
  }
  return s;
}

}  // namespace smrun::cli
