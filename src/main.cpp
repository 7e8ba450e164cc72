#include "smrun/cli/main.hpp"

int main(int argc, char** argv) {
  return smrun::cli::run_main(argc, argv);
}
