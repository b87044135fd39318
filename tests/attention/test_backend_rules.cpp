// The rules on the backends' registration lines are checked when the config is read: every rule
// of every backend, broken, makes lra_train --print-config exit 2 naming the rule's key; and
// every attention setting the config accepts builds a backend that runs (no rule is missing
// that the backend itself would need).
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "attention/registry.h"
#include "attention_spec/backend_spec.h"
#include "config/config.h"
#include "train/process_util.h"

namespace {

using lra::AttentionKey;

std::vector<std::string> split_spaces(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

TEST(BackendRulesCli, EveryBrokenRuleIsRefusedByPrintConfigNamingItsKey) {
  int rules = 0;
  for (const auto& spec : lra::attention_backends())
    for (const lra::BackendRule* rule : spec.rules) {
      ++rules;
      auto sets = split_spaces(rule->violation);
      sets.insert(sets.begin(), "attention.type=" + spec.name);
      auto args = lra::test::quickstart_args(sets);
      args.push_back("--print-config");
      const std::string log = ::testing::TempDir() + "backend_rule.log";
      const int code = lra::test::run_lra_train(args, log);
      std::string output;
      lra::test::run_shell("cat " + log, output);
      EXPECT_EQ(code, 2) << spec.name << " " << rule->violation << ":\n" << output;
      EXPECT_NE(output.find(std::string("attention.") + rule->key + ":"), std::string::npos)
          << spec.name << " " << rule->violation << ":\n"
          << output;
    }
  EXPECT_GE(rules, 6);
}

// Values to try for a key: its choices, or a spread of numbers inside its range.
std::vector<std::string> values_of(const AttentionKey& key) {
  if (!key.choices.empty()) return key.choices;
  if (std::holds_alternative<bool lra::AttentionConfig::*>(key.member)) return {"false", "true"};
  std::vector<double> candidates = {0, 1e-6, 0.5, 1, 2, 3, 7, 8, 16, 24, 35};
  const bool integer = std::holds_alternative<int64_t lra::AttentionConfig::*>(key.member);
  std::vector<std::string> values;
  for (double x : candidates) {
    if (integer && x != static_cast<int64_t>(x)) continue;
    if ((key.lo_open ? x <= key.lo : x < key.lo) || x > key.hi) continue;
    values.push_back(integer ? std::to_string(static_cast<int64_t>(x)) : std::to_string(x));
  }
  return values;
}

constexpr int64_t kLength = 24;  // data.max_length of the configs below

// The attention settings `overrides` give on a small ListOps config, or nothing when the config
// is refused.
std::optional<lra::AttentionConfig> accepted(const std::vector<std::string>& overrides) {
  std::vector<std::string> all = {"data.max_length=" + std::to_string(kLength),
                                  "data.synthetic.min_length=4", "data.synthetic.max_length=20"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  try {
    return lra::load_config_text("", all).attention;
  } catch (const lra::ConfigError&) {
    return std::nullopt;
  }
}

// Builds the backend as the encoder would and runs it forward and backward on a batch whose
// second sequence is half padding.
void expect_builds_and_runs(const lra::AttentionConfig& config, const std::string& what) {
  SCOPED_TRACE(what);
  lra::AttentionContext context{/*heads=*/2, /*head_dim=*/8, /*dropout=*/0.0, /*seed=*/3};
  context.max_length = kLength;
  lra::AttentionPtr attention;
  ASSERT_NO_THROW(attention = lra::make_attention(config, context));
  attention->train();
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(11);
  auto q = torch::randn({2, 2, kLength, 8}, gen).requires_grad_();  // (B, H, L, d)
  auto k = torch::randn({2, 2, kLength, 8}, gen).requires_grad_();  // (B, H, L, d)
  auto v = torch::randn({2, 2, kLength, 8}, gen).requires_grad_();  // (B, H, L, d)
  auto key_mask = torch::ones({2, kLength});                        // (B, L)
  key_mask[1].narrow(0, kLength / 2, kLength / 2).zero_();
  torch::Tensor out;
  ASSERT_NO_THROW(out = attention->forward(q, k, v, key_mask));
  EXPECT_EQ(out.sizes(), q.sizes());
  // Padded query rows are unspecified; the real ones must be finite, and so their gradients.
  auto real = out.select(0, 0);
  EXPECT_TRUE(torch::isfinite(real).all().item<bool>());
  ASSERT_NO_THROW(real.sum().backward());
  // q's gradient, or v's where the backend does not read q (synthesizer's synthetic logits
  // without the dot product), which leaves q without one.
  const auto grad = q.grad().defined() ? q.grad() : v.grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_TRUE(torch::isfinite(grad).all().item<bool>());
}

TEST(BackendRules, EveryAcceptedSettingOfAKeyBuildsABackendThatRuns) {
  int built = 0;
  for (const auto& spec : lra::attention_backends())
    for (const auto& name : spec.reads)
      for (const auto& value : values_of(lra::attention_key(name))) {
        const std::vector<std::string> sets = {"attention.type=" + spec.name,
                                               "attention." + name + "=" + value};
        const auto config = accepted(sets);
        if (!config) continue;
        expect_builds_and_runs(*config, sets[0] + " " + sets[1]);
        ++built;
      }
  EXPECT_GT(built, 100);
}

// The settings whose meaning depends on each other: every combination of the keys with a few
// values (choices and switches) that a backend reads.
TEST(BackendRules, EveryAcceptedCombinationOfChoicesBuildsABackendThatRuns) {
  int built = 0, refused = 0;
  for (const auto& spec : lra::attention_backends()) {
    std::vector<std::vector<std::string>> combos = {{"attention.type=" + spec.name}};
    for (const auto& name : spec.reads) {
      const AttentionKey& key = lra::attention_key(name);
      const bool few =
          !key.choices.empty() || std::holds_alternative<bool lra::AttentionConfig::*>(key.member);
      if (!few) continue;
      std::vector<std::vector<std::string>> longer;
      for (const auto& combo : combos)
        for (const auto& value : values_of(key)) {
          longer.push_back(combo);
          longer.back().push_back("attention." + name + "=" + value);
        }
      combos = std::move(longer);
    }
    for (auto combo : combos) {
      combo.push_back("attention.redraw_interval=0");
      if (!spec.reads_key("redraw_interval")) combo.pop_back();
      const auto config = accepted(combo);
      if (!config) {
        ++refused;
        continue;
      }
      std::string what;
      for (const auto& set : combo) what += set + " ";
      expect_builds_and_runs(*config, what);
      ++built;
    }
  }
  EXPECT_GT(built, 100);
  EXPECT_GT(refused, 0);  // the rules on favor's convention and samplers refuse some
}

}  // namespace
