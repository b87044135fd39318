// The registry drives the attention.* rules: a key the chosen backend does not read, set to
// anything but its default, is an error naming the backend and the key; a key it reads is
// accepted; the docs print the registry.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "attention_spec/backend_spec.h"
#include "config/config.h"
#include "config/schema.h"

namespace {

std::string error_of(const std::vector<std::string>& overrides) {
  try {
    lra::load_config_text("", overrides);
  } catch (const lra::ConfigError& e) {
    return e.what();
  }
  return "";
}

// A valid value other than the default for every attention.* key but type.
const std::map<std::string, std::string> kNonDefault = {{"features", "64"},
                                                        {"redraw_interval", "5"},
                                                        {"kernel", "sqrt"},
                                                        {"max_degree", "7"},
                                                        {"causal", "true"},
                                                        {"component", "oprf"},
                                                        {"weight_sampler", "qmc"},
                                                        {"row_norm", "sqrt_d"},
                                                        {"eps", "0.001"},
                                                        {"num_landmarks", "32"},
                                                        {"pinv_iterations", "10"},
                                                        {"conv_kernel", "35"},
                                                        {"linformer_k", "64"},
                                                        {"accumulation", "2"},
                                                        {"sampling_factor", "2.5"},
                                                        {"convention", "skyformer_code"},
                                                        {"block_size", "32"},
                                                        {"random_blocks", "2"},
                                                        {"global_blocks", "2"},
                                                        {"hashes", "4"},
                                                        {"bucket_size", "32"},
                                                        {"chunks_before", "2"},
                                                        {"chunks_after", "1"},
                                                        {"num_buckets", "16"},
                                                        {"sinkhorn_iterations", "10"},
                                                        {"temperature", "0.5"},
                                                        {"synthesizer_mode", "dense"},
                                                        {"dot_product", "false"},
                                                        {"synthesizer_k", "16"},
                                                        {"max_length", "4096"},
                                                        {"window", "256"},
                                                        {"global_tokens", "2"},
                                                        {"sparse_pattern", "strided"},
                                                        {"summary_tokens", "8"}};

TEST(BackendKeys, EveryAttentionKeyHasATestValue) {
  lra::Config defaults;
  for (const auto& field : lra::config_schema(defaults)) {
    if (field.path.rfind("attention.", 0) != 0 || field.path == "attention.type") continue;
    const std::string key = field.path.substr(std::string("attention.").size());
    ASSERT_TRUE(kNonDefault.count(key)) << "add a non-default value for " << field.path;
    EXPECT_NE(kNonDefault.at(key), field.text()) << field.path;
  }
}

TEST(BackendKeys, UnreadKeysAreErrorsAndReadKeysAreAccepted) {
  int refused = 0;
  for (const auto& spec : lra::attention_backends())
    for (const auto& [key, value] : kNonDefault) {
      const std::string path = "attention." + key;
      // 2,048 tokens: a length the default landmark count divides (convention: skyformer_code).
      const std::string e =
          error_of({"data.max_length=2048", "attention.type=" + spec.name, path + "=" + value});
      if (spec.reads_key(key)) {
        // Accepted, unless the value is a kernel this backend does not compute, or a rule of the
        // backend on that very key refuses it alone (informer reads sampling_factor only when
        // features is 0, so beside the default features it would be silently ignored).
        bool own_rule = false;
        for (const lra::BackendRule* rule : spec.rules) own_rule |= rule->key == key;
        if (own_rule && !e.empty()) {
          EXPECT_EQ(e.rfind(path + ": ", 0), 0u) << spec.name << " " << path << ": " << e;
        } else if (key != "kernel" || spec.accepts_kernel(value)) {
          EXPECT_EQ(e, "") << spec.name;
        }
        continue;
      }
      ++refused;
      EXPECT_EQ(e.rfind(path + ": " + value + " is set, but " + spec.name + " does not read it", 0),
                0u)
          << spec.name << " " << path << ": " << e;
      EXPECT_NE(e.find("remove it"), std::string::npos) << e;
    }
  EXPECT_GT(refused, 10);
}

// The two examples of the rule as a user meets them.
TEST(BackendKeys, CausalWithFavorAndAKernelWithSoftmax) {
  EXPECT_EQ(error_of({"attention.type=favor", "attention.causal=true"}),
            "attention.causal: true is set, but favor does not read it (it reads features, "
            "redraw_interval, component, weight_sampler, row_norm, eps, convention); remove it "
            "(default false) "
            "or pick a "
            "backend that reads it. Read by: kernelized, schoenbat.");
  EXPECT_EQ(error_of({"attention.type=softmax", "attention.kernel=sqrt"}),
            "attention.kernel: sqrt is set, but softmax does not read it (it reads no "
            "attention.* key); remove it (default exp) or pick a backend that reads it. Read "
            "by: kernelized, schoenbat.");
  // Setting a key to its default is harmless whatever the backend.
  EXPECT_EQ(error_of({"attention.type=softmax", "attention.features=128"}), "");
}

// features 0 means sampling_factor * ln(max_length) landmarks, which only skyformer reads; the
// convolution is centred, so its width is odd.
TEST(BackendKeys, FeaturesZeroIsSkyformersAndConvKernelIsOdd) {
  EXPECT_EQ(error_of({"attention.type=skyformer", "attention.features=0"}), "");
  EXPECT_NE(error_of({"attention.type=favor", "attention.features=0"})
                .find("attention.features: 0 is set, but favor needs at least 1"),
            std::string::npos);
  EXPECT_NE(error_of({"attention.type=nystromformer", "attention.conv_kernel=4"})
                .find("attention.conv_kernel: 4 is even"),
            std::string::npos);
  EXPECT_EQ(error_of({"attention.type=nystromformer", "attention.conv_kernel=35"}), "");
}

TEST(BackendKeys, WithBackendKeepsReadKeysAndResetsTheRest) {
  lra::AttentionConfig settings;
  settings.type = "schoenbat";
  settings.features = 64;
  settings.kernel = "sqrt";
  settings.causal = true;
  auto favor = lra::with_backend(settings, "favor");
  EXPECT_EQ(favor.type, "favor");
  EXPECT_EQ(favor.features, 64);
  EXPECT_EQ(favor.kernel, "exp");
  EXPECT_FALSE(favor.causal);
  EXPECT_TRUE(lra::attention_config_errors(favor).empty());
  auto softmax = lra::with_backend(settings, "softmax");
  EXPECT_EQ(softmax.features, lra::AttentionConfig{}.features);
  EXPECT_TRUE(lra::attention_config_errors(softmax).empty());
}

TEST(BackendKeys, DocsTableIsTheRegistry) {
  std::ifstream in(std::string(LRA_SOURCE_DIR) + "/docs/attention.md");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find(lra::attention_backend_table_markdown()), std::string::npos)
      << "docs/attention.md's backend table is stale: replace it with the output of "
         "`build/lra_train --backends`:\n"
      << lra::attention_backend_table_markdown();
}

TEST(BackendKeys, ReadmeTableIsTheRegistry) {
  std::ifstream in(std::string(LRA_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find(lra::attention_backend_summary_markdown()), std::string::npos)
      << "README.md's backend table is stale: replace it with the output of "
         "`build/lra_train --backends-summary`:\n"
      << lra::attention_backend_summary_markdown();
}

}  // namespace
