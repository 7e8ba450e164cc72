#include "smrun/s3/intermediate_sync.hpp"
#include "smrun/base/log.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <exception>

#include "smrun/base/printable.hpp"
#include "smrun/s3/transfer.hpp"

namespace smrun::s3 {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// urllib.parse.urlparse's scheme: letters, digits, '+', '-', '.' before the first ':', starting
// with a letter, lower-cased; "" when there is none.
std::string url_scheme(std::string_view url) {
  const auto colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      !std::isalpha(static_cast<unsigned char>(url[0])))
    return {};
  std::string scheme;
  for (char c : url.substr(0, colon)) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '+' && c != '-' && c != '.') return {};
    scheme.push_back(static_cast<char>(std::tolower(u)));
  }
  return scheme;
}

// Uploads run behind the training: nice +10 and the lowest best-effort I/O priority, for this
// thread and the part threads it starts (Linux threads inherit both). Best effort.
void lower_thread_priority() {
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  const int nice_now = ::getpriority(PRIO_PROCESS, tid);
  if (errno == 0) ::setpriority(PRIO_PROCESS, tid, std::min(nice_now + 10, 19));
  constexpr int kWhoProcess = 1;  // IOPRIO_WHO_PROCESS: a thread id
  constexpr int kBestEffortLowest = (2 << 13) | 7;
  ::syscall(SYS_ioprio_set, kWhoProcess, static_cast<int>(tid), kBestEffortLowest);
}

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

}  // namespace

base::Expected<std::optional<ObjectUrl>> intermediate_target(std::string_view s3_output,
                                                             std::string_view job_name) {
  const std::string scheme = url_scheme(s3_output);
  if (scheme == "file") return std::optional<ObjectUrl>();
  if (scheme != "s3")
    return base::fail(base::ErrorKind::kConfig,
                      fmt::format("hyperparameter sagemaker_s3_output='{}': expected an s3:// URL "
                                  "(or file:// for a local output), got {}",
                                  base::printable(s3_output),
                                  scheme.empty() ? "no scheme" : "scheme '" + scheme + "'"));
  auto url = parse_object_url(s3_output);
  if (!url)
    return base::fail(base::ErrorKind::kConfig,
                      "hyperparameter sagemaker_s3_output: " + url.error().message);
  return std::optional<ObjectUrl>(url->join(job_name).join("output/intermediate"));
}

IntermediateSync::IntermediateSync(std::shared_ptr<S3Context> context,
                                   IntermediateSyncOptions options)
    : m_context(std::move(context)),
      m_options(std::move(options)),
      m_staging(m_options.dir / kStagingName),
      m_cancel(std::make_shared<std::atomic<bool>>(false)) {}

base::Expected<std::unique_ptr<IntermediateSync>> IntermediateSync::start(
    std::shared_ptr<S3Context> context, IntermediateSyncOptions options) {
  options.uploaders = std::max(options.uploaders, 1);
  options.max_queued = std::max<std::size_t>(options.max_queued, 1);
  std::unique_ptr<IntermediateSync> sync(new IntermediateSync(std::move(context), options));
  std::error_code ec;
  fs::create_directories(sync->m_staging, ec);
  if (!ec) fs::permissions(sync->m_staging, fs::perms::owner_all, ec);
  if (ec)
    return base::fail(base::ErrorKind::kInternal,
                      fmt::format("cannot create {} (the staging directory of the intermediate "
                                  "output sync): {}",
                                  sync->m_staging.string(), ec.message()));
  sync->m_context->set_cancel_check([cancel = sync->m_cancel] { return cancel->load(); });

  auto watcher = TreeWatcher::open(sync->m_options.dir, {.excluded = {kStagingName}});
  if (watcher) {
    sync->m_watcher = std::move(*watcher);
    sync->m_watch_thread = std::thread([s = sync.get()] { s->watch_loop(); });
  } else {
    log::warn("{}; files in {} are uploaded at the end of the job only", watcher.error().message,
              sync->m_options.dir.string());
  }
  for (int i = 0; i < sync->m_options.uploaders; ++i)
    sync->m_uploaders.emplace_back([s = sync.get(), i] { s->upload_loop(i); });
  return sync;
}

IntermediateSync::~IntermediateSync() {
  if (!m_finished) {
    m_cancel->store(true);
    stop_threads();
  }
  std::error_code ec;
  fs::remove_all(m_staging, ec);
}

