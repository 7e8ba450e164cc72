#include "smrun/s3/transfer.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/sys_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "smrun/base/unique_fd.hpp"

namespace smrun::s3 {

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

// Logs "<label>: 512.0 MiB of 1.0 GiB (50%), 85.3 MiB/s, about 6 s left" every interval until
// destroyed; nothing for transfers shorter than one interval. One line per report, no '\r'.
class ProgressLog {
 public:
  ProgressLog(std::string label, std::chrono::milliseconds interval)
      : m_label(std::move(label)), m_interval(interval), m_started(Clock::now()) {
    m_thread = std::thread([this] { loop(); });
  }
  ~ProgressLog() {
    {
      std::lock_guard lock(m_mutex);
      m_done = true;
    }
    m_wake.notify_all();
    m_thread.join();
  }
  ProgressLog(const ProgressLog&) = delete;
  ProgressLog& operator=(const ProgressLog&) = delete;

  void set_total(std::uint64_t total) { m_total = total; }
  void add(std::uint64_t n) { m_bytes += n; }

 private:
  void loop() {
    std::unique_lock lock(m_mutex);
    while (!m_wake.wait_for(lock, m_interval, [this] { return m_done; })) report();
  }
  void report() const {
    const double seconds = std::chrono::duration<double>(Clock::now() - m_started).count();
    const double bytes = static_cast<double>(m_bytes.load());
    const double rate = seconds > 0 ? bytes / seconds : 0;
    const std::uint64_t total = m_total.load();
    if (bytes == 0) {
      log::info("{}: no data yet after {:.0f} s", m_label, seconds);
      return;
    }
    if (total == 0) {
      log::info("{}: {} so far, {}/s", m_label, human_bytes(bytes), human_bytes(rate));
      return;
    }
    const double left = rate > 0 ? (static_cast<double>(total) - bytes) / rate : 0;
    log::info("{}: {} of {} ({:.0f}%), {}/s, about {:.0f} s left", m_label, human_bytes(bytes),
              human_bytes(static_cast<double>(total)), 100.0 * bytes / static_cast<double>(total),
              human_bytes(rate), left);
  }

  std::string m_label;
  std::chrono::milliseconds m_interval;
  Clock::time_point m_started;
  std::atomic<std::uint64_t> m_bytes{0};
  std::atomic<std::uint64_t> m_total{0};
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_done = false;
  std::thread m_thread;
};

S3Failure local_failure(std::string message) {
  return S3Failure{0, "LocalFile", std::move(message), false};
}

// Writes a body chunk by chunk at increasing offsets of `fd`.
BodySink file_sink(int fd, std::uint64_t offset, const fs::path& dest, ProgressLog& progress) {
  return [fd, offset, &dest, &progress](std::string_view chunk) mutable -> base::Status {
    while (!chunk.empty()) {
      const ssize_t n = ::pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return base::fail(base::ErrorKind::kCode, fmt::format("cannot write {}: {}", dest.string(),
                                                              base::errno_text(errno)));
      offset += static_cast<std::uint64_t>(n);
      progress.add(static_cast<std::uint64_t>(n));
      chunk.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  };
}

struct Range {
  std::uint64_t offset;
  std::uint64_t length;
};

// Runs `work(worker, index)` for every index on up to `threads` threads (worker: 0..threads-1,
// one per thread, so each can own a connection); stops handing out work after the first failure
// and returns it.
template <class Work>
std::optional<S3Failure> run_parallel(std::size_t count, int threads, Work&& work) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::optional<S3Failure> first_failure;
  auto worker = [&](std::size_t id) {
    while (!failed) {
      const std::size_t i = next++;
      if (i >= count) return;
      if (auto failure = work(id, i)) {
        std::lock_guard lock(mutex);
        if (!first_failure) first_failure = std::move(*failure);
        failed = true;
        return;
      }
    }
  };
  const std::size_t n =
      std::min<std::size_t>(count, static_cast<std::size_t>(std::max(threads, 1)));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < n; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& t : pool) t.join();
  return first_failure;
}

// One S3 client (one connection) per worker of run_parallel, made on first use.
class ClientPerWorker {
 public:
  ClientPerWorker(std::shared_ptr<S3Context> context, int workers)
      : m_context(std::move(context)), m_clients(static_cast<std::size_t>(std::max(workers, 1))) {}
  S3Client& operator[](std::size_t worker) {
    auto& slot = m_clients.at(worker);
    if (!slot) slot = std::make_unique<S3Client>(m_context);
    return *slot;
  }

 private:
  std::shared_ptr<S3Context> m_context;
  std::vector<std::unique_ptr<S3Client>> m_clients;
};

}  // namespace

