#pragma once

// How the s3 area sees the process environment: a lookup function, so the area depends on no
// other smrun area and tests can hand it a plain map.

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace smrun::s3 {

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// A lookup over a fixed map (tests, and cli's EnvSnapshot). Empty values count as set.
EnvLookup env_from_map(std::map<std::string, std::string, std::less<>> vars);

}  // namespace smrun::s3
