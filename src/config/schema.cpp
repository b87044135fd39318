#include "config/schema.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <variant>

#include "attention_spec/backend_spec.h"
#include "config/tasks.h"
#include "util/format.h"
#include "util/strings.h"

namespace lra {
namespace {

using Fields = std::vector<ConfigField>;
constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "'" + node.Scalar() + "'";
}

[[noreturn]] void expected(const std::string& what, const YAML::Node& node) {
  throw std::invalid_argument("expected " + what + ", got " + describe(node));
}

std::string scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) expected(what, node);
  return node.Scalar();
}

// Bounds in messages: "10", not "10.0".
std::string format_bound(double value) {
  std::string s = format_double(value);
  return s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0 ? s.substr(0, s.size() - 2) : s;
}

std::string int_range_text(int64_t lo, int64_t hi) {
  if (hi == kMaxInt) return "integer >= " + std::to_string(lo);
  return "integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

ConfigField int_field(std::string path, int64_t* v, int64_t lo, int64_t hi, std::string doc) {
  std::string type = int_range_text(lo, hi);
  ConfigField f{std::move(path), type, std::move(doc), nullptr, nullptr, 'i'};
  f.read = [v, lo, hi, type](const YAML::Node& n) {
    std::string s = scalar(n, "an " + type);
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE) expected("an " + type, n);
    if (x < lo || x > hi) expected("an " + type, n);
    *v = x;
  };
  f.text = [v] { return std::to_string(*v); };
  return f;
}

// lo_open: the lower bound itself is excluded.
ConfigField float_field(std::string path, double* v, double lo, double hi, bool lo_open,
                        std::string doc) {
  std::string type = "number";
  if (std::isfinite(hi))
    type += std::string(" in ") + (lo_open ? "(" : "[") + format_bound(lo) + ", " +
            format_bound(hi) + "]";
  else
    type += (lo_open ? " > " : " >= ") + format_bound(lo);
  ConfigField f{std::move(path), type, std::move(doc), nullptr, nullptr, 'f'};
  f.read = [v, lo, hi, lo_open, type](const YAML::Node& n) {
    std::string s = scalar(n, "a " + type);
    char* end = nullptr;
    double x = std::strtod(s.c_str(), &end);
    bool in_range = std::isfinite(x) && (lo_open ? x > lo : x >= lo) && x <= hi;
    if (s.empty() || *end != '\0' || !in_range) expected("a " + type, n);
    *v = x;
  };
  f.text = [v] { return format_double(*v); };
  return f;
}

ConfigField bool_field(std::string path, bool* v, std::string doc) {
  ConfigField f{std::move(path), "true | false", std::move(doc), nullptr, nullptr, 'b'};
  f.read = [v](const YAML::Node& n) {
    std::string s = scalar(n, "true or false");
    if (s == "true" || s == "True")
      *v = true;
    else if (s == "false" || s == "False")
      *v = false;
    else
      expected("true or false", n);
  };
  f.text = [v] { return *v ? std::string("true") : std::string("false"); };
  return f;
}

ConfigField string_field(std::string path, std::string* v, std::string doc) {
  ConfigField f{std::move(path), "string", std::move(doc), nullptr, nullptr, 's'};
  f.read = [v](const YAML::Node& n) { *v = n.IsNull() ? "" : scalar(n, "a string"); };
  f.text = [v] { return *v; };
  return f;
}

ConfigField choice_field(std::string path, std::string* v, std::vector<std::string> choices,
                         std::string doc) {
  std::string type = "one of: ";
  for (size_t i = 0; i < choices.size(); ++i) type += (i ? " | " : "") + choices[i];
  ConfigField f{std::move(path), type, std::move(doc), nullptr, nullptr, 's'};
  f.read = [v, choices, type](const YAML::Node& n) {
    std::string s = scalar(n, type);
    for (const auto& c : choices)
      if (s == c) {
        *v = s;
        return;
      }
    expected(type, n);
  };
  f.text = [v] { return *v; };
  return f;
}

// LibTorch's pool takes an int; a count past any machine's cores is a typo, not a wish (it
// would be truncated to 32 bits, 4294967297 running on 1 thread).
constexpr int64_t kMaxThreads = 4096;

