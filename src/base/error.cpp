#include "smrun/base/error.hpp"

#include "smrun/base/exit_code.hpp"

namespace smrun::base {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUsage:
      return "UsageError";
    case ErrorKind::kConfig:
      return "ConfigError";
    case ErrorKind::kCode:
      return "UserCodeError";
    case ErrorKind::kInstall:
      return "InstallRequirementsError";
    case ErrorKind::kPack:
      return "ModelPackError";
    case ErrorKind::kCluster:
      return "ClusterError";
    case ErrorKind::kInternal:
      return "InternalError";
  }
  return "InternalError";
}

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUsage:
      return kExitUsage;
    case ErrorKind::kConfig:
      return kExitConfig;
    case ErrorKind::kCode:
      return kExitCode;
    case ErrorKind::kInstall:
      return kExitInstall;
    case ErrorKind::kPack:
      return kExitPack;
    case ErrorKind::kCluster:
      return kExitCluster;
    case ErrorKind::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace smrun::base
