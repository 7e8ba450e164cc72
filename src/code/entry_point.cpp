#include "smrun/code/entry_point.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace smrun::code {

namespace fs = std::filesystem;

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The reference's name.replace(".py", ""): every occurrence, not only a suffix.
std::string strip_all_dot_py(std::string name) {
  for (std::size_t at = name.find(".py"); at != std::string::npos; at = name.find(".py", at))
    name.erase(at, 3);
  return name;
}

// The entry point relative to code_dir, as the reference's "./<name>" would resolve it: a leading
// "/" does not escape code_dir there either.
fs::path relative_entry_point(std::string_view name) {
  return fs::path(name).relative_path().lexically_normal();
}

// The first few KiB of the entry point: enough for a shebang line and a binary sniff.
base::Expected<std::string> read_head(const fs::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return base::fail(base::ErrorKind::kCode, fmt::format("cannot read entry point {}: {}",
                                                          path.string(), base::errno_text(errno)));
  std::array<char, 4096> buffer{};
  ssize_t got = 0;
  do {
    got = read(fd, buffer.data(), buffer.size());
  } while (got < 0 && errno == EINTR);
  const int read_errno = errno;
  close(fd);
  if (got < 0)
    return base::fail(
        base::ErrorKind::kCode,
        fmt::format("cannot read entry point {}: {}", path.string(), base::errno_text(read_errno)));
  return std::string(buffer.data(), static_cast<std::size_t>(got));
}

// A file the kernel can run itself: ELF, or anything with NUL bytes (not a shell script).
bool looks_binary(const std::string& head) {
  constexpr std::string_view kElfMagic = "\177ELF";
  return head.rfind(kElfMagic, 0) == 0 || head.find('\0') != std::string::npos;
}

// "#!interp [arg]" split the way Linux does: the interpreter ends at the first blank, the rest of
// the line (trimmed) is ONE argument. A trailing '\r' (CRLF script) is dropped too.
std::vector<std::string> parse_shebang(const std::string& head) {
  std::string line = head.substr(
      2, head.find('\n') == std::string::npos ? std::string::npos : head.find('\n') - 2);
  constexpr const char* kBlanks = " \t\r";
  const auto first = line.find_first_not_of(kBlanks);
  if (first == std::string::npos) return {};
  const auto last = line.find_last_not_of(kBlanks);
  line = line.substr(first, last - first + 1);
  const auto blank = line.find_first_of(" \t");
  if (blank == std::string::npos) return {line};
  std::string arg = line.substr(line.find_first_not_of(" \t", blank));
  return {line.substr(0, blank), arg};
}

// Adds execute permission where there is read permission (u always). Not the reference's
// chmod 0777, which would also make the user's file world-writable.
base::Status make_executable(const fs::path& path, mode_t mode) {
  mode_t wanted = mode | S_IXUSR;
  if ((mode & S_IRGRP) != 0) wanted |= S_IXGRP;
  if ((mode & S_IROTH) != 0) wanted |= S_IXOTH;
  if (chmod(path.c_str(), wanted & 07777) != 0)
    return base::fail(base::ErrorKind::kCode,
                      fmt::format("cannot make entry point {} executable: {}", path.string(),
                                  base::errno_text(errno)));
  log::info("entry point {} was not executable; mode changed from {:04o} to {:04o}", path.string(),
            mode & 07777, wanted & 07777);
  return {};
}

