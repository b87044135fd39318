// ListOps: lra_prepare listops (the release's TSV files, or the set lra_train generates for a
// config) and the generator behind data.source: synthetic.
#include <iostream>
#include <memory>
#include <stdexcept>

#include <torch/torch.h>

#include "data/listops.h"
#include "data/prepared.h"
#include "data/raw/listops_tsv.h"
#include "data/task_registry.h"
#include "util/rng.h"

namespace lra::tasks::listops {
namespace {

enum SeedStream : uint64_t { kDataStream = 1 };

Split listops_split(std::string name, const std::vector<lra::listops::Example>& all, size_t begin,
                    size_t end, int64_t max_length) {
  std::vector<std::vector<uint8_t>> tokens;
  std::vector<int64_t> labels;
  for (size_t i = begin; i < end; ++i) {
    tokens.push_back(all[i].tokens);
    labels.push_back(all[i].label);
  }
  Split split;
  split.name = std::move(name);
  split.tokens = pad_tokens(tokens, max_length);        // (N, L)
  split.labels = torch::tensor(labels, torch::kInt64);  // (N,)
  return split;
}

// lra_prepare listops --from-config: the set lra_train generates for `config_path`, written for
// another implementation to read.
void write_generated(const std::string& config_path, const prepare::Request& request) {
  const Config config = load_config(config_path);
  if (config.task != "listops" || config.data.source != "synthetic")
    throw std::invalid_argument(config_path +
                                ": --from-config needs task: listops and data.source: synthetic");
  write_prepared(request.out, load_task_data(config),
                 {{"tool", "lra_prepare"}, {"generated_from", config_path}});
  if (!request.quiet)
    std::cout << "wrote " << request.out << " (generated from " << config_path << ")\n";
}

}  // namespace

TaskData generate(const Config& config, std::string& source) {
  const auto& s = config.data.synthetic;
  auto examples =
      lra::listops::generate(s, derive_seed(static_cast<uint64_t>(config.seed), kDataStream));
  source = "the generated set";
  TaskData data;
  data.task = "listops";
  data.vocab_size = lra::listops::kVocabSize;
  data.num_classes = lra::listops::kNumClasses;
  data.max_length = config.data.max_length;
  const size_t a = static_cast<size_t>(s.train_size), b = a + static_cast<size_t>(s.val_size);
  // Official order: the first train_size expressions are train, then val, then test.
  data.train = listops_split("train", examples, 0, a, data.max_length);
  data.val = listops_split("val", examples, a, b, data.max_length);
  data.test = listops_split("test", examples, b, examples.size(), data.max_length);
  return data;
}

prepare::Command prepare_command() {
  struct State {
    raw::ListOpsOptions options;
    std::string from_config;
  };
  auto s = std::make_shared<State>();
  prepare::Command c;
  c.description = "ListOps from basic_{train,val,test}.tsv, or the set lra_train generates";
  c.input_help = "folder with basic_{train,val,test}.tsv (lra_release/listops-1000)";
  c.input_required = false;
  c.options = {
      {"--from-config",
       &s->from_config,
       "instead of --input: an lra_train config with data.source: synthetic; writes the set "
       "lra_train generates for it (its seed, data.synthetic.*, data.max_length), for another "
       "implementation to read",
       {},
       false,
       "--input"},
      {"--tokenization", &s->options.tokenization,
       "fixed (official 2021: ']' kept) or peer (all brackets dropped)",
       prepare::one_of({"fixed", "peer"})},
      {"--max-length", &s->options.max_length, "padded length", prepare::positive()},
  };
  c.run = [s](const prepare::Request& request) -> std::optional<raw::Prepared> {
    if (s->from_config.empty())
      return raw::prepare_listops(prepare::require_input(request), s->options, request.progress);
    write_generated(s->from_config, request);
    return std::nullopt;
  };
  return c;
}

}  // namespace lra::tasks::listops
