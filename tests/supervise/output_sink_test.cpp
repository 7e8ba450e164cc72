#include "smrun/supervise/output_sink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>

#include "smrun/base/unique_fd.hpp"

namespace smrun::supervise {

using base::UniqueFd;
namespace {

struct Pipe {
  base::UniqueFd read_end;
  base::UniqueFd write_end;
  explicit Pipe(int flags = 0) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | flags) != 0) throw std::runtime_error("pipe2");
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
};

// Fills the pipe through the blocking descriptor's flags flipped only while filling.
std::size_t fill(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::size_t total = 0;
  const std::string block(4096, 'f');
  ssize_t n;
  while ((n = ::write(fd, block.data(), block.size())) > 0) total += static_cast<std::size_t>(n);
  fcntl(fd, F_SETFL, flags);
  return total;
}

std::string read_some(int fd, std::size_t max) {
  std::string data(max, '\0');
  ssize_t n = ::read(fd, data.data(), max);
  data.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return data;
}

TEST(OutputSink, FullPipeQueuesInsteadOfBlockingThenDeliversInOrder) {
  Pipe pipe;
  const std::size_t prefill = fill(pipe.write_end.get());
  ASSERT_GT(prefill, 0u);
  OutputSink sink(pipe.write_end.get());
  std::string expected;
  for (int i = 0; i < 3000; ++i) {
    std::string line =
        "line " + std::to_string(i) + " " + std::string(i % 700, 'a' + i % 26) + "\n";
    expected += line;
    sink.push(line);
  }
  sink.push(std::string(3 * 4096 + 5, 'L'));  // longer than PIPE_BUF
  expected += std::string(3 * 4096 + 5, 'L');
  sink.flush();  // must return although the pipe is full
  EXPECT_TRUE(sink.pending());
  EXPECT_FALSE(sink.full());

  // Read everything: first the prefill, then what the sink writes as room appears.
  std::string got;
  std::size_t skipped = 0;
  while (skipped < prefill || got.size() < expected.size()) {
    std::string chunk = read_some(pipe.read_end.get(), 65536);
    ASSERT_FALSE(chunk.empty());
    const std::size_t skip = std::min(prefill - skipped, chunk.size());
    skipped += skip;
    got += chunk.substr(skip);
    sink.flush();
  }
  EXPECT_FALSE(sink.pending());
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
  EXPECT_EQ(sink.dropped_bytes(), 0u);
}

// Whether this kernel takes pwritev2(RWF_NOWAIT) on a pipe; without, the sink writes PIPE_BUF
// at a time and the tests of its larger writes are skipped.
bool pipes_take_nowait_writes() {
  Pipe pipe;
  char byte = 'x';
  iovec one{&byte, 1};
  return ::pwritev2(pipe.write_end.get(), &one, 1, -1, RWF_NOWAIT) == 1;
}

// `count` lines of 100 bytes: "line 0000 xxx...x\n".
std::string lines(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i) {
    std::string number = std::to_string(i);
    out +=
        "line " + std::string(4 - number.size(), '0') + number + " " + std::string(89, 'x') + "\n";
  }
  return out;
}

std::string read_exactly(int fd, std::size_t size) {
  std::string got;
  while (got.size() < size) {
    std::string chunk = read_some(fd, size - got.size());
    if (chunk.empty()) break;
    got += chunk;
  }
  return got;
}

TEST(OutputSink, PipeWithRoomTakesWholeQueuedItemsInOneWrite) {
  if (!pipes_take_nowait_writes()) GTEST_SKIP() << "this kernel refuses RWF_NOWAIT on pipes";
  Pipe pipe;  // 64 KiB: room for 56 KiB after the slack
  OutputSink sink(pipe.write_end.get());
  std::string expected;
  for (int i = 0; i < 5; ++i) {  // as the relay queues them: one item per read of a rank
    std::string item = lines(i * 100, 100);
    expected += item;
    sink.push(std::move(item));
  }
  sink.flush();
  EXPECT_FALSE(sink.pending());
  EXPECT_EQ(sink.large_pipe_writes(), 1u);  // 50,000 bytes; PIPE_BUF writes would take 13
  EXPECT_EQ(sink.short_pipe_writes(), 0u);
  EXPECT_TRUE(read_exactly(pipe.read_end.get(), expected.size()) == expected);
}

// The relay's sinks grow a container's 64 KiB pipe to 1 MiB: then 500,000 bytes go out in one
// write, where the pipe as it was takes 56 KiB and the rest must wait for its reader.
TEST(OutputSink, GrowsASmallPipeOnTheFirstFlushSoOneWriteTakesWhatItCouldNotHold) {
  if (!pipes_take_nowait_writes()) GTEST_SKIP() << "this kernel refuses RWF_NOWAIT on pipes";
  Pipe pipe;
  ASSERT_EQ(::fcntl(pipe.write_end.get(), F_SETPIPE_SZ, 65536), 65536);
  OutputSink sink(pipe.write_end.get(), std::size_t{1} << 20);
  std::string expected;
  for (int i = 0; i < 5; ++i) {
    std::string item = lines(i * 1000, 1000);  // 100,000 bytes
    expected += item;
    sink.push(std::move(item));
  }
  sink.flush();
  EXPECT_EQ(::fcntl(pipe.write_end.get(), F_GETPIPE_SZ), 1 << 20);
  EXPECT_FALSE(sink.pending());
  EXPECT_EQ(sink.large_pipe_writes(), 1u);
  EXPECT_EQ(sink.short_pipe_writes(), 0u);
  EXPECT_TRUE(read_exactly(pipe.read_end.get(), expected.size()) == expected);
}