// The reference runs every command as /bin/sh -c "./<name> args" after chmod 0777. Without a shell
// smrun reproduces the outcome from the file itself:
//   has "#!"           -> exec'd directly if executable, else {interp, [arg], ./name, args...}
//   binary (ELF / NUL) -> exec'd directly, made executable first if needed
//   other text         -> {"/bin/sh", ./name, args...} (what sh does on ENOEXEC)
base::Expected<std::vector<std::string>> command_argv(const RunCommandInput& input) {
  if (input.entry_point.empty())
    return base::fail(base::ErrorKind::kCode, "entry point name is empty");
  const fs::path rel = relative_entry_point(input.entry_point);
  const fs::path full = input.code_dir / rel;
  struct stat st {};
  if (stat(full.c_str(), &st) != 0)
    return base::fail(
        base::ErrorKind::kCode,
        fmt::format("entry point {} not found in {}", input.entry_point, input.code_dir.string()));
  if (!S_ISREG(st.st_mode))
    return base::fail(base::ErrorKind::kCode,
                      fmt::format("entry point {} in {} is not a regular file", input.entry_point,
                                  input.code_dir.string()));
  auto head = read_head(full);
  if (!head) return base::Unexpected(head.error());

  const std::string program = "./" + rel.string();
  std::vector<std::string> argv;
  const bool executable = access(full.c_str(), X_OK) == 0;
  if (head->rfind("#!", 0) == 0 && !executable) {
    argv = parse_shebang(*head);
    if (argv.empty()) argv = {"/bin/sh"};  // "#!" alone: the kernel refuses it, sh would not
    argv.push_back(program);
  } else if (head->rfind("#!", 0) == 0 || looks_binary(*head)) {
    if (!executable && input.prepare_files)
      if (auto made = make_executable(full, st.st_mode); !made)
        return base::Unexpected(made.error());
    argv = {program};
  } else {
    argv = {"/bin/sh", program};
  }
  argv.insert(argv.end(), input.args.begin(), input.args.end());
  return argv;
}

}  // namespace

const char* entry_point_kind_name(EntryPointKind kind) {
  switch (kind) {
    case EntryPointKind::kPythonProgram:
      return "PYTHON_PROGRAM";
    case EntryPointKind::kPythonPackage:
      return "PYTHON_PACKAGE";
    case EntryPointKind::kCommand:
      return "COMMAND";
  }
  return "COMMAND";
}

EntryPointKind classify_entry_point(std::string_view name, const fs::path& code_dir) {
  if (ends_with(name, ".sh")) return EntryPointKind::kCommand;
  // The reference tests `"setup.py" in os.listdir(path)`: any kind of entry named setup.py.
  std::error_code ec;
  if (fs::exists(fs::symlink_status(code_dir / "setup.py", ec)))
    return EntryPointKind::kPythonPackage;
  if (ends_with(name, ".py")) return EntryPointKind::kPythonProgram;
  return EntryPointKind::kCommand;
}

base::Expected<std::vector<std::string>> build_run_command(const RunCommandInput& input) {
  if (input.kind != EntryPointKind::kCommand && input.python.empty())
    return base::fail(base::ErrorKind::kConfig, "no Python interpreter configured (empty path)");
  std::vector<std::string> argv;
  switch (input.kind) {
    case EntryPointKind::kPythonProgram:
      // -u: unbuffered output, so log lines reach CloudWatch as they are printed.
      argv = {input.python, "-u", input.entry_point};
      break;
    case EntryPointKind::kPythonPackage:
      argv = {input.python, "-m", strip_all_dot_py(input.entry_point)};
      break;
    case EntryPointKind::kCommand:
      return command_argv(input);
  }
  argv.insert(argv.end(), input.args.begin(), input.args.end());
  return argv;
}

bool command_entry_point_exists(std::string_view name, const fs::path& code_dir) {
  if (name.empty()) return false;
  std::error_code ec;
  return fs::exists(code_dir / relative_entry_point(name), ec);
}

std::optional<std::vector<std::string>> build_install_command(EntryPointKind kind,
                                                              const fs::path& code_dir,
                                                              const std::string& python) {
  std::error_code ec;
  const bool has_requirements = fs::exists(code_dir / "requirements.txt", ec);
  switch (kind) {
    case EntryPointKind::kPythonPackage: {
      std::vector<std::string> argv = {python, "-m", "pip", "install", "."};
      if (has_requirements) argv.insert(argv.end(), {"-r", "requirements.txt"});
      return argv;
    }
    case EntryPointKind::kPythonProgram:
      if (!has_requirements) return std::nullopt;
      return std::vector<std::string>{python, "-m", "pip", "install", "-r", "requirements.txt"};
    case EntryPointKind::kCommand:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace smrun::code
