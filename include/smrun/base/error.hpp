#pragma once

#include <string>
#include <utility>

namespace smrun::base {

// What went wrong, by whose fault. The kind decides smrun's exit code (see exit_code.hpp), so
// every kind maps to one documented code and a user can tell a bad config from a failed pip.
enum class ErrorKind {
  kUsage,     // bad smrun command line
  kConfig,    // /opt/ml/input/config/*.json or an SMRUN_* setting is invalid
  kCode,      // user code cannot be fetched, unpacked or found
  kInstall,   // requirements.txt / setup.py installation failed
  kPack,      // model archive could not be written
  kCluster,   // peers never arrived, control channel broken
  kInternal,  // a bug or an OS failure smrun cannot attribute to the user
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;  // one line: names the file/field and what was expected

  Error() = default;
  Error(ErrorKind k, std::string msg) : kind(k), message(std::move(msg)) {}
};

// Short stable name for logs and the failure file ("ConfigError", ...).
const char* error_kind_name(ErrorKind kind);

}  // namespace smrun::base
