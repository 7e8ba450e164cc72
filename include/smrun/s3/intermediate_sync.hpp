#pragma once

// Intermediate output sync: the reference's intermediate_output.start_sync(), without its gaps.
// While the job runs, every file finished under output/intermediate (tree_watcher.hpp: closed
// after writing, renamed or moved in, in new subdirectories too) is uploaded to
// <target>/<relative path>, where target = <sagemaker_s3_output>/<job name>/output/intermediate.
//
// Threads: one watcher thread reads inotify and queues relative paths; `uploaders` threads take
// them, snapshot each file into a private staging directory (file_snapshot.hpp:
// <dir>/.tmp.smrun_s3_sync, never watched nor uploaded) and upload the snapshot (one PUT, or a
// multipart upload with parallel parts). Nothing here ever blocks the caller, the supervisor or
// the training: the threads run at a lower CPU and I/O priority, a slow or failing S3 only delays
// these threads, and the queue is bounded (a path queued again before its upload started is
// queued once; a path finished again during its upload is uploaded once more afterwards; past
// max_queued distinct paths, events are dropped and the tree is rescanned once the queue drained).
// Deletions are not mirrored.
//
// finish() (at the end of the job, success or failure) stops the watcher, makes a final pass over
// the tree (every file not uploaded yet, or changed since its upload, is queued) and waits up to
// final_wait for the uploads; then uploads still in flight are cancelled. Failures are logged
// (the S3Failure message names the key and S3's error code) and never change the job's outcome.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/s3/aws_env.hpp"
#include "smrun/s3/client.hpp"
#include "smrun/s3/file_snapshot.hpp"
#include "smrun/s3/object_url.hpp"
#include "smrun/s3/tree_watcher.hpp"

namespace smrun::s3 {

// Where the files of a job go, from the hyperparameter sagemaker_s3_output and the job name:
// <url>/<job_name>/output/intermediate (an empty job name is left out, as os.path.join does in
// the reference). nullopt for a file:// URL (a local output: nothing to upload, as in the
// reference). Any other scheme, or an s3:// URL that does not parse, is a kConfig error naming
// the hyperparameter.
base::Expected<std::optional<ObjectUrl>> intermediate_target(std::string_view s3_output,
                                                             std::string_view job_name);

// SMRUN_S3_SYNC_WAIT_SECONDS (Settings::s3_sync_wait): how long the end of the job waits for
// intermediate uploads; named in the log when uploads are still running then.
inline constexpr const char* kSyncWaitVariable = "SMRUN_S3_SYNC_WAIT_SECONDS";

struct IntermediateSyncOptions {
  std::filesystem::path dir;  // output/intermediate; must exist
  ObjectUrl target;           // a file's key is target.join(its relative path)
  std::chrono::milliseconds final_wait{std::chrono::seconds(300)};
  // Files uploaded at the same time (each multipart upload also sends its parts in parallel,
  // SMRUN_S3_CONCURRENCY): memory is at most uploaders x concurrency x part size.
  int uploaders = 2;
  std::size_t max_queued = 65536;  // distinct paths waiting for an uploader
  SnapshotOptions snapshot;
};

struct IntermediateSyncSummary {
  std::size_t uploaded = 0;  // successful uploads (a file uploaded twice counts twice)
  std::uint64_t bytes = 0;
  std::size_t failed = 0;  // uploads S3 (or the local file system) refused
  // Relative paths still queued or in flight when the final wait ended (sorted).
  std::vector<std::string> not_uploaded;
};

class IntermediateSync {
 public:
  static constexpr const char* kStagingName = ".tmp.smrun_s3_sync";

  // Creates the staging directory and starts the threads. Takes over `context`'s cancel check
  // (finish() uses it to end uploads in flight). When inotify is unavailable, logs a warning and
  // still uploads everything in the final pass. Errors (the staging directory cannot be made)
  // name the directory.
  static base::Expected<std::unique_ptr<IntermediateSync>> start(std::shared_ptr<S3Context> context,
                                                                 IntermediateSyncOptions options);
  // Without finish(): cancels what is in flight and stops (no final pass, no wait).
  ~IntermediateSync();
  IntermediateSync(const IntermediateSync&) = delete;
  IntermediateSync& operator=(const IntermediateSync&) = delete;

  // The final pass and the bounded wait; logs the outcome. Idempotent (returns the same summary).
  IntermediateSyncSummary finish();

  const IntermediateSyncOptions& options() const { return m_options; }

 private:
  IntermediateSync(std::shared_ptr<S3Context> context, IntermediateSyncOptions options);

  void watch_loop();
  void watch_events();
  void upload_loop(int worker);
  // Uploads one file; returns whether it reached S3.
  void upload(const std::string& rel, int worker, std::uint64_t sequence);
  // From events: always queued (coalesced).
  void enqueue(const std::vector<std::string>& paths);
  // From scans: queued unless uploaded (or being uploaded) exactly as it is now.
  void enqueue_if_changed(const std::vector<std::string>& paths);
  void push_locked(const std::string& rel);
  bool idle_locked() const { return m_queue.empty() && m_in_flight.empty(); }
  void stop_threads();

  std::shared_ptr<S3Context> m_context;
  IntermediateSyncOptions m_options;
  std::filesystem::path m_staging;
  std::unique_ptr<TreeWatcher> m_watcher;  // null without inotify: the final pass still runs
  std::shared_ptr<std::atomic<bool>> m_cancel;
  std::atomic<bool> m_stop_watching{false};
  std::thread m_watch_thread;
  std::vector<std::thread> m_uploaders;

  std::mutex m_mutex;
  std::condition_variable m_work;  // uploaders: a path was queued, or closing
  std::condition_variable m_idle;  // finish(): the queue drained and nothing is in flight
  std::deque<std::string> m_queue;
  std::unordered_set<std::string> m_queued;
  // Path -> the fingerprint of the version being uploaded (nullopt until it was snapshotted).
  std::unordered_map<std::string, std::optional<FileFingerprint>> m_in_flight;
  std::unordered_set<std::string> m_again;  // finished again during their upload
  std::unordered_map<std::string, FileFingerprint> m_uploaded;  // the version in S3
  bool m_rescan = false;                                        // the queue overflowed
  bool m_overflow_logged = false;
  bool m_closing = false;  // uploaders exit once the queue is empty
  bool m_finished = false;
  IntermediateSyncSummary m_summary;
};

}  // namespace smrun::s3
