#include "smrun/report/outcome.hpp"
#include "smrun/base/log.hpp"

#include "smrun/base/exit_code.hpp"
#include "smrun/report/failure_report.hpp"
#include "smrun/report/outcome_files.hpp"
#include "smrun/supervise/signals.hpp"

namespace smrun::report {

const char* outcome_kind_name(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kSuccess:
      return "success";
    case OutcomeKind::kSmrunError:
      return "smrun error";
    case OutcomeKind::kStopped:
      return "stopped";
    case OutcomeKind::kWorkerFailed:
      return "worker failed";
    case OutcomeKind::kClusterFailed:
      return "cluster failed";
  }
  return "unknown";
}

Outcome success() {
  return Outcome{};
}

Outcome smrun_error(const base::Error& error, const std::string& host, std::string_view detail,
                    std::optional<int> exit_code) {
  return Outcome{OutcomeKind::kSmrunError, exit_code.value_or(base::exit_code_for(error.kind)),
                 compose_error_report(error, host, detail)};
}

Outcome stopped(int signo, std::string_view next_step, const std::string& host) {
  const base::Error error(base::ErrorKind::kInternal, "received " + supervise::signal_name(signo) +
                                                          " before " + std::string(next_step) +
                                                          "; stopping");
  return Outcome{OutcomeKind::kStopped, base::exit_code_for_signal(signo),
                 "Stopped: " + compose_error_report(error, host)};
}

Outcome program_failed(std::string report, int exit_code, OutcomeKind kind) {
  return Outcome{kind, exit_code, std::move(report)};
}

int finish(const Outcome& outcome, const OutcomeFiles* files,
           const std::vector<std::string>& secrets) {
  if (outcome.kind == OutcomeKind::kSuccess) {
    if (files != nullptr)
      if (auto st = write_success_file(files->success_file); !st)
        log::error("{}", st.error().message);
    log::info("Reporting training SUCCESS");
    return outcome.exit_code;
  }
  const std::string text = scrub_secrets(outcome.report, secrets);
  log::error("Reporting training FAILURE");
  log::error("{}", text.substr(0, text.find('\n')));
  if (files != nullptr) {
    auto written = write_failure_file(files->failure_file, text);
    if (!written)
      log::error("{}", written.error().message);
    else if (!*written)
      log::info("{} already exists (written by the user program); leaving it as it is",
                files->failure_file.string());
  }
  log::error("Encountered exit_code {}", outcome.exit_code);
  return outcome.exit_code;
}

}  // namespace smrun::report
