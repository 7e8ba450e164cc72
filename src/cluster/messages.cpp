#include "smrun/cluster/messages.hpp"
#include "messages_json.hpp"

#include <chrono>

#include <fmt/format.h>

namespace smrun::cluster {

int FailureRecord::exit_status() const {
  int code = signal != 0 ? 128 + signal : exit_code;
  return code != 0 ? code : 1;
}

std::string describe(const FailureRecord& failure) {
  std::string who = failure.host;
  if (failure.rank) who += fmt::format(" rank {}", *failure.rank);
  std::string how = failure.signal != 0 ? fmt::format("signal {}", failure.signal)
                                        : fmt::format("exit code {}", failure.exit_code);
  if (failure.message.empty()) return fmt::format("{}: {}", who, how);
  return fmt::format("{}: {}: {}", who, how, failure.message);
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json to_json(const FailureRecord& failure) {
  return nlohmann::json{
      {"host", failure.host},
      {"rank", failure.rank ? nlohmann::json(*failure.rank) : nlohmann::json(nullptr)},
      {"exit_code", failure.exit_code},
      {"signal", failure.signal},
      {"message", failure.message},
      {"unix_ms", failure.unix_ms},
      {"restartable", failure.restartable}};
}

nlohmann::json to_json(const JobVerdict& verdict) {
  nlohmann::json out{{"exit_code", verdict.exit_code},
                     {"failure", verdict.failure ? to_json(*verdict.failure) : nullptr},
                     {"hosts", nlohmann::json::object()}};
  for (const auto& [host, code] : verdict.host_exit_codes) out["hosts"][host] = code;
  if (verdict.restart != 0) out["restart"] = verdict.restart;
  return out;
}

namespace {

base::Unexpected<base::Error> bad_field(const char* what, const char* field, const char* expected) {
  return base::fail(base::ErrorKind::kCluster,
                    fmt::format("{}: field \"{}\" must be {}", what, field, expected));
}

}  // namespace

base::Expected<FailureRecord> failure_from_json(const nlohmann::json& json) {
  constexpr const char* kWhat = "control message failure record";
  if (!json.is_object())
    return base::fail(base::ErrorKind::kCluster, "failure record not an object");
  FailureRecord out;
  auto host = json.find("host");
  if (host == json.end() || !host->is_string() || host->get<std::string>().empty())
    return bad_field(kWhat, "host", "a non-empty string");
  out.host = host->get<std::string>();
  auto rank = json.find("rank");
  if (rank != json.end() && !rank->is_null()) {
    if (!rank->is_number_integer()) return bad_field(kWhat, "rank", "an integer or null");
    out.rank = rank->get<int>();
  }
  for (auto [field, target] :
       {std::pair{"exit_code", &out.exit_code}, std::pair{"signal", &out.signal}}) {
    auto it = json.find(field);
    if (it == json.end() || !it->is_number_integer()) return bad_field(kWhat, field, "an integer");
    *target = it->get<int>();
  }
  auto message = json.find("message");
  if (message == json.end() || !message->is_string())
    return bad_field(kWhat, "message", "a string");
  out.message = message->get<std::string>();
  auto unix_ms = json.find("unix_ms");
  if (unix_ms == json.end() || !unix_ms->is_number_integer())
    return bad_field(kWhat, "unix_ms", "an integer");
  out.unix_ms = unix_ms->get<std::int64_t>();
  auto restartable = json.find("restartable");
  if (restartable != json.end()) {
    if (!restartable->is_boolean()) return bad_field(kWhat, "restartable", "a boolean");
    out.restartable = restartable->get<bool>();
  }
  return out;
}

base::Expected<JobVerdict> verdict_from_json(const nlohmann::json& json) {
  constexpr const char* kWhat = "control message verdict";
  if (!json.is_object()) return base::fail(base::ErrorKind::kCluster, "verdict not an object");
  JobVerdict out;
  auto code = json.find("exit_code");
  if (code == json.end() || !code->is_number_integer())
    return bad_field(kWhat, "exit_code", "an integer");
  out.exit_code = code->get<int>();
  auto failure = json.find("failure");
  if (failure != json.end() && !failure->is_null()) {
    auto parsed = failure_from_json(*failure);
    if (!parsed) return base::fail(base::ErrorKind::kCluster, parsed.error().message);
    out.failure = std::move(*parsed);
  }
  auto hosts = json.find("hosts");
  if (hosts != json.end()) {
    if (!hosts->is_object()) return bad_field(kWhat, "hosts", "an object");
    for (const auto& [host, host_code] : hosts->items()) {
      if (!host_code.is_number_integer()) return bad_field(kWhat, "hosts", "host -> integer");
      out.host_exit_codes[host] = host_code.get<int>();
    }
  }
  auto restart = json.find("restart");
  if (restart != json.end()) {
    if (!restart->is_number_integer() || restart->get<std::int64_t>() < 0 ||
        restart->get<std::int64_t>() > 1000000)
      return bad_field(kWhat, "restart", "an integer from 0");
    out.restart = restart->get<int>();
  }
  return out;
}

}  // namespace smrun::cluster
