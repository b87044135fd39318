// `lra_bench attention`: forward and forward+backward time, peak memory, FLOPs and achieved
// rate of every attention backend over a list of lengths, for one attention layer and for one
// whole encoder block; speed-ups against softmax and kernelized, growth time(2L)/time(L), and
// the machine's large-matmul rate measured in the same run.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attention_spec/backend_spec.h"

namespace lra::bench {

struct AttentionBenchOptions {
  // Registered backends, or "<exact backend>_reference" for its plain reference formula.
  std::vector<std::string> backends = attention_backend_names();
  std::vector<int64_t> lengths{512, 1024, 2048, 4096, 8192, 16384};
  std::vector<std::string> scopes{"attention", "block"};  // attention | block
  std::vector<std::string> passes{"forward", "forward+backward"};
  int64_t batch = 4, heads = 2, head_dim = 32, features = 128, mlp_dim = 128;
  double padded_fraction = 0.0;    // the last floor(L x this) keys of every sequence are padding
  double attention_dropout = 0.0;  // > 0: weights dropped as in training (module in train mode)
  std::string kernel = "exp";      // kernelized and schoenbat
  std::string config;              // optional: model and attention settings from a config file
  int64_t warmup = 1, repeats = 5;
  double time_cap_s = 20.0;        // per case: a single run longer than this stops the backend
  double memory_cap_mib = 8192.0;  // predicted peak above this stops the backend
  int64_t threads = 0;             // 0 = all cores
  int64_t chunk_rows = 0;          // linear attention slice rows; 0 = automatic
  std::string device = "cpu";
  std::string json;      // write the results here as JSON
  std::string markdown;  // also write the tables here
};

int run_attention_bench(const AttentionBenchOptions& options);

struct TrainStepOptions {
  std::string config = "configs/quickstart.yaml";
  std::vector<std::string> overrides;
  std::vector<std::string> backends = attention_backend_names();
  int64_t steps = 30;  // optimizer steps per backend; timing_warmup_steps() of them are untimed
  int64_t threads = 0;
  std::string json;
};

int run_train_step_bench(const TrainStepOptions& options);

// A short description of the machine: CPU model, cores, LibTorch version, threads, date (UTC).
std::string machine_line(int64_t threads);

}  // namespace lra::bench
