#include "smrun/settings/settings.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "smrun/base/printable.hpp"
#include "smrun/config/py_json.hpp"
#include "smrun_settings_table.hpp"

namespace smrun::settings {
namespace {

using generated::kSettingRules;
using generated::SettingRule;

const SettingRule& rule_of(std::string_view name) {
  for (const auto& rule : kSettingRules)
    if (rule.name == name) return rule;
  // Only reachable through a name missing from env-spec/variables.json: a build-time mistake
  // that the settings tests catch.
  std::fprintf(stderr, "smrun: internal error: %.*s has no rule in env-spec/variables.json\n",
               static_cast<int>(name.size()), name.data());
  std::abort();
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads one variable against its rule: the raw text (or the rule's default when unset), and the
// error every kind of bad value gets.
class Reader {
 public:
  explicit Reader(const Lookup& lookup) : m_lookup(lookup) {}

  // The value to parse: the variable's, else the default; nullopt when neither exists.
  std::optional<std::string> raw(const SettingRule& rule, bool empty_is_unset) const {
    auto value = m_lookup(rule.name);
    if (value && !(empty_is_unset && value->empty())) return value;
    if (rule.has_default) return std::string(rule.default_value);
    return std::nullopt;
  }

  base::Error bad(const SettingRule& rule, std::string_view expected) const {
    const auto value = m_lookup(rule.name);
    return base::Error(
        base::ErrorKind::kConfig,
        fmt::format("environment variable {}='{}': expected {}", rule.name,
                    base::printable(value.value_or(std::string(rule.default_value))), expected));
  }

  base::Expected<std::optional<long long>> integer(std::string_view name) const {
    const SettingRule& rule = rule_of(name);
    auto text = raw(rule, false);
    if (!text) return std::optional<long long>();
    long long n = 0;
    const char* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, n);
    if (text->empty() || ec != std::errc() || ptr != end || n < rule.min || n > rule.max)
      return base::Unexpected(
          bad(rule, fmt::format("an integer from {} to {}", rule.min, rule.max)));
    return std::optional<long long>(n);
  }

  // A switch's value, or its `extra` word (returned as nullopt with *extra_seen set).
  base::Expected<std::optional<bool>> on_off(std::string_view name,
                                             bool* extra_seen = nullptr) const {
    const SettingRule& rule = rule_of(name);
    auto text = raw(rule, false);
    if (!text) return std::optional<bool>();
    const std::string v = lower(*text);
    if (v == "1" || v == "true" || v == "yes" || v == "on") return std::optional<bool>(true);
    if (v == "0" || v == "false" || v == "no" || v == "off") return std::optional<bool>(false);
    if (!rule.extra.empty() && v == rule.extra && extra_seen != nullptr) {
      *extra_seen = true;
      return std::optional<bool>();
    }
    const std::string words = "1/true/yes/on or 0/false/no/off";
    return base::Unexpected(
        bad(rule, rule.extra.empty() ? words : fmt::format("{}, {}", rule.extra, words)));
  }

  base::Expected<std::optional<std::string>> choice(std::string_view name) const {
    const SettingRule& rule = rule_of(name);
    auto text = raw(rule, false);
    if (!text) return std::optional<std::string>();
    std::string list;
    std::string_view rest = rule.choices;
    while (!rest.empty()) {
      const auto bar = rest.find('|');
      const std::string_view item = rest.substr(0, bar);
      if (item == *text) return text;
      list += (list.empty() ? "" : ", ") + std::string(item);
      rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
    }
    return base::Unexpected(bad(rule, "one of " + list));
  }

  std::optional<std::string> text(std::string_view name) const { return raw(rule_of(name), true); }

  // A JSON array of non-empty strings; for argv_or_path a text not starting with '[' is one
  // program path. `allow_empty`: [] is a valid value.
  base::Expected<std::vector<std::string>> argv(std::string_view name, bool allow_empty) const {
    const SettingRule& rule = rule_of(name);
    auto text = raw(rule, true);
    if (!text) return std::vector<std::string>{};
    if (rule.type == "argv_or_path" && text->front() != '[') return std::vector<std::string>{*text};
    const std::string expected = allow_empty ? "a JSON array of non-empty strings, or []"
                                             : "a non-empty JSON array of non-empty strings";
    auto doc = config::parse_py_json(*text);
    if (!doc)
      return base::Unexpected(bad(rule, fmt::format("{} (invalid JSON: {})", expected,
                                                    config::format_json_error(doc.error()))));
    if (!doc->is_list() || (!allow_empty && doc->as_list().empty()))
      return base::Unexpected(bad(rule, expected));
    std::vector<std::string> out;
    for (const auto& item : doc->as_list()) {
      if (!item.is_str() || item.as_str().empty()) return base::Unexpected(bad(rule, expected));
      out.push_back(item.as_str());
    }
    return out;
  }

  // "0", "0,8-15": ranks and inclusive ranges, in any order.
  base::Expected<std::optional<std::vector<std::pair<int, int>>>> rank_set(
      std::string_view name) const {
    const SettingRule& rule = rule_of(name);
    auto value = raw(rule, false);
    if (!value) return std::optional<std::vector<std::pair<int, int>>>();
    const auto number = [](std::string_view text, int& out) {
      text = trim(text);
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, out);
      return !text.empty() && ec == std::errc() && ptr == end && out >= 0;
    };
    std::vector<std::pair<int, int>> ranges;
    std::string_view text = *value;
    while (true) {
      const auto comma = text.find(',');
      const std::string_view item = text.substr(0, comma);
      const auto dash = item.find('-');
      int first = 0;
      int last = 0;
      bool ok = false;
      if (dash == std::string_view::npos) {
        ok = number(item, first);
        last = first;
      } else {
        ok = number(item.substr(0, dash), first) && number(item.substr(dash + 1), last) &&
             first <= last;
      }
      if (!ok)
        return base::Unexpected(
            bad(rule, "ranks and ranges such as 0 or 0,8-15 (non-negative, first <= last)"));
      ranges.emplace_back(first, last);
      if (comma == std::string_view::npos) break;
      text.remove_prefix(comma + 1);
    }
    return std::optional<std::vector<std::pair<int, int>>>(std::move(ranges));
  }

  base::Expected<std::map<std::string, std::string>> host_addresses(std::string_view name) const {
    const SettingRule& rule = rule_of(name);
    std::map<std::string, std::string> out;
    auto value = raw(rule, true);
    if (!value) return out;
    std::string_view text = *value;
    while (!text.empty()) {
      const auto comma = text.find(',');
      const std::string_view item = trim(text.substr(0, comma));
      text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
      if (item.empty()) continue;
      const auto eq = item.find('=');
      const std::string host(trim(item.substr(0, eq == std::string_view::npos ? 0 : eq)));
      const std::string address(eq == std::string_view::npos ? "" : trim(item.substr(eq + 1)));
      if (host.empty() || address.empty())
        return base::Unexpected(bad(
            rule,
            fmt::format("host=address,... (\"{}\" is not host=address)", base::printable(item))));
      unsigned char buf[sizeof(in6_addr)];
      if (::inet_pton(AF_INET, address.c_str(), buf) != 1 &&
          ::inet_pton(AF_INET6, address.c_str(), buf) != 1)
        return base::Unexpected(
            bad(rule, fmt::format("numeric IP addresses ({} is not one, for host {})",
                                  base::printable(address), base::printable(host))));
      if (!out.emplace(host, address).second)
        return base::Unexpected(
            bad(rule, fmt::format("each host once ({} is given twice)", base::printable(host))));
    }
    return out;
  }

  // SageMaker's metric definitions (JSON); the error says which definition is wrong and how.
  base::Expected<std::vector<metrics::MetricDefinition>> metric_definitions(
      std::string_view name) const {
    const SettingRule& rule = rule_of(name);
    auto value = raw(rule, true);
    if (!value) return std::vector<metrics::MetricDefinition>{};
    auto parsed = metrics::parse_definitions(*value);
    if (!parsed)
      return base::Unexpected(bad(rule, "a JSON list of {\"Name\": ..., \"Regex\": ...} objects; " +
                                            parsed.error().message));
    return parsed;
  }

 private:
  const Lookup& m_lookup;
};

template <typename T>
std::optional<int> as_int(const std::optional<T>& v) {
  return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

}  // namespace

base::Expected<Settings> read_settings(const Lookup& lookup) {
  const Reader r(lookup);
  Settings s;
#define SMRUN_READ(var, expr) \
  auto var = (expr);          \
  if (!var) return base::Unexpected(var.error());

  SMRUN_READ(cpus, r.integer("SMRUN_NUM_CPUS"));
  SMRUN_READ(gpus, r.integer("SMRUN_NUM_GPUS"));
  SMRUN_READ(neurons, r.integer("SMRUN_NUM_NEURONS"));
  s.num_cpus = as_int(*cpus);
  s.num_gpus = as_int(*gpus);
  s.num_neurons = as_int(*neurons);

  SMRUN_READ(grace, r.integer("SMRUN_TERM_GRACE_SECONDS"));
  s.term_grace = std::chrono::seconds(grace->value());
  SMRUN_READ(restarts, r.integer("SMRUN_MAX_RESTARTS"));
  s.max_restarts = static_cast<int>(restarts->value());
  bool required = false;
  SMRUN_READ(pack, r.on_off("SMRUN_PACK_MODEL", &required));
  s.pack_model = required ? PackMode::kRequired : (pack->value() ? PackMode::kOn : PackMode::kOff);
  if (auto v = r.text("SMRUN_MODEL_ARCHIVE")) s.model_archive = *v;
  SMRUN_READ(level, r.integer("SMRUN_PACK_LEVEL"));
  s.pack_level = static_cast<int>(level->value());
  SMRUN_READ(prefix, r.on_off("SMRUN_LOG_PREFIX"));
  s.log_prefix = *prefix;
  if (auto v = r.text("SMRUN_RANK_LOG_DIR")) s.rank_log_dir = *v;
  SMRUN_READ(log_ranks, r.rank_set("SMRUN_LOG_RANKS"));
  s.log_ranks = std::move(*log_ranks);
  SMRUN_READ(definitions, r.metric_definitions("SMRUN_METRIC_DEFINITIONS"));
  s.metric_definitions = std::move(*definitions);
  SMRUN_READ(metric_interval, r.integer("SMRUN_METRIC_INTERVAL_SECONDS"));
  s.metric_interval = as_int(*metric_interval);

  s.python = r.text("SMRUN_PYTHON").value_or("python3");
  SMRUN_READ(launcher, r.choice("SMRUN_LAUNCHER"));
  s.launcher = *launcher;
  SMRUN_READ(nproc, r.integer("SMRUN_NPROC_PER_NODE"));
  s.nproc_per_node = as_int(*nproc);
  SMRUN_READ(master_port, r.integer("SMRUN_MASTER_PORT"));
  s.master_port = static_cast<std::uint16_t>(master_port->value());
  SMRUN_READ(addr_ip, r.on_off("SMRUN_MASTER_ADDR_IP"));
  s.master_addr_ip = addr_ip->value();
  SMRUN_READ(torchrun, r.argv("SMRUN_TORCHRUN", false));
  s.torchrun = std::move(*torchrun);
  s.mpi_rsh_agent = r.text("SMRUN_MPI_RSH_AGENT");
  SMRUN_READ(sshd, r.argv("SMRUN_MPI_SSHD", true));
  s.mpi_sshd = std::move(*sshd);
  SMRUN_READ(ssh_port, r.integer("SMRUN_MPI_SSH_PORT"));
  s.mpi_ssh_port = static_cast<std::uint16_t>(ssh_port->value());

  SMRUN_READ(control_port, r.integer("SMRUN_CONTROL_PORT"));
  s.control_port = static_cast<std::uint16_t>(control_port->value());
  SMRUN_READ(host_wait, r.integer("SMRUN_HOST_WAIT_SECONDS"));
  s.host_wait = std::chrono::seconds(host_wait->value());
  SMRUN_READ(heartbeat, r.integer("SMRUN_HEARTBEAT_TIMEOUT_SECONDS"));
  s.heartbeat_timeout = std::chrono::seconds(heartbeat->value());
  SMRUN_READ(verdict, r.integer("SMRUN_VERDICT_WAIT_SECONDS"));
  s.verdict_wait = std::chrono::seconds(verdict->value());
  SMRUN_READ(addresses, r.host_addresses("SMRUN_HOST_ADDRESSES"));
  s.host_addresses = std::move(*addresses);
  s.cluster_token = r.text("SMRUN_CLUSTER_TOKEN").value_or("");

  SMRUN_READ(attempts, r.integer("SMRUN_S3_MAX_ATTEMPTS"));
  s.s3_max_attempts = static_cast<int>(attempts->value());
  SMRUN_READ(retry, r.integer("SMRUN_S3_RETRY_SECONDS"));
  s.s3_retry = std::chrono::seconds(retry->value());
  SMRUN_READ(timeout, r.integer("SMRUN_S3_TIMEOUT_SECONDS"));
  s.s3_timeout = std::chrono::seconds(timeout->value());
  SMRUN_READ(concurrency, r.integer("SMRUN_S3_CONCURRENCY"));
  s.s3_concurrency = static_cast<int>(concurrency->value());
  SMRUN_READ(part, r.integer("SMRUN_S3_PART_SIZE_MB"));
  s.s3_part_size_mb = static_cast<int>(part->value());
  SMRUN_READ(progress, r.integer("SMRUN_S3_PROGRESS_SECONDS"));
  s.s3_progress = std::chrono::seconds(progress->value());
  SMRUN_READ(sync_wait, r.integer("SMRUN_S3_SYNC_WAIT_SECONDS"));
  s.s3_sync_wait = std::chrono::seconds(sync_wait->value());
#undef SMRUN_READ
  return s;
}

base::Expected<Settings> read_settings(
    const std::map<std::string, std::string, std::less<>>& environment) {
  return read_settings([&environment](std::string_view name) -> std::optional<std::string> {
    auto it = environment.find(name);
    if (it == environment.end()) return std::nullopt;
    return it->second;
  });
}

std::vector<std::string> unknown_settings(
    const std::map<std::string, std::string, std::less<>>& environment) {
  std::vector<std::string> out;
  for (const auto& entry : environment) {
    const std::string& name = entry.first;  // a plain reference: clang cannot capture a binding
    if (!name.starts_with("SMRUN_")) continue;
    const bool known = std::any_of(std::begin(kSettingRules), std::end(kSettingRules),
                                   [&](const SettingRule& rule) { return rule.name == name; });
    if (!known) out.push_back(name);
  }
  return out;
}

bool rank_shown(const Settings& settings, int rank) {
  if (!settings.log_ranks) return true;
  return std::any_of(settings.log_ranks->begin(), settings.log_ranks->end(),
                     [rank](const auto& r) { return rank >= r.first && rank <= r.second; });
}

std::vector<std::string_view> setting_names() {
  std::vector<std::string_view> out;
  for (const auto& rule : kSettingRules) out.push_back(rule.name);
  return out;
}

}  // namespace smrun::settings
