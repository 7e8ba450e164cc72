// The intermediate output sync against a real S3 server (npm s3rver on loopback), directly and
// through a fault-injecting proxy: every kind of finished file arrives under its exact key with
// its exact bytes, while the sync runs and in the final pass; failures and a slow S3 end in log
// lines and a bounded wait, never in a hang. Plus the target URL and the wait setting.

#include "smrun/s3/intermediate_sync.hpp"
#include "smrun/base/log.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "s3/support/fault_proxy.hpp"
#include "s3/support/s3_job.hpp"
#include "s3/support/s3_server.hpp"
#include "smrun/s3/client.hpp"

namespace smrun::s3 {
namespace {

using namespace std::chrono_literals;
using test::FaultProxy;
using test::random_bytes;
using test::S3Server;
using test::TempDir;
using test::write_file;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kBucket = "sm-test";
constexpr const char* kPrefix = "out/job-1/output/intermediate";

std::shared_ptr<S3Context> make_context(const std::string& endpoint, int max_attempts = 3) {
  std::map<std::string, std::string, std::less<>> env = {
      {"AWS_ACCESS_KEY_ID", S3Server::kAccessKey},
      {"AWS_SECRET_ACCESS_KEY", S3Server::kSecretKey},
      {"AWS_EC2_METADATA_DISABLED", "true"},
      {"HOME", "/nonexistent"},
      {"AWS_REGION", "us-east-1"},
      {"S3_ENDPOINT_URL", endpoint}};
  auto lookup = env_from_map(env);
  auto config = resolve_client_config(lookup, "");
  EXPECT_TRUE(config) << config.error().message;
  config->transfer.part_size = 5ull << 20;
  config->transfer.concurrency = 3;
  config->transfer.retry.max_attempts = max_attempts;
  config->transfer.retry.base_delay = 10ms;
  config->transfer.retry.max_delay = 100ms;
  config->transfer.timeout = 30s;
  return std::make_shared<S3Context>(*config, std::make_shared<CredentialCache>(lookup));
}

// Captures what the sync logs (smrun's log lines, from any thread) while it lives.
class LogCapture {
 public:
  LogCapture()
      : m_scope([this](const log::Line& line) {
          std::lock_guard lock(m_mutex);
          m_text.append(line.formatted);
        }) {
    log::set_level(log::Level::kDebug);
  }
  ~LogCapture() { log::set_level(log::Level::kInfo); }
  std::string text() {
    std::lock_guard lock(m_mutex);
    return m_text;
  }

 private:
  std::mutex m_mutex;
  std::string m_text;
  log::ScopedLineSink m_scope;
};

struct SyncFixture {
  TempDir tmp;
  fs::path dir = tmp / "intermediate";

