#pragma once

namespace smrun::cli {

// The whole program: dispatches on argv[0] ("train") or the first argument (train, env, pack,
// version) and returns the process exit code.
int run_main(int argc, char** argv);

}  // namespace smrun::cli