void IntermediateSync::stop_threads() {
  if (m_watch_thread.joinable()) {
    m_stop_watching = true;
    m_watcher->wake();
    m_watch_thread.join();
  }
  {
    std::lock_guard lock(m_mutex);
    m_closing = true;
  }
  m_work.notify_all();
  for (auto& t : m_uploaders)
    if (t.joinable()) t.join();
}

void IntermediateSync::watch_loop() {
  lower_thread_priority();
  try {
    watch_events();
  } catch (const std::exception& e) {  // never let the watcher end the process (PID 1)
    log::error("intermediate output: watching {} failed: {}; the final pass still uploads",
               m_options.dir.string(), e.what());
  }
}

void IntermediateSync::watch_events() {
  for (;;) {
    const bool stopping = m_stop_watching.load();
    // Stopping: take what the kernel has queued (a file closed just before the program
    // ended), without waiting.
    TreeEvents events =
        m_watcher->wait(stopping ? std::chrono::milliseconds(0) : std::chrono::milliseconds(-1));
    enqueue(events.finished);
    bool rescan = events.overflowed;
    if (rescan) log::warn("inotify lost events for {}: rescanning it", m_options.dir.string());
    {
      std::lock_guard lock(m_mutex);
      if (m_rescan && m_queue.empty()) {
        m_rescan = false;
        rescan = true;
      }
    }
    if (rescan && !stopping) enqueue_if_changed(m_watcher->scan());
    if (stopping) return;  // finish() makes the final pass
  }
}

void IntermediateSync::push_locked(const std::string& rel) {
  if (auto it = m_in_flight.find(rel); it != m_in_flight.end()) {
    m_again.insert(rel);
    return;
  }
  if (m_queued.count(rel) != 0) return;
  if (m_queue.size() >= m_options.max_queued) {
    // Too many distinct paths at once: this one is dropped, and the tree is rescanned once the
    // uploaders emptied the (full, so non-empty) queue; only files not in S3 as they are now
    // are queued again.
    if (!m_overflow_logged)
      log::warn("more than {} files waiting for upload in {}: rescanning once the queue drains",
                m_options.max_queued, m_options.dir.string());
    m_overflow_logged = true;
    m_rescan = true;
    return;
  }
  m_queue.push_back(rel);
  m_queued.insert(rel);
  m_work.notify_one();
}

void IntermediateSync::enqueue(const std::vector<std::string>& paths) {
  if (paths.empty()) return;
  std::lock_guard lock(m_mutex);
  for (const auto& rel : paths) push_locked(rel);
}

void IntermediateSync::enqueue_if_changed(const std::vector<std::string>& paths) {
  for (const auto& rel : paths) {
    const auto now = fingerprint_of(m_options.dir / rel);
    if (!now) continue;
    std::lock_guard lock(m_mutex);
    if (auto it = m_in_flight.find(rel); it != m_in_flight.end()) {
      // Being uploaded as it was when the upload started: again only if it changed since.
      if (it->second && *it->second != *now) m_again.insert(rel);
      continue;
    }
    if (auto it = m_uploaded.find(rel); it != m_uploaded.end() && it->second == *now) continue;
    push_locked(rel);
  }
}

void IntermediateSync::upload_loop(int worker) {
  lower_thread_priority();
  std::uint64_t sequence = 0;
  for (;;) {
    std::string rel;
    bool rescan_due = false;
    {
      std::unique_lock lock(m_mutex);
      m_work.wait(lock, [&] { return !m_queue.empty() || m_closing || m_cancel->load(); });
      if (m_cancel->load() || m_queue.empty()) return;  // cancelled, or closing with nothing left
      rel = std::move(m_queue.front());
      m_queue.pop_front();
      m_queued.erase(rel);
      m_in_flight.emplace(rel, std::nullopt);
      rescan_due = m_rescan && m_queue.empty();
    }
    if (rescan_due && m_watcher) m_watcher->wake();
    try {
      upload(rel, worker, ++sequence);
    } catch (const std::exception& e) {  // never let an upload end the process (PID 1)
      log::error("intermediate output: upload of {} failed: {}", rel, e.what());
      std::lock_guard lock(m_mutex);
      ++m_summary.failed;
    }
    {
      std::lock_guard lock(m_mutex);
      m_in_flight.erase(rel);
      if (m_again.erase(rel) != 0 && !m_cancel->load()) push_locked(rel);
      if (idle_locked()) m_idle.notify_all();
    }
  }
}