  std::unique_ptr<IntermediateSync> start(const std::string& endpoint,
                                          IntermediateSyncOptions options = {},
                                          int max_attempts = 3) {
    fs::create_directories(dir);
    options.dir = dir;
    options.target = ObjectUrl{kBucket, kPrefix};
    auto sync = IntermediateSync::start(make_context(endpoint, max_attempts), options);
    EXPECT_TRUE(sync) << sync.error().message;
    return sync ? std::move(*sync) : nullptr;
  }
};

std::string key(const std::string& rel) {
  return std::string(kPrefix) + "/" + rel;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return "[" + out + "]";
}

// Lists the bucket until every key of `expected` is there (bounded: 60 s), naming what it
// waited for when they never all arrive. Returns the last listing.
std::vector<std::string> wait_for_keys(const S3Server& s3,
                                       const std::vector<std::string>& expected) {
  const auto deadline = Clock::now() + 60s;
  std::vector<std::string> listed;
  for (;;) {
    listed = s3.objects().list(kBucket, kPrefix);
    const std::set<std::string> have(listed.begin(), listed.end());
    const bool all = std::all_of(expected.begin(), expected.end(),
                                 [&](const std::string& k) { return have.count(k) != 0; });
    if (all) return listed;
    if (Clock::now() > deadline) {
      ADD_FAILURE() << "waited 60 s for the keys " << joined(expected)
                    << " to be uploaded while the sync runs; the bucket has " << joined(listed);
      return listed;
    }
  }
}

TEST(IntermediateTarget, JoinsTheJobNameAndOutputIntermediateLikeTheReference) {
  auto t = intermediate_target("s3://bucket/prefix", "job-1");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ((*t)->bucket, "bucket");
  EXPECT_EQ((*t)->key, "prefix/job-1/output/intermediate");
  EXPECT_EQ((*intermediate_target("s3://bucket/prefix/", "j"))->key,
            "prefix/j/output/intermediate");
  EXPECT_EQ((*intermediate_target("s3://bucket", "j"))->key, "j/output/intermediate");
  EXPECT_EQ((*intermediate_target("S3://bucket/p", "j"))->str(),
            "s3://bucket/p/j/output/intermediate");
  // os.path.join(prefix, "", "output", "intermediate"): no job name, no empty component.
  EXPECT_EQ((*intermediate_target("s3://bucket/p", ""))->key, "p/output/intermediate");
}

TEST(IntermediateTarget, FileUrlsAreNotSynced) {
  for (const char* url : {"file:///opt/ml/local", "FILE:///x", "file:relative"}) {
    auto t = intermediate_target(url, "job");
    ASSERT_TRUE(t) << url << ": " << t.error().message;
    EXPECT_FALSE(*t) << url;
  }
}

TEST(IntermediateTarget, OtherSchemesAreConfigErrorsNamingTheHyperparameter) {
  struct Case {
    const char* url;
    const char* expected;
  };
  for (const Case& c : {Case{"gs://bucket/x",
                             "hyperparameter sagemaker_s3_output='gs://bucket/x': expected an "
                             "s3:// URL (or file:// for a local output), got scheme 'gs'"},
                        Case{"/opt/ml/x",
                             "hyperparameter sagemaker_s3_output='/opt/ml/x': expected an s3:// "
                             "URL (or file:// for a local output), got no scheme"},
                        Case{"https://bucket.s3.amazonaws.com/x", "got scheme 'https'"}}) {
    auto t = intermediate_target(c.url, "job");
    ASSERT_FALSE(t) << c.url;
    EXPECT_EQ(t.error().kind, base::ErrorKind::kConfig);
    EXPECT_NE(t.error().message.find(c.expected), std::string::npos) << t.error().message;
  }
  auto bad_bucket = intermediate_target("s3://a/x", "job");
  ASSERT_FALSE(bad_bucket);
  EXPECT_EQ(bad_bucket.error().kind, base::ErrorKind::kConfig);
  EXPECT_EQ(bad_bucket.error().message.rfind("hyperparameter sagemaker_s3_output: ", 0), 0u)
      << bad_bucket.error().message;
}

TEST(IntermediateSync, UploadsEveryKindOfFinishedFileWhileItRuns) {
  S3Server s3({.buckets = {kBucket}});
  FaultProxy proxy(s3, nlohmann::json::array());  // records the requests
  SyncFixture f;
  auto sync = f.start(proxy.endpoint());
  ASSERT_TRUE(sync);
  const std::string big = random_bytes((11u << 20) + 5, 3);  // > 2 parts of 5 MiB
  // Written in place; renamed into place from outside; in new nested directories; a whole
  // directory moved in; large enough for a multipart upload; empty.
  write_file(f.dir / "direct.txt", "direct\n");
  write_file(f.tmp / "model.tmp", "weights v1");
  fs::rename(f.tmp / "model.tmp", f.dir / "model.pt");
  write_file(f.dir / "epoch-1" / "shard-0" / "part.bin", "shard zero");
  write_file(f.tmp / "built" / "a.txt", "moved a");
  write_file(f.tmp / "built" / "inner" / "b.txt", "moved b");
  fs::rename(f.tmp / "built", f.dir / "moved");
  write_file(f.dir / "big.bin", big);
  write_file(f.dir / "empty", "");
  const std::vector<std::string> rels = {
      "big.bin",     "direct.txt",       "empty", "epoch-1/shard-0/part.bin", "model.pt",
      "moved/a.txt", "moved/inner/b.txt"};
  std::vector<std::string> keys;
  for (const auto& rel : rels) keys.push_back(key(rel));
  // Uploaded while the sync runs, before any final pass.
  wait_for_keys(s3, keys);

  const IntermediateSyncSummary summary = sync->finish();
  EXPECT_EQ(summary.failed, 0u);
  EXPECT_TRUE(summary.not_uploaded.empty()) << joined(summary.not_uploaded);
  auto listed = s3.objects().list(kBucket, kPrefix);
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, keys);
  EXPECT_EQ(s3.objects().get(kBucket, key("direct.txt")), "direct\n");
  EXPECT_EQ(s3.objects().get(kBucket, key("model.pt")), "weights v1");
  EXPECT_EQ(s3.objects().get(kBucket, key("epoch-1/shard-0/part.bin")), "shard zero");
  EXPECT_EQ(s3.objects().get(kBucket, key("moved/a.txt")), "moved a");
  EXPECT_EQ(s3.objects().get(kBucket, key("moved/inner/b.txt")), "moved b");
  EXPECT_EQ(s3.objects().get(kBucket, key("empty")), "");
  EXPECT_TRUE(s3.objects().get(kBucket, key("big.bin")) == big) << "multipart object differs";
  int multipart_parts = 0;
  for (const auto& r : proxy.requests())
    if (r.method == "PUT" && r.query.find("partNumber=") != std::string::npos &&
        r.path.find("big.bin") != std::string::npos)
      ++multipart_parts;
  EXPECT_EQ(multipart_parts, 3);
  // Nothing of the staging directory reached S3, and it is gone.
  EXPECT_FALSE(fs::exists(f.dir / IntermediateSync::kStagingName));
}

TEST(IntermediateSync, AFileWrittenRightBeforeTheEndIsUploaded) {
  S3Server s3({.buckets = {kBucket}});
  SyncFixture f;
  auto sync = f.start(s3.endpoint());
  ASSERT_TRUE(sync);
  write_file(f.dir / "last" / "words.txt", "written just before exit");
  const auto summary = sync->finish();
  EXPECT_EQ(summary.failed, 0u);
  EXPECT_EQ(s3.objects().get(kBucket, key("last/words.txt")), "written just before exit");
}

TEST(IntermediateSync, AFileChangedAfterItsUploadIsUploadedAgain) {
  S3Server s3({.buckets = {kBucket}});
  SyncFixture f;
  auto sync = f.start(s3.endpoint());
  ASSERT_TRUE(sync);
  write_file(f.dir / "ckpt.pt", "version 1");
  wait_for_keys(s3, {key("ckpt.pt")});
  write_file(f.dir / "ckpt.pt", "version 2, longer");
  sync->finish();
  EXPECT_EQ(s3.objects().get(kBucket, key("ckpt.pt")), "version 2, longer");
}

TEST(IntermediateSync, FilesPresentAtTheStartAreUploadedByTheFinalPass) {
  S3Server s3({.buckets = {kBucket}});
  SyncFixture f;
  write_file(f.dir / "pre" / "existing.txt", "was there first");
  auto sync = f.start(s3.endpoint());
  ASSERT_TRUE(sync);
  const auto summary = sync->finish();
  EXPECT_EQ(summary.uploaded, 1u);
  EXPECT_EQ(s3.objects().get(kBucket, key("pre/existing.txt")), "was there first");
}

TEST(IntermediateSync, AFullQueueIsRescannedInsteadOfGrowing) {
  S3Server s3({.buckets = {kBucket}});
  SyncFixture f;
  LogCapture log;
  auto sync = f.start(s3.endpoint(), {.uploaders = 1, .max_queued = 2});
  ASSERT_TRUE(sync);
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) {
    write_file(f.dir / fmt::format("f{:02}", i), fmt::format("file {}", i));
    keys.push_back(key(fmt::format("f{:02}", i)));
  }
  wait_for_keys(s3, keys);  // while running: the rescan, not only the final pass
  const auto summary = sync->finish();
  EXPECT_EQ(summary.failed, 0u);
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(s3.objects().get(kBucket, keys[static_cast<std::size_t>(i)]),
              fmt::format("file {}", i));
  EXPECT_NE(log.text().find("more than 2 files waiting for upload"), std::string::npos)
      << log.text();
}

