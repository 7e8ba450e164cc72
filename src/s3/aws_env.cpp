#include "smrun/s3/aws_env.hpp"

#include <memory>

namespace smrun::s3 {

EnvLookup env_from_map(std::map<std::string, std::string, std::less<>> vars) {
  auto shared =
      std::make_shared<const std::map<std::string, std::string, std::less<>>>(std::move(vars));
  return [shared](const std::string& name) -> std::optional<std::string> {
    if (auto it = shared->find(name); it != shared->end()) return it->second;
    return std::nullopt;
  };
}

}  // namespace smrun::s3