// A pipe already as large as asked, or larger, is left as it is (never shrunk), and so is any
// pipe of a sink made without a size.
TEST(OutputSink, LeavesAPipeAsLargeAsAskedAndAnyPipeWhenNotAsked) {
  for (const std::size_t asked : {std::size_t{32768}, std::size_t{0}}) {
    Pipe pipe;
    ASSERT_EQ(::fcntl(pipe.write_end.get(), F_SETPIPE_SZ, 65536), 65536);
    OutputSink sink(pipe.write_end.get(), asked);
    sink.push("one line\n");
    sink.flush();
    EXPECT_FALSE(sink.pending());
    EXPECT_EQ(::fcntl(pipe.write_end.get(), F_GETPIPE_SZ), 65536) << "asked " << asked;
    EXPECT_EQ(read_exactly(pipe.read_end.get(), 9), "one line\n");
  }
}

TEST(OutputSink, PipeWithLessRoomThanItSeemsTakesPartOfTheWriteWithoutBlocking) {
  if (!pipes_take_nowait_writes()) GTEST_SKIP() << "this kernel refuses RWF_NOWAIT on pipes";
  // A packet-mode pipe never merges writes: ten 1-byte writes hold ten of its sixteen slots
  // while it reports 10 unread bytes, so its room looks like 56 KiB and is 24 KiB.
  Pipe pipe(O_DIRECT);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(::write(pipe.write_end.get(), "p", 1), 1);
  OutputSink sink(pipe.write_end.get());
  const std::string expected = lines(0, 500);
  sink.push(expected);
  sink.flush();  // must return: the pipe fills up in the middle of the write
  EXPECT_TRUE(sink.pending());
  EXPECT_EQ(sink.large_pipe_writes(), 1u);
  EXPECT_EQ(sink.short_pipe_writes(), 1u);

  // Packets come back one per read: the ten prefill bytes, then everything else in order.
  std::string got;
  for (int i = 0; i < 10; ++i) ASSERT_EQ(read_some(pipe.read_end.get(), 65536), "p");
  while (got.size() < expected.size()) {
    std::string chunk = read_some(pipe.read_end.get(), 65536);
    ASSERT_FALSE(chunk.empty());
    got += chunk;
    sink.flush();
  }
  EXPECT_FALSE(sink.pending());
  EXPECT_TRUE(got == expected);
  EXPECT_EQ(sink.dropped_bytes(), 0u);
}

TEST(OutputSink, WrittenStringsComeBackAsEmptyBuffersWithTheirCapacity) {
  Pipe pipe;
  OutputSink sink(pipe.write_end.get());
  EXPECT_EQ(sink.buffer().capacity(), std::string().capacity());  // nothing written yet
  std::string data = sink.buffer();
  data.assign(3000, 'a');
  data += '\n';
  const char* storage = data.data();
  const std::size_t capacity = data.capacity();
  sink.push(std::move(data));
  sink.flush();
  EXPECT_FALSE(sink.pending());
  EXPECT_EQ(read_some(pipe.read_end.get(), 65536), std::string(3000, 'a') + "\n");
  std::string again = sink.buffer();
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(again.capacity(), capacity);
  EXPECT_EQ(again.data(), storage);  // the same allocation, not a copy
  // A huge string is freed, not kept.
  UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(null.valid());
  OutputSink big(null.get());
  std::string huge(2 << 20, 'h');
  huge.back() = '\n';
  big.push(std::move(huge));
  big.flush();
  EXPECT_FALSE(big.pending());
  EXPECT_EQ(big.buffer().capacity(), std::string().capacity());
}

TEST(OutputSink, FullReportsBackpressure) {
  Pipe pipe;
  fill(pipe.write_end.get());
  OutputSink sink(pipe.write_end.get());
  sink.push(std::string(OutputSink::kMaxQueued - 1, 'x'));
  sink.flush();
  EXPECT_FALSE(sink.full());
  sink.push("yy");
  EXPECT_TRUE(sink.full());
  sink.abandon();
  EXPECT_FALSE(sink.pending());
  EXPECT_FALSE(sink.full());
  EXPECT_EQ(sink.dropped_bytes(), OutputSink::kMaxQueued + 1);
  sink.push("more");
  EXPECT_EQ(sink.dropped_bytes(), OutputSink::kMaxQueued + 5);
}

TEST(OutputSink, ClosedReaderDropsOutputWithoutFailing) {
  struct sigaction ignore = {}, old = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);  // as block_supervised_signals() does in smrun
  Pipe pipe;
  pipe.read_end.reset();
  OutputSink sink(pipe.write_end.get());
  sink.push("lost\n");
  sink.flush();
  sigaction(SIGPIPE, &old, nullptr);
  EXPECT_FALSE(sink.pending());
  EXPECT_EQ(sink.dropped_bytes(), 5u);
}

TEST(OutputSink, ClosedDescriptorDropsOutput) {
  int fd;
  {
    Pipe pipe;
    fd = pipe.write_end.get();
  }  // closed: poll reports POLLNVAL
  OutputSink sink(fd);
  sink.push("x");
  sink.flush();
  EXPECT_FALSE(sink.pending());
  EXPECT_EQ(sink.dropped_bytes(), 1u);
}

}  // namespace
}  // namespace smrun::supervise
