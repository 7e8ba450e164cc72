// Metric definitions applied to output lines, as SageMaker applies them to log events.

#include <gtest/gtest.h>

#include <cmath>

#include "smrun/metrics/matcher.hpp"

namespace smrun::metrics {
namespace {

std::vector<MetricMatch> match(const LineMatcher& m, std::string_view line) {
  std::vector<MetricMatch> out;
  m.match(line, out);
  return out;
}

TEST(LineMatcher, EachDefinitionGivesItsFirstMatch) {
  const LineMatcher m({{"loss", "loss=([0-9.]+)"}, {"acc", "acc=([0-9.]+)"}});
  EXPECT_EQ(match(m, "step 3 loss=0.5 acc=0.75"), (std::vector<MetricMatch>{{0, 0.5}, {1, 0.75}}));
  EXPECT_EQ(match(m, "loss=0.25 loss=0.125"), (std::vector<MetricMatch>{{0, 0.25}}));
  EXPECT_EQ(match(m, "acc=1"), (std::vector<MetricMatch>{{1, 1.0}}));
  EXPECT_TRUE(match(m, "nothing here").empty());
}

TEST(LineMatcher, SeveralDefinitionsCanMatchTheSameText) {
  const LineMatcher m({{"train:loss", "loss: ([^ ]+)"}, {"any", "([0-9]+\\.[0-9]+)"}});
  EXPECT_EQ(match(m, "epoch 1 loss: 2.5"), (std::vector<MetricMatch>{{0, 2.5}, {1, 2.5}}));
}

TEST(LineMatcher, NonNumericCaptureGivesNothing) {
  const LineMatcher m(std::vector<MetricDefinition>{{"loss", "loss=(\\S*)"}});
  EXPECT_TRUE(match(m, "loss=abc").empty());
  EXPECT_TRUE(match(m, "loss=").empty());
  EXPECT_TRUE(match(m, "loss=1.2.3").empty());
  EXPECT_TRUE(match(m, "loss=0x10").empty());
}

TEST(LineMatcher, ScientificNotationAndSigns) {
  const LineMatcher m(std::vector<MetricDefinition>{{"lr", "lr=(\\S+)"}});
  EXPECT_EQ(match(m, "lr=1e-05"), (std::vector<MetricMatch>{{0, 1e-05}}));
  EXPECT_EQ(match(m, "lr=-2.5E+3"), (std::vector<MetricMatch>{{0, -2500.0}}));
  EXPECT_EQ(match(m, "lr=7"), (std::vector<MetricMatch>{{0, 7.0}}));
  auto nan = match(m, "lr=nan");
  ASSERT_EQ(nan.size(), 1u);
  EXPECT_TRUE(std::isnan(nan[0].value));
  auto inf = match(m, "lr=inf");
  ASSERT_EQ(inf.size(), 1u);
  EXPECT_TRUE(std::isinf(inf[0].value));
}

TEST(LineMatcher, OnlyTheStartOfAVeryLongLineIsSearched) {
  const LineMatcher m(std::vector<MetricDefinition>{{"loss", "loss=([0-9.]+)"}});
  std::string line(LineMatcher::kMaxLineBytes - 8, 'x');
  EXPECT_EQ(match(m, line + "loss=0.5" + std::string(1 << 20, 'y')),
            (std::vector<MetricMatch>{{0, 0.5}}));
  // Cut inside the value: "loss=0." is all the search sees.
  EXPECT_EQ(match(m, line + "xloss=0.5"), (std::vector<MetricMatch>{{0, 0.0}}));
  EXPECT_TRUE(match(m, line + "xxxxloss=0.5").empty());  // cut inside the name
  // A megabyte line without a match costs a search of 4 KiB, not a megabyte.
  EXPECT_TRUE(match(m, std::string(8 << 20, 'l')).empty());
}

TEST(LineMatcher, RequiredLiteral) {
  EXPECT_EQ(required_literal("loss=([0-9.]+)"), "loss=");
  EXPECT_EQ(required_literal("acc: (\\S+)"), "acc: ");
  EXPECT_EQ(required_literal("^epoch \\d+ .*train_loss=(\\S+)"), "train_loss=");
  EXPECT_EQ(required_literal("x\\.y=(\\d)"), "x.y=");
  EXPECT_EQ(required_literal("lo?ss=(\\d)"), "ss=");    // "o?": the o may be missing
  EXPECT_EQ(required_literal("lossx+=(\\d)"), "loss");  // "x+": not part of the run
  EXPECT_EQ(required_literal("[a-z]=loss (\\d)"), "=loss ");
  EXPECT_EQ(required_literal("(?:train|val)_loss=(\\d)"), "");  // an alternation
  EXPECT_EQ(required_literal("a[|]bc=(\\d)"), "bc=");           // '|' in a class is plain
  EXPECT_EQ(required_literal("(\\d+)"), "");
  EXPECT_EQ(required_literal("ab{23}c=(\\d)"), "c=");
  // The prefilter never hides a match.
  const LineMatcher m(std::vector<MetricDefinition>{{"loss", "lo?ss=([0-9.]+)"}});
  EXPECT_EQ(match(m, "lss=0.5"), (std::vector<MetricMatch>{{0, 0.5}}));
  EXPECT_EQ(match(m, "loss=0.25"), (std::vector<MetricMatch>{{0, 0.25}}));
  EXPECT_TRUE(match(m, "los=0.5").empty());
}

TEST(LineMatcher, MpirunTag) {
  auto tag = mpirun_tag("[1,12]<stdout>:loss=1");
  ASSERT_TRUE(tag);
  EXPECT_EQ(tag->rank, 12);
  EXPECT_EQ(tag->length, 15u);
  ASSERT_TRUE(mpirun_tag("[7,0]<stderr>:"));
  EXPECT_FALSE(mpirun_tag("[1,2]<other>:x"));
  EXPECT_FALSE(mpirun_tag("[1,]<stdout>:x"));
  EXPECT_FALSE(mpirun_tag("loss=1"));
}

TEST(LineMatcher, ParseNumberIsStrict) {
  double v = 0;
  EXPECT_TRUE(parse_number(" 0.5 ", v));
  EXPECT_EQ(v, 0.5);
  EXPECT_FALSE(parse_number("0.5s", v));
  EXPECT_FALSE(parse_number("", v));
  EXPECT_FALSE(parse_number("   ", v));
}

}  // namespace
}  // namespace smrun::metrics
