// smrun's log lines: the layout, the line sink that the supervisor and tests set, and the
// whole-write helpers they rely on.

#include "smrun/base/log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>
#include <vector>

#include "smrun/base/fd_io.hpp"

namespace smrun::log {
namespace {

TEST(Log, LinesGoToTheSinkInTheReferenceLayoutAndTheSinkIsRestored) {
  EXPECT_FALSE(line_sink_set());
  std::vector<std::string> formatted;
  std::vector<Level> levels;
  {
    ScopedLineSink capture([&](const Line& line) {
      formatted.emplace_back(line.formatted);
      levels.push_back(line.level);
      EXPECT_EQ(line.message, formatted.size() == 1 ? "packed 3 files" : "disk full");
    });
    EXPECT_TRUE(line_sink_set());
    info("packed {} files", 3);
    error("disk {}", "full");
    debug("not shown at level info");
  }
  EXPECT_FALSE(line_sink_set());
  ASSERT_EQ(formatted.size(), 2u);
  EXPECT_TRUE(std::regex_match(
      formatted[0],
      std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} smrun INFO     packed 3 files\n)")))
      << formatted[0];
  EXPECT_TRUE(formatted[1].ends_with(" smrun ERROR    disk full\n")) << formatted[1];
  EXPECT_EQ(levels, (std::vector<Level>{Level::kInfo, Level::kError}));
}

TEST(FdIo, WriteAllAndReadAllMoveEveryByte) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string data(30000, 'z');  // within the pipe's buffer: no reader needed
  EXPECT_EQ(base::write_all(fds[1], data), 0);
  ::close(fds[1]);
  std::string got = "x";
  EXPECT_EQ(base::read_all(fds[0], got), 0);
  ::close(fds[0]);
  EXPECT_EQ(got, "x" + data);
  EXPECT_EQ(base::write_all(-1, "a"), EBADF);
}

}  // namespace
}  // namespace smrun::log