ConfigField threads_field(int64_t* v) {
  const std::string type = "auto | integer in [1, " + std::to_string(kMaxThreads) + "]";
  ConfigField f{"threads", type,    "CPU threads for LibTorch's intra-op pool; auto = all cores.",
                nullptr,   nullptr, 's'};
  f.read = [v, type](const YAML::Node& n) {
    std::string s = scalar(n, type);
    if (s == "auto") {
      *v = 0;
      return;
    }
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE || x < 1 || x > kMaxThreads) expected(type, n);
    *v = x;
  };
  f.text = [v] { return *v == 0 ? std::string("auto") : std::to_string(*v); };
  return f;
}

void add_run_fields(Fields& f, Config& c) {
  f.push_back(string_field("name", &c.name, "Run name; outputs go to <output.dir>/<name>/."));
  f.push_back(int_field("seed", &c.seed, 0, kMaxInt,
                        "Seeds data generation, shuffling, initialisation, dropout and random "
                        "features. Same seed and config on CPU = identical run."));
  f.push_back(choice_field("task", &c.task, task_names(),
                           "LRA task; must match the prepared data's task (data.source: files)."));
  f.push_back(choice_field("device", &c.device, {"auto", "cpu", "cuda"},
                           "auto = cuda when available, else cpu."));
  f.push_back(threads_field(&c.threads));
}

void add_data_fields(Fields& f, DataConfig& d) {
  f.push_back(choice_field("data.source", &d.source, {"synthetic", "files"},
                           "synthetic = a built-in seeded generator (ListOps; Pathfinder and "
                           "Path-X, cached under data.pathfinder.cache_dir); files = a folder "
                           "written by lra_prepare."));
  f.push_back(string_field("data.dir", &d.dir, "Prepared data folder (data.source: files)."));
  f.push_back(int_field("data.max_length", &d.max_length, 1, kMaxInt,
                        "Sequences are padded (with id 0) to this length."));
  SyntheticListOpsConfig& s = d.synthetic;
  f.push_back(
      int_field("data.synthetic.train_size", &s.train_size, 1, kMaxInt, "Training examples."));
  f.push_back(
      int_field("data.synthetic.val_size", &s.val_size, 1, kMaxInt, "Validation examples."));
  f.push_back(int_field("data.synthetic.test_size", &s.test_size, 1, kMaxInt, "Test examples."));
  f.push_back(int_field("data.synthetic.min_length", &s.min_length, 0, kMaxInt,
                        "Keep only expressions with more than this many tokens."));
  f.push_back(int_field("data.synthetic.max_length", &s.max_length, 2, kMaxInt,
                        "Keep only expressions with fewer than this many tokens."));
  f.push_back(int_field("data.synthetic.max_depth", &s.max_depth, 1, 64,
                        "Deepest operator nesting (the root is depth 1)."));
  f.push_back(
      int_field("data.synthetic.max_args", &s.max_args, 2, 64, "Most arguments per operator."));
  f.push_back(float_field("data.synthetic.leaf_prob", &s.leaf_prob, 0.0, 1.0, true,
                          "Probability that a node above max_depth is a leaf."));
  SyntheticPathfinderConfig& p = d.pathfinder;
  f.push_back(choice_field("data.pathfinder.difficulty", &p.difficulty,
                           {"curv_baseline", "curv_contour_length_9", "curv_contour_length_14"},
                           "Generated Pathfinder/Path-X set: target contour length 6, 9 or 14 "
                           "paddles (LRA uses 14)."));
  f.push_back(int_field("data.pathfinder.resolution", &p.resolution, 0, 128,
                        "Preset 32, 64 or 128; 0 = the task's (pathfinder 32, pathx 128)."));
  f.push_back(int_field("data.pathfinder.images", &p.images, 10, kMaxInt,
                        "Images generated, split 80/10/10 (the release has 200,000)."));
  f.push_back(int_field("data.pathfinder.seed", &p.seed, 0, kMaxInt,
                        "Seed of the generated set (independent of seed, so runs with other "
                        "model seeds share one cached set)."));
  f.push_back(string_field("data.pathfinder.params", &p.params,
                           "Generator overrides, space-separated key=value (e.g. "
                           "\"continuity=1.8 distractors=8\"); lra_prepare pathfinder --help "
                           "lists the keys."));
  f.push_back(string_field("data.pathfinder.cache_dir", &p.cache_dir,
                           "Where generated sets are kept, one folder per setting; a second run "
                           "with the same settings reuses its folder."));
}

