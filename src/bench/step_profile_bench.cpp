#include "bench/step_profile_bench.h"

#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "attention/registry.h"
#include "bench/attention_bench.h"
#include "config/config.h"
#include "config/schema.h"
#include "data/dataset.h"
#include "model/dropout.h"
#include "model/transformer.h"
#include "train/device.h"
#include "train/nonfinite_guard.h"
#include "train/training_step.h"
#include "util/format.h"
#include "util/stats.h"

namespace lra::bench {
namespace {

namespace nn = torch::nn;
using Clock = std::chrono::steady_clock;

double milliseconds_between(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// Median wall-clock ms of fn over `repeats` runs after `warmup` untimed ones.
double median_ms(const std::function<void()>& fn, int64_t warmup, int64_t repeats) {
  for (int64_t i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int64_t i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    fn();
    ms.push_back(milliseconds_between(start, Clock::now()));
  }
  return median(ms);
}

torch::Tensor leaf(std::vector<int64_t> shape) {
  return torch::randn(shape).requires_grad_();
}

struct Part {
  std::string name;
  double ms = 0.0;
};

// The parts of one step of `config`'s model on `batch`, each timed alone; the attention, dense
// and elementwise parts cover every layer.
std::vector<Part> profile_parts(const Config& config, const TaskData& data, const Batch& batch,
                                int64_t warmup, int64_t repeats) {
  const ModelConfig& m = config.model;
  const int64_t B = batch.tokens.size(0), L = batch.tokens.size(1), dim = m.dim;
  const int64_t qkv = m.qkv_width(), H = m.heads, hd = qkv / H;
  const double layers = static_cast<double>(m.layers);
  auto mask = (batch.tokens != 0).to(torch::kFloat);  // (B, L)
  std::vector<Part> parts;
  auto time = [&](const std::string& name, double times, const std::function<void()>& fn) {
    parts.push_back({name, times * median_ms(fn, warmup, repeats)});
  };

  nn::Embedding tokens(data.vocab_size, dim), positions(L, dim);
  time("embeddings (token + position, dropout)", 1.0, [&] {
    auto x = tokens(batch.tokens) + positions->weight.narrow(0, 0, L);  // (B, L, dim)
    lra::dropout(x, m.dropout, true).backward(torch::ones_like(x));
  });

  AttentionContext context{H, hd, m.attention_dropout, static_cast<uint64_t>(config.seed)};
  context.max_length = L;
  AttentionPtr attention = make_attention(config.attention, context);
  attention->train();
  auto q = leaf({B, H, L, hd}), k = leaf({B, H, L, hd}), v = leaf({B, H, L, hd});
  auto g_attention = torch::randn({B, H, L, hd});
  time("attention (" + config.attention.type + ")", layers, [&] {
    attention->forward(q, k, v, mask).backward(g_attention);
    attention->on_train_step(1);  // a redraw costs what it costs in training
  });

  nn::Linear wq(dim, qkv), wk(dim, qkv), wv(dim, qkv), wo(qkv, dim), fc1(dim, m.mlp_dim),
      fc2(m.mlp_dim, dim);
  auto x = leaf({B, L, dim}), a = leaf({B, L, qkv}), u = leaf({B, L, m.mlp_dim});
  time("dense layers (q, k, v, out, MLP)", layers, [&] {
    qkv_projection(x, wq, wk, wv).sum().backward();
    wo(a).sum().backward();
    fc1(x).sum().backward();
    fc2(u).sum().backward();
  });

  // The block's other ops: two layer norms, GELU, three dropouts, two residual adds.
  nn::LayerNorm ln1(nn::LayerNormOptions({dim})), ln2(nn::LayerNormOptions({dim}));
  auto r = leaf({B, L, dim});
  time("layer norms, GELU, dropout, residuals", layers, [&] {
    auto h = x + lra::dropout(r, m.dropout, true);                // (B, L, dim)
    auto hidden = lra::dropout(torch::gelu(u), m.dropout, true);  // (B, L, mlp_dim)
    auto y = h + lra::dropout(r, m.dropout, true);                // (B, L, dim)
    (ln1(x).sum() + ln2(h).sum() + hidden.sum() + y.sum()).backward();
  });

  nn::LayerNorm final_norm(nn::LayerNormOptions({dim}));
  nn::Linear head1(dim, m.head_hidden), head2(m.head_hidden, data.num_classes);
  time("final norm, pooling, head, loss", 1.0, [&] {
    auto pooled = (final_norm(x) * mask.unsqueeze(-1)).mean(1);  // (B, dim)
    auto logits = head2(torch::relu(head1(pooled)));
    torch::nn::functional::cross_entropy(logits, batch.labels).backward();
  });
  return parts;
}

struct StepTimes {
  double whole_ms = 0.0;
  double update_ms = 0.0;  // from the end of the backward to the end of the optimizer step
};

// Medians of the trainer's own step (training_step), its update part timed through its hooks.
// Always step 1: the redraws cost what they cost at step 1 of training.
StepTimes time_training_step(const TrainConfig& train, const Batch& batch, Classifier& model,
                             int64_t warmup, int64_t repeats) {
  auto optimizer = make_optimizer(model, train);
  NonfiniteGuard guard(train.on_nonfinite, train.max_nonfinite);
  Clock::time_point backward_done, update_done;
  const StepHook mark = [&](StepPhase finished) {
    if (finished == StepPhase::kForwardBackward) backward_done = Clock::now();
    if (finished == StepPhase::kOptimizer) update_done = Clock::now();
  };
  std::vector<double> whole, update;
  for (int64_t i = 0; i < warmup + repeats; ++i) {
    const auto start = Clock::now();
    training_step(model, *optimizer, guard, batch, train, torch::kCPU, /*step=*/1, mark);
    const auto end = Clock::now();
    if (i < warmup) continue;
    whole.push_back(milliseconds_between(start, end));
    update.push_back(milliseconds_between(backward_done, update_done));
  }
  return {median(whole), median(update)};
}

}  // namespace

int run_step_profile(const StepProfileOptions& o) {
  const int threads = apply_thread_count(o.threads);
  Config base = load_config(o.config, o.overrides);
  TaskData data = load_task_data(base);
  if (data.train.tokens2.defined()) {
    std::cerr << "lra_bench step-profile: two-tower (retrieval) models are not profiled yet\n";
    return 1;
  }
  std::vector<int64_t> first(
      static_cast<size_t>(std::min(base.train.batch_size, data.train.size())));
  for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int64_t>(i);
  const Batch batch = gather_batch(data.train, first);
  const double batch_ms = median_ms([&] { gather_batch(data.train, first); }, o.warmup, o.repeats);
  const double real = (batch.tokens != 0).to(torch::kFloat).mean().item<double>();

  std::vector<std::vector<Part>> columns;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const auto& backend : o.backends) {
    Config config = base;
    config.attention = with_backend(base.attention, backend);
    torch::manual_seed(config.seed);
    Classifier model(config.model, attention_factory(config.attention), data.vocab_size,
                     data.max_length, data.num_classes, false, static_cast<uint64_t>(config.seed));
    model->train();
    const StepTimes step = time_training_step(config.train, batch, model, o.warmup, o.repeats);
    std::vector<Part> parts = {{"whole step", step.whole_ms}};
    for (auto& p : profile_parts(config, data, batch, o.warmup, o.repeats)) parts.push_back(p);
    parts.push_back({"gradient norm, clipping, AdamW", step.update_ms});
    parts.push_back({"batch assembly (gather_batch)", batch_ms});
    double sum = 0.0;
    for (size_t i = 1; i < parts.size(); ++i) sum += parts[i].ms;
    parts.push_back({"sum of the parts", sum});
    std::cerr << backend << ": step " << fixed(parts[0].ms, 1) << " ms, parts " << fixed(sum, 1)
              << " ms\n";
    nlohmann::ordered_json j = {{"backend", backend}};
    for (const auto& p : parts) j["ms"][p.name] = p.ms;
    results.push_back(j);
    columns.push_back(parts);
  }