base::Expected<TransferStats, S3Failure> download_file(const std::shared_ptr<S3Context>& context,
                                                       const ObjectUrl& url, const fs::path& dest) {
  const TransferSettings& settings = context->config().transfer;
  const auto started = Clock::now();
  const int retries_before = context->retries.load();
  base::UniqueFd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid())
    return base::Unexpected(
        local_failure(fmt::format("download of {} failed: cannot create {}: {}", url.str(),
                                  dest.string(), base::errno_text(errno))));
  auto remove_partial = [&] {
    std::error_code ec;
    fs::remove(dest, ec);
  };

  ProgressLog progress("download of " + url.str(), settings.progress_interval);
  S3Client first(context);
  auto head =
      first.get_object(url, {0, settings.part_size}, "", file_sink(fd.get(), 0, dest, progress),
                       [&progress](std::uint64_t size) { progress.set_total(size); });
  if (!head) {
    remove_partial();
    return base::Unexpected(head.error());
  }
  TransferStats stats;
  stats.bytes = head->object_size;
  stats.parts = 1;
  progress.set_total(head->object_size);

  if (head->status == 206 && head->object_size > settings.part_size) {
    std::vector<Range> ranges;
    for (std::uint64_t off = settings.part_size; off < head->object_size; off += settings.part_size)
      ranges.push_back({off, std::min(settings.part_size, head->object_size - off)});
    stats.parts += static_cast<int>(ranges.size());
    if (::ftruncate(fd.get(), static_cast<off_t>(head->object_size)) != 0) {
      remove_partial();
      return base::Unexpected(local_failure(
          fmt::format("download of {} failed: cannot size {} to {} bytes: {}", url.str(),
                      dest.string(), head->object_size, base::errno_text(errno))));
    }
    ClientPerWorker clients(context, settings.concurrency);
    auto failure = run_parallel(ranges.size(), settings.concurrency,
                                [&](std::size_t worker, std::size_t i) -> std::optional<S3Failure> {
                                  const Range r = ranges[i];
                                  auto got = clients[worker].get_object(
                                      url, {r.offset, r.length}, head->etag,
                                      file_sink(fd.get(), r.offset, dest, progress));
                                  if (!got) return got.error();
                                  return std::nullopt;
                                });
    if (failure) {
      remove_partial();
      return base::Unexpected(*failure);
    }
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != stats.bytes) {
    remove_partial();
    return base::Unexpected(
        local_failure(fmt::format("download of {} failed: got {} bytes, S3 said the object has {}",
                                  url.str(), static_cast<long long>(st.st_size), stats.bytes)));
  }
  stats.retries = context->retries.load() - retries_before;
  stats.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return stats;
}

base::Expected<TransferStats, S3Failure> upload_file(const std::shared_ptr<S3Context>& context,
                                                     const fs::path& source, const ObjectUrl& url) {
  const TransferSettings& settings = context->config().transfer;
  const auto started = Clock::now();
  const int retries_before = context->retries.load();
  base::UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0)
    return base::Unexpected(local_failure(fmt::format(
        "upload of {} to {} failed: {}", source.string(), url.str(), base::errno_text(errno))));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  auto read_range = [&](std::uint64_t offset,
                        std::uint64_t length) -> base::Expected<std::string, S3Failure> {
    std::string data(length, '\0');
    std::uint64_t done = 0;
    while (done < length) {
      const ssize_t n =
          ::pread(fd.get(), data.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return base::Unexpected(local_failure(fmt::format(
            "upload of {} to {} failed: {} shrank or cannot be read ({})", source.string(),
            url.str(), source.string(), n == 0 ? "end of file" : base::errno_text(errno))));
      done += static_cast<std::uint64_t>(n);
    }
    return data;
  };

  TransferStats stats;
  stats.bytes = size;
  ProgressLog progress("upload of " + url.str(), settings.progress_interval);
  progress.set_total(size);
  S3Client client(context);
  if (size <= settings.part_size) {
    auto body = read_range(0, size);
    if (!body) return base::Unexpected(body.error());
    auto put = client.put_object(url, std::move(*body));
    if (!put) return base::Unexpected(put.error());
    progress.add(size);
    stats.parts = 1;
  } else {
    // S3 allows 10,000 parts: larger files get larger parts.
    const std::uint64_t part_size = std::max(settings.part_size, (size + 9999) / 10000);
    const auto count = static_cast<std::size_t>((size + part_size - 1) / part_size);
    auto upload_id = client.create_multipart_upload(url);
    if (!upload_id) return base::Unexpected(upload_id.error());
    std::vector<std::pair<int, std::string>> parts(count);
    ClientPerWorker clients(context, settings.concurrency);
    auto failure =
        run_parallel(count, settings.concurrency,
                     [&](std::size_t worker, std::size_t i) -> std::optional<S3Failure> {
                       S3Client* mine = &clients[worker];
                       const std::uint64_t offset = i * part_size;
                       auto body = read_range(offset, std::min(part_size, size - offset));
                       if (!body) return body.error();
                       const std::uint64_t length = body->size();
                       const int number = static_cast<int>(i) + 1;
                       auto etag = mine->upload_part(url, *upload_id, number, std::move(*body));
                       if (!etag) return etag.error();
                       parts[i] = {number, *etag};
                       progress.add(length);
                       return std::nullopt;
                     });
    if (!failure) {
      if (auto done = client.complete_multipart_upload(url, *upload_id, parts); !done)
        failure = done.error();
    }
    if (failure) {
      if (auto aborted = client.abort_multipart_upload(url, *upload_id); !aborted)
        log::warn("{}", aborted.error().message);
      return base::Unexpected(*failure);
    }
    stats.parts = static_cast<int>(count);
  }
  stats.retries = context->retries.load() - retries_before;
  stats.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return stats;
}

}  // namespace smrun::s3