void add_model_fields(Fields& f, ModelConfig& m) {
  f.push_back(int_field("model.dim", &m.dim, 1, kMaxInt, "Embedding / residual width."));
  f.push_back(int_field("model.qkv_dim", &m.qkv_dim, 0, kMaxInt,
                        "Width of queries, keys and values over all heads; 0 = model.dim "
                        "(the official LRA configs use less than dim for some tasks)."));
  f.push_back(
      int_field("model.heads", &m.heads, 1, kMaxInt,
                "Attention heads; must divide the qkv width (head_dim = qkv_dim / heads)."));
  f.push_back(int_field("model.layers", &m.layers, 1, kMaxInt, "Encoder blocks."));
  f.push_back(
      int_field("model.mlp_dim", &m.mlp_dim, 1, kMaxInt, "Hidden width of each block's GELU MLP."));
  f.push_back(int_field("model.head_hidden", &m.head_hidden, 1, kMaxInt,
                        "Hidden width of the ReLU classifier head."));
  f.push_back(float_field("model.dropout", &m.dropout, 0.0, 0.99, false,
                          "Dropout on embeddings, attention output and MLP."));
  f.push_back(float_field("model.attention_dropout", &m.attention_dropout, 0.0, 0.99, false,
                          "Dropout on attention weights (backends that form them)."));
  f.push_back(choice_field("model.pos_embedding", &m.pos_embedding, {"learned", "sinusoidal"},
                           "Learned N(0, 0.02) table, or the fixed sinusoid."));
  f.push_back(choice_field("model.pooling", &m.pooling, {"mean", "mean_padded", "cls"},
                           "mean = over real tokens; mean_padded = over the full padded length "
                           "(Skyformer/Nystromformer quirk); cls = a learned vector prepended."));
  f.push_back(
      choice_field("model.interaction", &m.interaction, {"nli", "concat"},
                   "Retrieval two-tower head input: nli = [u, v, u*v, u-v] (PyTorch peers), "
                   "concat = [u, v] (official LRA default)."));
  f.push_back(string_field(
      "model.init_state", &m.init_state,
      "A safetensors file of parameters and buffers (random-feature draws included), by name, "
      "that replaces the seeded initialisation (e.g. another implementation's initial state, or "
      "an init.safetensors written by output.save_init_state); every missing, extra or "
      "mis-shaped tensor is an error. Empty = the seeded initialisation."));
}

// A declared attention key (attention_spec/attention_keys.h) as a field bound to `a`.
ConfigField attention_field(const AttentionKey& key, AttentionConfig& a) {
  std::string path = "attention." + key.name, doc = key.doc + read_by(key.name);
  struct Field {
    const AttentionKey& key;
    AttentionConfig& a;
    std::string& path;
    std::string& doc;
    ConfigField operator()(int64_t AttentionConfig::*m) const {
      const int64_t hi =
          key.hi >= static_cast<double>(kMaxInt) ? kMaxInt : static_cast<int64_t>(key.hi);
      return int_field(path, &(a.*m), static_cast<int64_t>(key.lo), hi, doc);
    }
    ConfigField operator()(double AttentionConfig::*m) const {
      return float_field(path, &(a.*m), key.lo, key.hi, key.lo_open, doc);
    }
    ConfigField operator()(bool AttentionConfig::*m) const {
      return bool_field(path, &(a.*m), doc);
    }
    ConfigField operator()(std::string AttentionConfig::*m) const {
      return key.choices.empty() ? string_field(path, &(a.*m), doc)
                                 : choice_field(path, &(a.*m), key.choices, doc);
    }
  };
  return std::visit(Field{key, a, path, doc}, key.member);
}

void add_attention_fields(Fields& f, AttentionConfig& a) {
  f.push_back(choice_field("attention.type", &a.type, attention_backend_names(),
                           "Attention backend (docs/attention.md lists what each computes and "
                           "reads). Setting a key the backend does not read is an error."));
  for (const auto& key : attention_keys()) f.push_back(attention_field(key, a));
}