TEST(IntermediateSync, FailedUploadsAreLoggedWithKeyAndCodeAndNeverThrow) {
  S3Server s3({.buckets = {kBucket}});
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "error", "status": 403,
      "code": "AccessDenied", "message": "Access Denied", "method": "PUT", "times": -1}])"));
  SyncFixture f;
  LogCapture log;
  auto sync = f.start(proxy.endpoint());
  ASSERT_TRUE(sync);
  write_file(f.dir / "sub" / "ckpt.pt", "never arrives");
  const auto summary = sync->finish();
  EXPECT_GE(summary.failed, 1u);
  EXPECT_TRUE(summary.not_uploaded.empty());
  const std::string text = log.text();
  EXPECT_NE(text.find("intermediate output: upload of s3://sm-test/" + key("sub/ckpt.pt") +
                      " failed: AccessDenied (HTTP 403)"),
            std::string::npos)
      << text;
  EXPECT_FALSE(s3.objects().get_if_exists(kBucket, key("sub/ckpt.pt")));
}

TEST(IntermediateSync, TheFinalWaitIsBoundedAndNamesWhatWasNotUploaded) {
  S3Server s3({.buckets = {kBucket}});
  // S3 holds every PUT for a minute: far longer than the wait.
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "delay", "ms": 60000,
      "method": "PUT", "times": -1}])"));
  SyncFixture f;
  LogCapture log;
  auto sync = f.start(proxy.endpoint(), {.final_wait = 1s});
  ASSERT_TRUE(sync);
  write_file(f.dir / "slow.bin", "stuck");
  write_file(f.dir / "slower.bin", "stuck too");
  const auto t0 = Clock::now();
  const auto summary = sync->finish();
  const auto took = Clock::now() - t0;
  // The wait, plus the requests in flight ending at once (not at their 30 s timeout).
  EXPECT_LT(took, 10s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                       << " ms";
  EXPECT_EQ(summary.not_uploaded, (std::vector<std::string>{"slow.bin", "slower.bin"}));
  EXPECT_EQ(summary.failed, 0u);
  const std::string text = log.text();
  EXPECT_NE(text.find("intermediate output: 2 files not uploaded within "
                      "SMRUN_S3_SYNC_WAIT_SECONDS=1: s3://sm-test/" +
                      key("slow.bin") + ", s3://sm-test/" + key("slower.bin")),
            std::string::npos)
      << text;
}

TEST(IntermediateSync, DestroyedWithoutFinishStopsAtOnce) {
  S3Server s3({.buckets = {kBucket}});
  FaultProxy proxy(s3, nlohmann::json::parse(R"([{"fault": "delay", "ms": 60000,
      "method": "PUT", "times": -1}])"));
  SyncFixture f;
  auto sync = f.start(proxy.endpoint());
  ASSERT_TRUE(sync);
  write_file(f.dir / "x", "x");
  // Destroy once the upload is in flight (the proxy saw its PUT).
  const auto deadline = Clock::now() + 30s;
  bool seen = false;
  while (!seen && Clock::now() < deadline) {
    for (const auto& r : proxy.requests()) seen = seen || r.method == "PUT";
    if (!seen) std::this_thread::sleep_for(20ms);  // poll interval, not a synchronisation
  }
  ASSERT_TRUE(seen) << "waited 30 s for the PUT of x to reach the proxy";
  const auto t0 = Clock::now();
  sync.reset();
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_FALSE(fs::exists(f.dir / IntermediateSync::kStagingName));
}

}  // namespace
}  // namespace smrun::s3