  std::ostringstream out;
  out << "lra_bench step-profile: " << o.config << " (task " << base.task << ", batch "
      << batch.tokens.size(0) << ", padded length " << batch.tokens.size(1) << ", "
      << fixed(100.0 * real, 1) << "% real tokens, " << base.model.layers << " layers, dim "
      << base.model.dim << "), median of " << o.repeats << " runs after " << o.warmup
      << " warm-up, forward + backward per part\nmachine: " << machine_line(threads)
      << "\n\n| part |";
  for (const auto& b : o.backends) out << " " << b << " ms | % of step |";
  out << "\n|---|";
  for (size_t i = 0; i < o.backends.size(); ++i) out << "---:|---:|";
  out << "\n";
  for (size_t r = 0; r < columns.front().size(); ++r) {
    // Attention rows name their backend; label them by position.
    out << "| "
        << (columns.front()[r].name.rfind("attention", 0) == 0 ? "attention"
                                                               : columns.front()[r].name)
        << " |";
    for (const auto& col : columns)
      out << " " << fixed(col[r].ms, 1) << " | " << fixed(100.0 * col[r].ms / col[0].ms, 1)
          << "% |";
    out << "\n";
  }
  std::cout << out.str();
  if (!o.markdown.empty()) std::ofstream(o.markdown) << out.str();
  if (!o.json.empty()) {
    nlohmann::ordered_json j = {{"config", o.config},
                                {"overrides", o.overrides},
                                {"machine", machine_line(threads)},
                                {"batch", batch.tokens.size(0)},
                                {"padded_length", batch.tokens.size(1)},
                                {"real_token_fraction", real},
                                {"results", results}};
    std::ofstream(o.json) << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace lra::bench
