#include "smrun/code/entry_point.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace smrun::code {
namespace {

namespace fs = std::filesystem;
using smrun::test::read_file;
using smrun::test::TempDir;
using smrun::test::write_file;
using ::testing::HasSubstr;
using Argv = std::vector<std::string>;

constexpr const char* kPython = "/usr/bin/python3";

nlohmann::json vectors_named(const std::string& prefix) {
  std::ifstream in(smrun::test::test_data_dir() / "vectors/toolkit-vectors.json");
  const auto all = nlohmann::json::parse(in);
  nlohmann::json picked = nlohmann::json::array();
  for (const auto& v : all)
    if (v.at("name").get<std::string>().rfind(prefix, 0) == 0) picked.push_back(v);
  return picked;
}

// "<sys.executable>" in a vector stands for the interpreter.
Argv with_python(const nlohmann::json& argv) {
  Argv out;
  for (const auto& a : argv) {
    const auto s = a.get<std::string>();
    out.push_back(s == "<sys.executable>" ? kPython : s);
  }
  return out;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST(EntryPointVectors, Classification) {
  const auto vectors = vectors_named("entry_point_type/");
  ASSERT_EQ(vectors.size(), 5u);
  for (const auto& v : vectors) {
    TempDir code;
    for (const auto& f : v["input"]["code_dir_listing"])
      write_file(code / f.get<std::string>(), "");
    const auto kind = classify_entry_point(v["input"]["name"].get<std::string>(), code.path());
    EXPECT_STREQ(entry_point_kind_name(kind), v["expected"]["type"].get<std::string>().c_str())
        << v["name"];
  }
}

TEST(EntryPointVectors, PythonRunCommands) {
  int checked = 0;
  for (const auto& v : vectors_named("process_runner/")) {
    if (!v["expected"].contains("argv")) continue;
    TempDir code;
    for (const auto& f : v["input"]["code_dir_listing"])
      write_file(code / f.get<std::string>(), "");
    RunCommandInput input;
    input.entry_point = v["input"]["user_entry_point"].get<std::string>();
    input.kind = classify_entry_point(input.entry_point, code.path());
    input.code_dir = code.path();
    input.python = kPython;
    input.args = v["input"]["args"].get<Argv>();
    Argv expected = with_python(v["expected"]["argv"]);
    // Adapted: smrun runs Python programs unbuffered.
    if (input.kind == EntryPointKind::kPythonProgram) expected.insert(expected.begin() + 1, "-u");
    const auto argv = build_run_command(input);
    ASSERT_TRUE(argv) << v["name"] << ": " << argv.error().message;
    EXPECT_EQ(*argv, expected) << v["name"];
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

// The reference runs commands through /bin/sh -c with shlex-quoted args; smrun execs an argv.
// Both must hand the script the same arguments, so run each and compare what the script saw.
TEST(EntryPointVectors, ShellCommandsSeeTheSameArgsAsTheReference) {
  int checked = 0;
  for (const auto& v : vectors_named("process_runner/")) {
    if (!v["expected"].contains("_create_command")) continue;
    TempDir code;
    const auto name = v["input"]["user_entry_point"].get<std::string>();
    write_file(code / name, "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\n");
    RunCommandInput input{classify_entry_point(name, code.path()), name, code.path(), kPython,
                          v["input"]["args"].get<Argv>()};
    ASSERT_EQ(input.kind, EntryPointKind::kCommand);
    const auto argv = build_run_command(input);
    ASSERT_TRUE(argv) << argv.error().message;
    // Not executable, so the shebang is applied by smrun rather than by the kernel.
    Argv expected = {"/bin/sh", "./" + name};
    expected.insert(expected.end(), input.args.begin(), input.args.end());
    EXPECT_EQ(*argv, expected) << v["name"];

    smrun::test::ProcessOptions ours;
    ours.argv = *argv;
    ours.cwd = code.path();
    // The reference's Popen argv: the last element with its wrapping double quotes stripped.
    auto reference_cmd = v["expected"]["_create_command"].get<Argv>();
    auto& shell = reference_cmd.back();
    shell = shell.substr(1, shell.size() - 2);
    fs::permissions(code / name, fs::perms::owner_exec, fs::perm_options::add);  // its chmod 777
    smrun::test::ProcessOptions reference;
    reference.argv = reference_cmd;
    reference.cwd = code.path();
    const auto ours_result = smrun::test::run_process(ours);
    const auto reference_result = smrun::test::run_process(reference);
    EXPECT_EQ(ours_result.exit_code, 0) << ours_result.err;
    EXPECT_EQ(ours_result.out, reference_result.out) << v["name"];
    std::string seen;
    for (const auto& a : input.args) seen += "[" + a + "]";
    EXPECT_EQ(ours_result.out, seen);
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST(EntryPointVectors, PipInstallPackage) {
  const auto vectors = vectors_named("pip/install_package");
  ASSERT_EQ(vectors.size(), 1u);
  const auto& expected = vectors[0]["expected"];
  TempDir code;
  write_file(code / "setup.py", "");
  EXPECT_EQ(build_install_command(EntryPointKind::kPythonPackage, code.path(), kPython),
            with_python(expected["argv_without_requirements"]));
  write_file(code / "requirements.txt", "numpy\n");
  EXPECT_EQ(build_install_command(EntryPointKind::kPythonPackage, code.path(), kPython),
            with_python(expected["argv_with_requirements"]));
}

TEST(Classify, ShWinsThenSetupPyThenPyThenCommand) {
  TempDir code;
  EXPECT_EQ(classify_entry_point("train.py", code.path()), EntryPointKind::kPythonProgram);
  EXPECT_EQ(classify_entry_point("train", code.path()), EntryPointKind::kCommand);
  EXPECT_EQ(classify_entry_point("train.sh", code.path()), EntryPointKind::kCommand);
  EXPECT_EQ(classify_entry_point("train.py.txt", code.path()), EntryPointKind::kCommand);
  write_file(code / "sub/setup.py", "");  // only directly in code_dir counts
  EXPECT_EQ(classify_entry_point("train", code.path()), EntryPointKind::kCommand);
  write_file(code / "setup.py", "");
  EXPECT_EQ(classify_entry_point("train.py", code.path()), EntryPointKind::kPythonPackage);
  EXPECT_EQ(classify_entry_point("train", code.path()), EntryPointKind::kPythonPackage);
  EXPECT_EQ(classify_entry_point("train.sh", code.path()), EntryPointKind::kCommand);
}

TEST(RunCommand, PythonProgramIsUnbufferedAndRelative) {
  TempDir code;
  const auto argv = build_run_command(
      {EntryPointKind::kPythonProgram, "src/train.py", code.path(), "python3", {"--lr", "1 3"}});
  ASSERT_TRUE(argv);
  EXPECT_EQ(*argv, (Argv{"python3", "-u", "src/train.py", "--lr", "1 3"}));
}

TEST(RunCommand, PythonPackageRemovesEveryDotPy) {
  const auto argv = build_run_command(
      {EntryPointKind::kPythonPackage, "my.pyramid.py", "/nowhere", "python3", {"-x"}});
  ASSERT_TRUE(argv);
  EXPECT_EQ(*argv, (Argv{"python3", "-m", "myramid", "-x"}));
}

TEST(RunCommand, EmptyPythonIsAConfigError) {
  const auto argv = build_run_command({EntryPointKind::kPythonProgram, "t.py", "/x", "", {}});
  ASSERT_FALSE(argv);
  EXPECT_EQ(argv.error().kind, base::ErrorKind::kConfig);
}

class CommandTest : public ::testing::Test {
 protected:
  base::Expected<Argv> build(const std::string& name, Argv args = {"--a", "b c"}) {
    return build_run_command({EntryPointKind::kCommand, name, m_code.path(), kPython, args});
  }
  TempDir m_code;
};

TEST_F(CommandTest, ExecutableFileIsExecDirectly) {
  write_file(m_code / "train", "#!/bin/sh\necho hi\n", true);
  EXPECT_EQ(build("train").value(), (Argv{"./train", "--a", "b c"}));
}

TEST_F(CommandTest, NestedAndLeadingSlashNamesStayInCodeDir) {
  write_file(m_code / "bin/run", "#!/bin/sh\n", true);
  EXPECT_EQ(build("bin/run", {}).value(), (Argv{"./bin/run"}));
  EXPECT_EQ(build("/bin/run", {}).value(), (Argv{"./bin/run"}));
  EXPECT_EQ(build("./bin/run", {}).value(), (Argv{"./bin/run"}));
}

TEST_F(CommandTest, NonExecutableShebangUsesTheInterpreter) {
  write_file(m_code / "a.sh", "#!/bin/bash\necho\n");
  EXPECT_EQ(build("a.sh").value(), (Argv{"/bin/bash", "./a.sh", "--a", "b c"}));
  write_file(m_code / "b", "#!  /usr/bin/env   python3  \r\nprint()\n");
  EXPECT_EQ(build("b", {}).value(), (Argv{"/usr/bin/env", "python3", "./b"}));
  // Linux passes everything after the interpreter as ONE argument.
  write_file(m_code / "c", "#!/bin/sh -e -x\n");
  EXPECT_EQ(build("c", {}).value(), (Argv{"/bin/sh", "-e -x", "./c"}));
  write_file(m_code / "d", "#!");
  EXPECT_EQ(build("d", {}).value(), (Argv{"/bin/sh", "./d"}));
  EXPECT_EQ(mode_of(m_code / "a.sh"), 0644u);  // scripts are not chmod'ed
}

TEST_F(CommandTest, TextWithoutShebangRunsUnderSh) {
  write_file(m_code / "run.sh", "echo hi\n");
  EXPECT_EQ(build("run.sh").value(), (Argv{"/bin/sh", "./run.sh", "--a", "b c"}));
  // Even when executable: execve would fail with ENOEXEC where the reference's sh falls back.
  write_file(m_code / "plain", "echo hi\n", true);
  EXPECT_EQ(build("plain", {}).value(), (Argv{"/bin/sh", "./plain"}));
  write_file(m_code / "empty", "");
  EXPECT_EQ(build("empty", {}).value(), (Argv{"/bin/sh", "./empty"}));
}

TEST_F(CommandTest, NonExecutableBinaryGetsExecuteBitsWhereReadable) {
  fs::copy_file("/bin/true", m_code / "tool");
  fs::permissions(m_code / "tool", static_cast<fs::perms>(0644));
  EXPECT_EQ(build("tool", {}).value(), (Argv{"./tool"}));
  EXPECT_EQ(mode_of(m_code / "tool"), 0755u);  // not 0777
  smrun::test::ProcessOptions run;
  run.argv = {"./tool"};
  run.cwd = m_code.path();
  EXPECT_EQ(smrun::test::run_process(run).exit_code, 0);

  write_file(m_code / "private", std::string("\x7f"
                                             "ELF\x02\x01\x01",
                                             7));
  fs::permissions(m_code / "private", static_cast<fs::perms>(0600));
  EXPECT_EQ(build("private", {}).value(), (Argv{"./private"}));
  EXPECT_EQ(mode_of(m_code / "private"), 0700u);

  write_file(m_code / "group", std::string("a\0b", 3));  // NUL byte: binary
  fs::permissions(m_code / "group", static_cast<fs::perms>(0640));
  EXPECT_EQ(build("group", {}).value(), (Argv{"./group"}));
  EXPECT_EQ(mode_of(m_code / "group"), 0750u);
}

TEST_F(CommandTest, MissingEntryPoint) {
  const auto argv = build("missing");
  ASSERT_FALSE(argv);
  EXPECT_EQ(argv.error().kind, base::ErrorKind::kCode);
  EXPECT_EQ(argv.error().message, "entry point missing not found in " + m_code.path().string());
  EXPECT_FALSE(command_entry_point_exists("missing", m_code.path()));
  write_file(m_code / "missing", "");
  EXPECT_TRUE(command_entry_point_exists("missing", m_code.path()));
  EXPECT_FALSE(command_entry_point_exists("", m_code.path()));
}

TEST_F(CommandTest, DirectoryIsNotAnEntryPoint) {
  fs::create_directory(m_code / "dir");
  const auto argv = build("dir");
  ASSERT_FALSE(argv);
  EXPECT_EQ(argv.error().message,
            "entry point dir in " + m_code.path().string() + " is not a regular file");
  EXPECT_TRUE(command_entry_point_exists("dir", m_code.path()));
  EXPECT_EQ(build("").error().message, "entry point name is empty");
}

TEST(InstallCommand, ByKindAndRequirements) {
  TempDir code;
  EXPECT_EQ(build_install_command(EntryPointKind::kPythonProgram, code.path(), "py"), std::nullopt);
  EXPECT_EQ(build_install_command(EntryPointKind::kCommand, code.path(), "py"), std::nullopt);
  EXPECT_EQ(build_install_command(EntryPointKind::kPythonPackage, code.path(), "py"),
            (Argv{"py", "-m", "pip", "install", "."}));
  write_file(code / "requirements.txt", "x\n");
  EXPECT_EQ(build_install_command(EntryPointKind::kPythonProgram, code.path(), "py"),
            (Argv{"py", "-m", "pip", "install", "-r", "requirements.txt"}));
  EXPECT_EQ(build_install_command(EntryPointKind::kCommand, code.path(), "py"), std::nullopt);
  EXPECT_EQ(build_install_command(EntryPointKind::kPythonPackage, code.path(), "py"),
            (Argv{"py", "-m", "pip", "install", ".", "-r", "requirements.txt"}));
}

}  // namespace
}  // namespace smrun::code
