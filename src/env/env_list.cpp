#include "smrun/env/env_list.hpp"

namespace smrun::env {

void EnvList::set(const std::string& name, std::string value) {
  if (auto it = m_index.find(name); it != m_index.end()) {
    m_entries[it->second].second = std::move(value);
    return;
  }
  m_index.emplace(name, m_entries.size());
  m_entries.emplace_back(name, std::move(value));
}

void EnvList::set_default(const std::string& name, std::string value) {
  if (!contains(name)) set(name, std::move(value));
}

const std::string* EnvList::find(std::string_view name) const {
  auto it = m_index.find(name);
  return it == m_index.end() ? nullptr : &m_entries[it->second].second;
}

void EnvList::append(const EnvList& other) {
  for (const auto& [k, v] : other.entries()) set(k, v);
}

std::vector<std::string> EnvList::to_strings() const {
  std::vector<std::string> out;
  out.reserve(m_entries.size());
  for (const auto& [k, v] : m_entries) out.push_back(k + "=" + v);
  return out;
}

EnvSnapshot snapshot_environment(char** environ_ptr) {
  EnvSnapshot env;
  for (char** e = environ_ptr; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::optional<std::string> lookup(const EnvSnapshot& env, std::string_view name) {
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

}  // namespace smrun::env
