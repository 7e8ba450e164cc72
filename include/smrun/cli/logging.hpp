#pragma once

#include <optional>
#include <string>

#include "smrun/config/py_value.hpp"

namespace smrun::cli {

// One stderr logger for the whole process, in the reference's layout
// ("2026-01-01 00:00:00,123 smrun INFO     Reporting training SUCCESS").
void setup_logging();

// Python logging level (sagemaker_container_log_level: 10 debug, 20 info, 30 warning, 40 error,
// 50 critical; ints or numeric strings) -> log level. Returns false if the value is not a level.
bool apply_python_log_level(const config::PyValue& level);

}  // namespace smrun::cli
