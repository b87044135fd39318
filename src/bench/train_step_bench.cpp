// `lra_bench train-step`: the trainer itself (lra::train: batch prefetching, forward, backward,
// clipping, AdamW, redraws) for a few steps per backend, so the throughput includes the data
// path exactly as a real run has it. Validation and test are cut to one batch to keep the runs
// short; the trainer's own timing (after its warm-up steps, synchronized on CUDA) is reported.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "attention_spec/backend_spec.h"
#include "bench/attention_bench.h"
#include "config/config.h"
#include "config/schema.h"
#include "data/dataset.h"
#include "train/device.h"
#include "train/trainer.h"
#include "util/file_tree.h"
#include "util/format.h"

namespace lra::bench {
namespace {

Split first_rows(const Split& split, int64_t n) {
  n = std::min(n, split.size());
  Split s = split;
  s.tokens = split.tokens.narrow(0, 0, n);
  if (split.tokens2.defined()) s.tokens2 = split.tokens2.narrow(0, 0, n);
  s.labels = split.labels.narrow(0, 0, n);
  return s;
}

}  // namespace

int run_train_step_bench(const TrainStepOptions& o) {
  const int threads = apply_thread_count(o.threads);
  Config base = load_config(o.config, o.overrides);
  const c10::Device device = pick_device(base.device);
  TaskData data = load_task_data(base);
  const int64_t eval_batch =
      base.eval.batch_size > 0 ? base.eval.batch_size : base.train.batch_size;
  data.val = first_rows(data.val, eval_batch);
  data.test = first_rows(data.test, eval_batch);
  std::ostringstream table;
  table << "| backend | samples/s | tokens/s | real tokens/s | ms/step median | ms/step p90 | "
           "measured steps |\n|---|---:|---:|---:|---:|---:|---:|\n";
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const auto& backend : o.backends) {
    Config config = base;
    // The config's settings for the keys this backend reads, defaults for the others.
    config.attention = with_backend(base.attention, backend);
    config.train.steps = o.steps;
    config.train.warmup = std::min(config.train.warmup, o.steps);
    config.eval.every = o.steps;
    config.eval.batches = 1;
    config.output.save_checkpoint = false;
    char scratch[] = "/tmp/lra_bench_train_step_XXXXXX";
    if (!mkdtemp(scratch)) {
      std::cerr << "lra_bench train-step: cannot create a scratch folder in /tmp\n";
      return 1;
    }
    TrainResult r;
    try {
      r = train(config, data, device, scratch, /*show_progress=*/false);
    } catch (const std::exception& e) {
      remove_tree(scratch);
      std::cerr << "lra_bench train-step: " << backend << ": " << e.what() << "\n";
      table << "| " << backend << " | failed | | | | | |\n";
      continue;
    }
    remove_tree(scratch);
    const auto& t = r.train;
    std::cerr << backend << ": " << fixed(t.samples_per_s, 1) << " samples/s, "
              << fixed(t.ms_per_step_median, 1) << " ms/step\n";
    table << "| " << backend << " | " << fixed(t.samples_per_s, 1) << " | "
          << fixed(t.tokens_per_s, 0) << " | " << fixed(t.real_tokens_per_s, 0) << " | "
          << fixed(t.ms_per_step_median, 1) << " | " << fixed(t.ms_per_step_p90, 1) << " | "
          << t.measured_steps << " |\n";
    results.push_back({{"backend", backend},
                       {"samples_per_s", t.samples_per_s},
                       {"tokens_per_s", t.tokens_per_s},
                       {"real_tokens_per_s", t.real_tokens_per_s},
                       {"ms_per_step_median", t.ms_per_step_median},
                       {"ms_per_step_p90", t.ms_per_step_p90},
                       {"measured_steps", t.measured_steps},
                       {"warmup_steps", t.warmup_steps},
                       {"peak_memory_mib", r.peak_memory_mib}});
  }
  std::ostringstream head;
  head << "lra_bench train-step: " << o.config << " (task " << base.task << ", padded length "
       << data.max_length << ", batch " << base.train.batch_size << ", " << base.model.layers
       << " layers, dim " << base.model.dim << ", heads " << base.model.heads << ", features "
       << base.attention.features << "), " << o.steps << " steps per backend, the trainer's first "
       << timing_warmup_steps(o.steps) << " left out; device " << device.str()
       << "\nmachine: " << machine_line(threads) << "\n\n";
  std::cout << head.str() << table.str();
  if (!o.json.empty()) {
    nlohmann::ordered_json j = {
        {"config", o.config},     {"overrides", o.overrides}, {"machine", machine_line(threads)},
        {"device", device.str()}, {"steps", o.steps},         {"results", results}};
    std::ofstream(o.json) << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace lra::bench
