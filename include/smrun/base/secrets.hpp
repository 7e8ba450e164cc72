#pragma once

#include <string_view>

namespace smrun::base {

// Names that look like they hold a secret: password, passwd, secret, token, key, credential
// (case-insensitive substring). Deliberately broad: a masked harmless value costs nothing, a
// leaked token in a log costs a rotation.
bool is_secret_name(std::string_view name);

inline constexpr const char* kRedacted = "****";

}  // namespace smrun::base
