#include "smrun/cli/main.hpp"

namespace smrun::cli {

int run_main(int, char**) { return 70; }  // placeholder until the CLI lands

}  // namespace smrun::cli
