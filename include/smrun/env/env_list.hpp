#pragma once

// An ordered NAME=VALUE list with Python dict assignment semantics: setting an existing name
// replaces its value in place. The reference builds its SM_* variables in a dict, so when two
// hyperparameters differ only in case (SM_HP_LR from "lr" and "LR") the later value wins in the
// earlier position; keeping that order also makes logs read like the reference's.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smrun::env {

class EnvList {
 public:
  void set(const std::string& name, std::string value);
  // Sets only if the name is not present yet (never override what the user set).
  void set_default(const std::string& name, std::string value);
  const std::string* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  void append(const EnvList& other);  // set() every entry of other, in its order

  const std::vector<std::pair<std::string, std::string>>& entries() const { return m_entries; }
  std::size_t size() const { return m_entries.size(); }

  // "NAME=VALUE" strings for execve.
  std::vector<std::string> to_strings() const;

 private:
  std::vector<std::pair<std::string, std::string>> m_entries;
  std::map<std::string, std::size_t, std::less<>> m_index;
};

// The process environment, read once at start-up (the rest of smrun never calls getenv).
using EnvSnapshot = std::map<std::string, std::string, std::less<>>;

EnvSnapshot snapshot_environment(char** environ_ptr);

// Value of `name` in the snapshot, or nullopt.
std::optional<std::string> lookup(const EnvSnapshot& env, std::string_view name);

}  // namespace smrun::env
