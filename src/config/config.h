// Typed run configuration. Every field has a default here and a documented entry in the schema
// (schema.cpp), which is what YAML files, --set overrides and docs/config.md are checked against.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "attention_spec/attention_config.h"

namespace lra {

struct SyntheticListOpsConfig {
  int64_t train_size = 96000;
  int64_t val_size = 2000;
  int64_t test_size = 2000;
  int64_t min_length = 500;   // exclusive lower bound on tokens, as the official generator
  int64_t max_length = 2000;  // exclusive upper bound on tokens
  int64_t max_depth = 10;
  int64_t max_args = 10;
  double leaf_prob = 0.75;
};

// The built-in Pathfinder / Path-X generator (tasks pathfinder and pathx, source: synthetic).
struct SyntheticPathfinderConfig {
  std::string difficulty = "curv_contour_length_14";  // curv_baseline | ..._9 | ..._14
  int64_t resolution = 0;   // 0 = the task's (pathfinder 32, pathx 128); or 32 | 64 | 128
  int64_t images = 200000;  // split 80/10/10 as the release
  int64_t seed = 0;         // the data set's own seed: model seeds share one cached set
  std::string params;       // generator overrides, "key=value key=value" (lra_prepare --help)
  std::string cache_dir = "data/generated";
};

struct DataConfig {
  std::string source = "synthetic";  // synthetic | files
  std::string dir;                   // prepared data folder (source: files)
  int64_t max_length = 2000;         // every sequence is padded to this many tokens
  SyntheticListOpsConfig synthetic;
  SyntheticPathfinderConfig pathfinder;
};

struct ModelConfig {
  int64_t dim = 64;
  int64_t qkv_dim = 0;  // total width of queries/keys/values over all heads; 0 = dim
  int64_t heads = 2;
  int64_t layers = 2;
  int64_t mlp_dim = 128;
  int64_t head_hidden = 128;
  double dropout = 0.1;
  double attention_dropout = 0.1;
  std::string pos_embedding = "learned";  // learned | sinusoidal
  std::string pooling = "mean";           // mean | mean_padded | cls
  std::string interaction = "nli";        // retrieval head input: nli [u,v,u*v,u-v] | concat [u,v]
  std::string init_state;                 // safetensors file replacing the seeded initialisation

  // The width of queries, keys and values over all heads: qkv_dim, or dim when it is 0.
  int64_t qkv_width() const { return qkv_dim > 0 ? qkv_dim : dim; }
};

struct TrainConfig {
  int64_t batch_size = 32;
  int64_t steps = 5000;
  int64_t warmup = 1000;
  int64_t grad_accum = 1;
  int64_t log_every = 50;
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-6;
  double weight_decay = 0.0;
  std::string schedule = "onecycle";  // onecycle | rsqrt | cosine | constant
  bool cycle_beta1 = false;
  std::string clip = "none";  // none | value | norm
  double clip_value = 1.0;
  std::string on_nonfinite = "stop";  // stop | skip: a NaN/Inf loss or gradient
  int64_t max_nonfinite = 10;         // skip: the most steps skipped before the run stops
  std::string precision = "fp32";     // fp32 | bf16 (CUDA autocast; attention core stays fp32)
  int64_t checkpoint_every = 0;       // steps between resumable checkpoints; 0 = at evaluations
};

struct EvalConfig {
  int64_t every = 500;
  int64_t batches = 0;      // 0 = the full validation split
  int64_t batch_size = 0;   // 0 = train.batch_size
  double best_after = 0.0;  // fraction of training before which no best checkpoint is kept
};

struct OutputConfig {
  std::string dir = "runs";
  bool save_checkpoint = true;
  bool tensorboard = true;
  bool save_init_state = false;   // init.safetensors: the state before step 1
  bool save_final_state = false;  // final.safetensors: the state after the last step
  bool batch_indices = false;     // batches.jsonl: each step's example indices
};

struct Config {
  std::string name = "run";
  int64_t seed = 42;
  std::string task = "listops";  // listops | text | retrieval | image | pathfinder | pathx
  std::string device = "auto";   // auto | cpu | cuda
  int64_t threads = 0;           // 0 = auto (all cores)
  DataConfig data;
  ModelConfig model;
  AttentionConfig attention;
  TrainConfig train;
  EvalConfig eval;
  OutputConfig output;

  // The longest sequence an attention layer sees: data.max_length, plus the CLS slot.
  int64_t attention_length() const { return data.max_length + (model.pooling == "cls" ? 1 : 0); }
};

// Every problem found in a config, one per line, each naming its key path.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads a YAML file (or a report.json, whose "config" is used), applies "key.path=value"
// overrides, checks every key, type, range and cross-field rule. Throws ConfigError.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
Config load_config_text(const std::string& yaml_text,
                        const std::vector<std::string>& overrides = {});

std::string to_yaml(const Config& config);
std::string to_json_text(const Config& config);
std::string config_reference_markdown();

}  // namespace lra
