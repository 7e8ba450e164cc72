#pragma once

// Helpers for the pack tests: build a tree with exact modes/mtimes, snapshot a tree for
// comparison, inspect a .tar.gz with the real tools, and run a body in a forked child (to drop
// root privileges or to mount a tiny filesystem in a private mount namespace).

#include <dirent.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace smrun::pack::testing {

namespace fs = std::filesystem;

inline constexpr std::time_t kMtime = 1700000000;  // 2023-11-14, a fixed "trained at" time

inline void set_mtime(const fs::path& p, std::time_t t) {
  timespec times[2] = {{t, 0}, {t, 0}};
  if (::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    throw std::runtime_error("utimensat " + p.string());
}

inline void make_file(const fs::path& p, const std::string& content, fs::perms mode,
                      std::time_t mtime = kMtime) {
  test::write_file(p, content);
  fs::permissions(p, mode);
  set_mtime(p, mtime);
}

inline void make_dir(const fs::path& p, fs::perms mode, std::time_t mtime = kMtime) {
  fs::create_directories(p);
  fs::permissions(p, mode);
  set_mtime(p, mtime);
}

inline void make_symlink(const std::string& target, const fs::path& p, std::time_t mtime = kMtime) {
  fs::create_symlink(target, p);
  set_mtime(p, mtime);
}

// One line per entry, sorted by relative name: type, octal mode, mtime, and the content (files)
// or target (symlinks). Directory mtimes are included: they change if anything is created in
// or removed from the directory, which is what "the source was not modified" must catch.
inline std::map<std::string, std::string> snapshot(const fs::path& root,
                                                   bool with_symlink_mtime = true) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) throw std::runtime_error("lstat");
    const std::string rel = fs::relative(it->path(), root).string();
    std::string desc;
    if (S_ISREG(st.st_mode)) {
      desc = "file " + test::read_file(it->path());
    } else if (S_ISDIR(st.st_mode)) {
      desc = "dir";
    } else if (S_ISLNK(st.st_mode)) {
      desc = "link " + fs::read_symlink(it->path()).string();
    } else {
      desc = "other";
    }
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    const bool show_mtime = with_symlink_mtime || !S_ISLNK(st.st_mode);
    out[rel] = desc + " mode=" + mode +
               (show_mtime ? " mtime=" + std::to_string(st.st_mtim.tv_sec) : std::string());
  }
  return out;
}

inline std::vector<std::string> dir_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

inline test::ProcessResult run(std::vector<std::string> argv) {
  test::ProcessOptions options;
  options.argv = std::move(argv);
  return test::run_process(options);
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// `tar tzf` names, in archive order.
inline std::vector<std::string> gnu_tar_names(const fs::path& archive) {
  auto r = run({"/usr/bin/tar", "-tzf", archive.string()});
  if (r.exit_code != 0) throw std::runtime_error("tar -tzf failed: " + r.err);
  return split_lines(r.out);
}

// Every member as Python's tarfile sees it, one line each.
inline std::vector<std::string> python_members(const fs::path& archive) {
  static const char* kScript = R"(
import sys, tarfile
with tarfile.open(sys.argv[1], "r:gz") as t:
    for m in t:
        kind = {tarfile.REGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "link"}.get(m.type, repr(m.type))
        data = t.extractfile(m).read() if m.isfile() else b""
        print("%s %s mode=%04o uid=%d gid=%d uname=%r gname=%r mtime=%d size=%d link=%r data=%r" % (
            m.name, kind, m.mode, m.uid, m.gid, m.uname, m.gname, m.mtime, m.size, m.linkname, data))
)";
  auto r = run({"/usr/bin/python3", "-c", kScript, archive.string()});
  if (r.exit_code != 0) throw std::runtime_error("python tarfile failed: " + r.err);
  return split_lines(r.out);
}

// Number of gzip members, decoding each with libdeflate; the concatenated output is returned in
// `data`. Throws if any member is corrupt or trailing garbage follows.
inline std::size_t count_gzip_members(const std::string& gz, std::string* data = nullptr) {
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  std::size_t members = 0;
  std::size_t pos = 0;
  std::string out;
  std::vector<char> buf(64 << 20);
  while (pos < gz.size()) {
    std::size_t in_used = 0, out_used = 0;
    auto rc = libdeflate_gzip_decompress_ex(d, gz.data() + pos, gz.size() - pos, buf.data(),
                                            buf.size(), &in_used, &out_used);
    if (rc != LIBDEFLATE_SUCCESS) {
      libdeflate_free_decompressor(d);
      throw std::runtime_error("corrupt gzip member " + std::to_string(members));
    }
    out.append(buf.data(), out_used);
    pos += in_used;
    ++members;
  }
  libdeflate_free_decompressor(d);
  if (data != nullptr) *data = std::move(out);
  return members;
}

struct ChildResult {
  int status = -1;      // raw waitpid status
  std::string message;  // what the body returned
};

// Runs `body` in a forked child (killed after 60 s) and returns the string it produced. Used for
// what must not leak into the test process: dropped privileges, a private mount namespace.
inline ChildResult run_in_child(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::close(fds[0]);
    ::alarm(60);
    std::string msg = body();
    (void)!::write(fds[1], msg.data(), msg.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  ChildResult result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) result.message.append(buf, n);
  ::close(fds[0]);
  ::waitpid(pid, &result.status, 0);
  return result;
}

}  // namespace smrun::pack::testing