void IntermediateSync::upload(const std::string& rel, int worker, std::uint64_t sequence) {
  const fs::path source = m_options.dir / rel;
  const ObjectUrl url = m_options.target.join(rel);
  const fs::path staged = m_staging / fmt::format("{}.{}", worker, sequence);
  std::error_code ec;
  fs::create_directories(m_staging, ec);  // in case the program emptied the directory
  auto snapshot = take_snapshot(source, staged, m_options.snapshot);
  if (!snapshot) {
    log::error("intermediate output: {} not uploaded: {}", url.str(), snapshot.error().message);
    std::lock_guard lock(m_mutex);
    ++m_summary.failed;
    return;
  }
  if (!*snapshot) {
    log::debug("intermediate output: {} is gone (or not a regular file); not uploaded",
               source.string());
    return;
  }
  const Snapshot& snap = **snapshot;
  {
    std::lock_guard lock(m_mutex);
    m_in_flight[rel] = snap.source;
  }
  if (snap.method == SnapshotMethod::kInPlace)
    log::debug(
        "intermediate output: not enough free space to copy {} ({}); uploading it in "
        "place",
        source.string(), human_bytes(snap.source.size));
  auto stats = upload_file(m_context, snap.path, url);
  if (snap.method != SnapshotMethod::kInPlace) fs::remove(staged, ec);
  bool consistent = snap.consistent;
  if (snap.method == SnapshotMethod::kInPlace) consistent = fingerprint_of(source) == snap.source;

  std::lock_guard lock(m_mutex);
  if (!stats) {
    if (m_cancel->load()) return;  // finish() lists it as not uploaded
    ++m_summary.failed;
    log::error("intermediate output: {}", stats.error().message);
    return;
  }
  ++m_summary.uploaded;
  m_summary.bytes += stats->bytes;
  // A version that changed while it was read is not recorded: the final pass uploads it again.
  if (consistent) m_uploaded[rel] = snap.source;
  log::debug("intermediate output: uploaded {} ({}, {} part{}) in {:.2f} s{}", url.str(),
             human_bytes(stats->bytes), stats->parts, stats->parts == 1 ? "" : "s", stats->seconds,
             consistent ? "" : " (it changed while being read)");
}

IntermediateSyncSummary IntermediateSync::finish() {
  if (m_finished) return m_summary;
  m_finished = true;
  const auto started = Clock::now();
  if (m_watch_thread.joinable()) {
    m_stop_watching = true;
    m_watcher->wake();
    m_watch_thread.join();
  }
  // The final pass: whatever the events missed, or what changed after its upload.
  enqueue_if_changed(list_regular_files(m_options.dir, {kStagingName}));
  {
    std::unique_lock lock(m_mutex);
    if (!m_idle.wait_until(lock, started + m_options.final_wait, [&] { return idle_locked(); })) {
      for (const auto& rel : m_queue) m_summary.not_uploaded.push_back(rel);
      for (const auto& [rel, version] : m_in_flight) m_summary.not_uploaded.push_back(rel);
      std::sort(m_summary.not_uploaded.begin(), m_summary.not_uploaded.end());
      m_cancel->store(true);  // ends the requests in flight
    }
  }
  stop_threads();
  std::error_code ec;
  fs::remove_all(m_staging, ec);

  const IntermediateSyncSummary& s = m_summary;
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  log::info("Intermediate output: {} file{} ({}) uploaded to {}/{} (final pass and wait {:.1f} s)",
            s.uploaded, s.uploaded == 1 ? "" : "s", human_bytes(s.bytes), m_options.target.str(),
            s.failed == 0 ? "" : fmt::format(", {} failed", s.failed), seconds);
  if (!s.not_uploaded.empty()) {
    constexpr std::size_t kShown = 10;
    std::string names;
    for (std::size_t i = 0; i < s.not_uploaded.size() && i < kShown; ++i)
      names += (i == 0 ? "" : ", ") + m_options.target.join(s.not_uploaded[i]).str();
    if (s.not_uploaded.size() > kShown)
      names += fmt::format(" and {} more", s.not_uploaded.size() - kShown);
    log::error("intermediate output: {} file{} not uploaded within {}={}: {}",
               s.not_uploaded.size(), s.not_uploaded.size() == 1 ? "" : "s", kSyncWaitVariable,
               std::chrono::duration_cast<std::chrono::seconds>(m_options.final_wait).count(),
               names);
  }
  return m_summary;
}

}  // namespace smrun::s3
