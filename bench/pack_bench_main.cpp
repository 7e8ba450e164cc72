// Standalone driver for bench/pack_bench.sh: calls pack_directory() directly so the packer can be
// measured (and its block size / level tuned) without going through the smrun CLI.
//
//   smrun_pack_bench DIR OUT [--level N] [--threads N] [--block-size BYTES]
//
// Prints one line: "seconds=<s> bytes_in=<n> bytes_out=<n> files=<n>".

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "smrun/pack/pack.hpp"

namespace {

bool parse_number(const char* text, unsigned long long& value) {
  char* end = nullptr;
  value = std::strtoull(text, &end, 10);
  return end != text && *end == '\0';
}

int usage() {
  std::fprintf(stderr,
               "usage: smrun_pack_bench DIR OUT [--level N] [--threads N] [--block-size BYTES]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  smrun::pack::PackOptions options;
  for (int i = 3; i < argc; i += 2) {
    const std::string flag = argv[i];
    unsigned long long value = 0;
    if (i + 1 >= argc || !parse_number(argv[i + 1], value)) return usage();
    if (flag == "--level") {
      options.level = static_cast<int>(value);
    } else if (flag == "--threads") {
      options.threads = static_cast<unsigned>(value);
    } else if (flag == "--block-size") {
      options.block_size = static_cast<std::size_t>(value);
    } else {
      return usage();
    }
  }
  const auto start = std::chrono::steady_clock::now();
  auto result = smrun::pack::pack_directory(argv[1], argv[2], options);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (!result) {
    std::fprintf(stderr, "smrun_pack_bench: %s\n", result.error().message.c_str());
    return 1;
  }
  std::printf("seconds=%.3f bytes_in=%llu bytes_out=%llu files=%llu\n", elapsed.count(),
              static_cast<unsigned long long>(result->bytes_in),
              static_cast<unsigned long long>(result->bytes_out),
              static_cast<unsigned long long>(result->files));
  return 0;
}
