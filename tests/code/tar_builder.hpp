#pragma once

// Builds real tar archives for the code-area tests with Debian's Python tarfile module, which can
// write members no well-behaved tar tool would (absolute names, "..", devices, outside links).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/test_support.hpp"

namespace smrun::code::test_tar {

namespace fs = std::filesystem;

// One member. type: file | dir | symlink | hardlink | chr | blk | fifo. `random_bytes` appends
// that many incompressible bytes to a file's data (for truncation tests).
struct Member {
  std::string name;
  std::string type = "file";
  std::string data;
  std::string target;  // link target
  int mode = 0644;
  long mtime = 1600000000;
  int random_bytes = 0;
};

inline Member file(std::string name, std::string data, int mode = 0644) {
  return Member{std::move(name), "file", std::move(data), "", mode};
}
inline Member dir(std::string name, int mode = 0755) {
  return Member{std::move(name), "dir", "", "", mode};
}
inline Member symlink(std::string name, std::string target) {
  return Member{std::move(name), "symlink", "", std::move(target), 0777};
}
inline Member hardlink(std::string name, std::string target) {
  return Member{std::move(name), "hardlink", "", std::move(target)};
}
inline Member special(std::string name, std::string type) {
  return Member{std::move(name), std::move(type), "", "", 0644};
}

constexpr const char* kBuilder = R"PY(
import io, json, os, sys, tarfile
out, mode, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
types = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
         "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}
with tarfile.open(out, mode, format=tarfile.PAX_FORMAT) as t:
    for m in spec:
        ti = tarfile.TarInfo(m["name"])
        ti.mode, ti.mtime, ti.uid, ti.gid = m["mode"], m["mtime"], 1234, 1234
        if m["type"] == "file":
            data = m["data"].encode() + os.urandom(m["random_bytes"])
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
            continue
        ti.type = types[m["type"]]
        ti.linkname = m["target"]
        if m["type"] in ("chr", "blk"):
            ti.devmajor, ti.devminor = 1, 3
        t.addfile(ti)
)PY";

// Writes `members` to `out`; mode is a tarfile mode: "w" (plain), "w:gz", "w:bz2", "w:xz".
inline void build(const fs::path& out, const std::vector<Member>& members,
                  const std::string& mode = "w:gz") {
  nlohmann::json spec = nlohmann::json::array();
  for (const Member& m : members)
    spec.push_back({{"name", m.name},
                    {"type", m.type},
                    {"data", m.data},
                    {"target", m.target},
                    {"mode", m.mode},
                    {"mtime", m.mtime},
                    {"random_bytes", m.random_bytes}});
  smrun::test::ProcessOptions options;
  options.argv = {"/usr/bin/python3", "-c", kBuilder, out.string(), mode, spec.dump()};
  const auto result = smrun::test::run_process(options);
  ASSERT_EQ(result.exit_code, 0) << result.err;
}

}  // namespace smrun::code::test_tar
