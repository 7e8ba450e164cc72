// `smrun pack DIR OUT`: the model packer on its own (also what the benchmark measures).

#include <fmt/format.h>

#include <cxxopts.hpp>

#include "smrun/base/exit_code.hpp"
#include "smrun/cli/commands.hpp"
#include "smrun/cli/help.hpp"
#include "smrun/pack/pack.hpp"

namespace smrun::cli {

int run_pack_command(const std::vector<std::string>& args, const env::EnvSnapshot&) {
  cxxopts::Options parser("smrun pack", "Pack DIR's contents into OUT as a parallel-gzipped tar");
  parser.add_options()("l,level", "compression level 1-12",
                       cxxopts::value<int>()->default_value("6"))(
      "t,threads", "compression threads (0 = every usable CPU)",
      cxxopts::value<unsigned>()->default_value("0"))("h,help", "show this help")(
      "paths", "DIR OUT", cxxopts::value<std::vector<std::string>>());
  parser.parse_positional({"paths"});
  parser.positional_help("DIR OUT");
  auto parsed = parse_command_line(parser, "pack", args);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  const cxxopts::ParseResult& opts = std::get<cxxopts::ParseResult>(parsed);
  std::vector<std::string> paths;
  if (opts.count("paths")) paths = opts["paths"].as<std::vector<std::string>>();
  if (paths.size() != 2) return usage_error("pack", "pack needs exactly two paths: DIR OUT");
  pack::PackOptions options;
  options.level = opts["level"].as<int>();
  options.threads = opts["threads"].as<unsigned>();
  if (options.level < 1 || options.level > 12)
    return usage_error("pack", "--level must be from 1 to 12");
  auto result = pack::pack_directory(paths[0], paths[1], options);
  if (!result) {
    fmt::print(stderr, "smrun: error: {}\n", result.error().message);
    return base::exit_code_for(result.error().kind);
  }
  fmt::print(stderr, "smrun: packed {} files, {} bytes -> {} bytes into {}\n", result->files,
             result->bytes_in, result->bytes_out, paths[1]);
  return base::kExitSuccess;
}

}  // namespace smrun::cli
