// Backends that compute the exact attention they approximate where the approximation would cost
// more (exact_forms.h): the registration's condition and the forward's branch agree, the result is
// the exact reference, and lra_train and lra_report say so.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "attention/attention_test_util.h"
#include "data/data_test_util.h"
#include "train/process_util.h"

namespace {

using namespace lra;

// Settings of `type` whose size key (landmarks, columns, projected rows, chunk, ...) is `size`.
AttentionConfig sized(const std::string& type, int64_t size) {
  AttentionConfig config = test::attention_config(type, size);
  config.bucket_size = size;
  return with_backend(config, type);
}

// At lengths the size covers, every backend with an exact form returns its exact reference;
// one step below, the condition says it approximates.
TEST(ExactForms, WhereTheConditionHoldsTheBackendComputesItsExactReference) {
  const int64_t D = 4, size = 16;
  int checked = 0;
  for (const auto& spec : attention_backends()) {
    if (!spec.exact_when) continue;
    const auto config = sized(spec.name, size);
    int lengths = 0;
    for (int64_t L : {int64_t{2}, int64_t{7}, size}) {
      SCOPED_TRACE(spec.name + " L=" + std::to_string(L));
      if (!attention_config_errors(config, L).empty()) continue;  // refused at this length
      ++lengths;
      ASSERT_NE(spec.exact_reason(config, L), "");
      // Built as the model builds it for a padded length of L.
      auto context = test::test_context(2, D, 0.0, 5);
      context.max_length = L;
      auto backend = make_attention(config, context);
      backend->to(torch::kFloat64);
      for (int64_t pad : {int64_t{0}, L / 2}) {
        auto in = test::random_inputs(2, 2, L, D, 40 + L, pad);
        auto out = backend->forward(in.q, in.k, in.v, in.mask);
        auto exact =
            attention_implementation(spec.name).reference(in.q, in.k, in.v, in.mask, config);
        auto real = in.mask.unsqueeze(1).unsqueeze(-1);  // padded query rows are unspecified
        EXPECT_LT(test::max_abs((out - exact) * real), 1e-10);
      }
    }
    EXPECT_GE(lengths, 1) << spec.name;
    EXPECT_EQ(spec.exact_reason(config, 64 * size), "") << spec.name;
    ++checked;
  }
  EXPECT_GE(checked, 5);  // nystromformer, linformer, skyformer, informer, reformer at least
}

TEST(ExactForms, TheReasonNamesTheKeyAndTheLength) {
  auto config = sized("nystromformer", 128);
  EXPECT_EQ(attention_backend("nystromformer").exact_reason(config, 65),
            "num_landmarks 128 >= length 65");
  EXPECT_EQ(attention_backend("softmax").exact_reason(config, 65), "");
}

// The quickstart (64 tokens) with skyformer's 128 columns: lra_train warns, report.json records
// what it computed, and lra_report labels the row.
TEST(ExactFormsCli, TheRunSaysItComputedTheExactFormAndTheReportLabelsIt) {
  test::TempDir dir;
  const std::string log = dir / "train.log";
  ASSERT_EQ(
      test::run_lra_train(
          test::quickstart_args(
              {"train.steps=20", "train.warmup=2", "eval.every=20", "data.synthetic.train_size=640",
               "threads=1", "attention.type=skyformer", "name=sky", "output.dir=" + dir.str()}),
          log),
      0)
      << test::read_text(log);
  EXPECT_NE(test::read_text(log).find("skyformer computes exact gaussian_kernelized attention"),
            std::string::npos)
      << test::read_text(log);
  std::ifstream in(dir / "sky/report.json");
  const auto report = nlohmann::json::parse(in);
  EXPECT_EQ(report["attention_exact"]["computes"], "gaussian_kernelized");
  EXPECT_EQ(report["attention_exact"]["because"], "features 128 >= length 64");
  std::string out;
  ASSERT_EQ(test::run_shell(std::string(LRA_REPORT_BIN) + " " + dir.str(), out), 0) << out;
  EXPECT_NE(out.find("| skyformer (exact gaussian_kernelized) |"), std::string::npos) << out;
}

}  // namespace