void add_train_fields(Fields& f, TrainConfig& t) {
  f.push_back(int_field("train.batch_size", &t.batch_size, 1, kMaxInt,
                        "Examples per optimizer step (split across grad_accum chunks)."));
  f.push_back(int_field("train.steps", &t.steps, 1, kMaxInt, "Optimizer steps."));
  f.push_back(int_field("train.warmup", &t.warmup, 0, kMaxInt,
                        "Warm-up steps of the schedule (onecycle: steps to reach the peak)."));
  f.push_back(int_field("train.grad_accum", &t.grad_accum, 1, kMaxInt,
                        "Chunks each batch is split into; gradients are summed over them."));
  f.push_back(int_field("train.log_every", &t.log_every, 1, kMaxInt,
                        "Steps between metrics.jsonl lines (and log lines off a terminal)."));
  f.push_back(float_field("train.lr", &t.lr, 0.0, 10.0, true, "Peak learning rate."));
  f.push_back(float_field("train.beta1", &t.beta1, 0.0, 0.999999, false, "AdamW beta1."));
  f.push_back(float_field("train.beta2", &t.beta2, 0.0, 0.999999, false, "AdamW beta2."));
  f.push_back(float_field("train.eps", &t.eps, 0.0, 1.0, true, "AdamW epsilon."));
  f.push_back(float_field("train.weight_decay", &t.weight_decay, 0.0, 10.0, false,
                          "AdamW decoupled weight decay."));
  f.push_back(choice_field(
      "train.schedule", &t.schedule, {"onecycle", "rsqrt", "cosine", "constant"},
      "onecycle = PyTorch OneCycleLR, linear (lr/25 -> lr -> lr/2.5e5); "
      "rsqrt / cosine = official LRA, with linear warm-up; constant = warm-up then flat."));
  f.push_back(
      bool_field("train.cycle_beta1", &t.cycle_beta1,
                 "onecycle: also cycle beta1 0.95 -> 0.85 -> 0.95 as PyTorch does by default."));
  f.push_back(choice_field("train.clip", &t.clip, {"none", "value", "norm"},
                           "Gradient clipping: per element at +-clip_value, or by global norm."));
  f.push_back(
      float_field("train.clip_value", &t.clip_value, 0.0, 1e9, true, "Threshold for train.clip."));
  f.push_back(choice_field("train.precision", &t.precision, {"fp32", "bf16"},
                           "bf16: on CUDA, training forward passes under bfloat16 autocast "
                           "(linear layers, matmuls), the attention core kept in float32; "
                           "evaluation stays float32; no effect on the CPU."));
  f.push_back(choice_field("train.on_nonfinite", &t.on_nonfinite, {"stop", "skip"},
                           "A NaN/Inf loss or gradient: stop the run (naming the step and the "
                           "last finite loss), or skip that update."));
  f.push_back(int_field("train.max_nonfinite", &t.max_nonfinite, 0, kMaxInt,
                        "on_nonfinite: skip: the most updates skipped before the run stops."));
  f.push_back(int_field("train.checkpoint_every", &t.checkpoint_every, 0, kMaxInt,
                        "Steps between resumable checkpoints (checkpoint.pt, for --resume); "
                        "one is also written at every evaluation and on SIGINT/SIGTERM. "
                        "0 = at evaluations only."));
}

void add_eval_output_fields(Fields& f, EvalConfig& e, OutputConfig& o) {
  f.push_back(int_field("eval.every", &e.every, 1, kMaxInt, "Steps between validation runs."));
  f.push_back(int_field("eval.batches", &e.batches, 0, kMaxInt,
                        "Validation batches per evaluation; 0 = the full split."));
  f.push_back(int_field("eval.batch_size", &e.batch_size, 0, kMaxInt, "0 = train.batch_size."));
  f.push_back(float_field("eval.best_after", &e.best_after, 0.0, 1.0, false,
                          "Fraction of training before which no best checkpoint is kept "
                          "(Skyformer: 0.2)."));
  f.push_back(string_field("output.dir", &o.dir, "Runs are written to <output.dir>/<name>/."));
  f.push_back(bool_field("output.save_checkpoint", &o.save_checkpoint,
                         "Write best.pt (the best validation checkpoint)."));
  f.push_back(bool_field("output.tensorboard", &o.tensorboard,
                         "Write TensorBoard events (events.out.tfevents.lra_train) beside "
                         "metrics.jsonl: train/val/test scalars and the config as text."));
  f.push_back(bool_field("output.save_init_state", &o.save_init_state,
                         "Write init.safetensors: the model's parameters and buffers before step "
                         "1, by name, for another implementation (or model.init_state) to start "
                         "from."));
  f.push_back(bool_field("output.save_final_state", &o.save_final_state,
                         "Write final.safetensors: the parameters and buffers after the last "
                         "step (not the best model), by name, to compare with another "
                         "implementation's."));
  f.push_back(bool_field("output.batch_indices", &o.batch_indices,
                         "Write batches.jsonl beside metrics.jsonl: per training step, the indices "
                         "into the train split of the examples its batch holds, in order, so "
                         "that another implementation can replay the same batches."));
}

// data.source: synthetic: the task must have a generator, and the settings of its data.* block
// must leave it something to generate.
void synthetic_data_errors(const Config& c, std::vector<std::string>& e) {
  if (c.data.source != "synthetic") return;
  const TaskSpec* task = find_task(c.task);
  const TaskGenerator generator = task ? task->generator : TaskGenerator::kNone;
  if (generator == TaskGenerator::kNone)
    e.push_back("data.source: synthetic data exists for tasks " + generated_task_list() + "; for " +
                c.task + " prepare files with lra_prepare and set data.source: files and data.dir");
  if (generator == TaskGenerator::kPathfinder) {
    const int64_t r = c.data.pathfinder.resolution;
    const int64_t side = r ? r : task->image_side;
    if (r != 0 && r != 32 && r != 64 && r != 128)
      e.push_back("data.pathfinder.resolution: " + std::to_string(r) +
                  " has no preset; use 0 (the task's), 32, 64 or 128");
    else if (c.data.pathfinder.params.find("window=") == std::string::npos &&
             c.data.max_length > side * side)
      e.push_back("data.max_length: " + std::to_string(c.data.max_length) + " is longer than the " +
                  std::to_string(side) + "x" + std::to_string(side) + " images (" +
                  std::to_string(side * side) + " pixels); set it to " +
                  std::to_string(side * side));
  }
  if (generator == TaskGenerator::kListOps) {
    const auto& s = c.data.synthetic;
    if (s.min_length + 1 >= s.max_length)
      e.push_back("data.synthetic.min_length: " + std::to_string(s.min_length) +
                  " leaves no length strictly between it and data.synthetic.max_length " +
                  std::to_string(s.max_length));
    if (s.max_length - 1 > c.data.max_length)
      e.push_back("data.max_length: " + std::to_string(c.data.max_length) +
                  " is shorter than the longest synthetic expression "
                  "(data.synthetic.max_length - 1 = " +
                  std::to_string(s.max_length - 1) + ")");
  }
}

}  // namespace

std::vector<ConfigField> config_schema(Config& c) {
  Fields f;
  add_run_fields(f, c);
  add_data_fields(f, c.data);
  add_model_fields(f, c.model);
  add_attention_fields(f, c.attention);
  add_train_fields(f, c.train);
  add_eval_output_fields(f, c.eval, c.output);
  return f;
}

std::vector<std::string> cross_field_errors(const Config& c) {
  std::vector<std::string> e;
  auto fail = [&e](std::string msg) { e.push_back(std::move(msg)); };
  const int64_t qkv = c.model.qkv_width();
  if (qkv % c.model.heads != 0)
    fail("model.heads: " + std::to_string(c.model.heads) + " does not divide the qkv width " +
         std::to_string(qkv) + " (model.qkv_dim, or model.dim when it is 0); pick heads so that " +
         "the width / heads is an integer");
  synthetic_data_errors(c, e);
  for (auto& message : attention_config_errors(c.attention, c.attention_length()))
    fail(std::move(message));
  if (c.data.source == "files" && c.data.dir.empty())
    fail("data.dir: required when data.source is files (a folder written by lra_prepare)");
  if (c.train.schedule == "onecycle" && c.train.warmup > c.train.steps)
    fail("train.warmup: " + std::to_string(c.train.warmup) + " exceeds train.steps " +
         std::to_string(c.train.steps) + " (onecycle needs its peak inside the run)");
  if (c.train.grad_accum > c.train.batch_size)
    fail("train.grad_accum: " + std::to_string(c.train.grad_accum) +
         " chunks cannot split train.batch_size " + std::to_string(c.train.batch_size));
  if (c.name.empty() || c.name.find('/') != std::string::npos || c.name == "." || c.name == "..")
    fail("name: '" + c.name + "' must be a non-empty folder name without '/'");
  return e;
}

std::string default_text(const std::string& path) {
  static const std::map<std::string, std::string> defaults = [] {
    std::map<std::string, std::string> values;
    Config config;
    for (const auto& field : config_schema(config)) values[field.path] = field.text();
    return values;
  }();
  const auto it = defaults.find(path);
  return it == defaults.end() ? std::string() : it->second;
}

}  // namespace lra
