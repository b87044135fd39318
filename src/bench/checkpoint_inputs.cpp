#include "bench/checkpoint_inputs.h"

#include <stdexcept>

#include <torch/torch.h>

#include "attention/registry.h"
#include "config/config.h"
#include "data/dataset.h"
#include "model/transformer.h"

namespace lra::bench {

std::vector<torch::Tensor> checkpoint_qkv(const std::string& run, int64_t layer, int64_t example,
                                          const torch::Device& device) {
  auto config = load_config(run + "/config.yaml");
  auto data = load_task_data(config);
  Classifier model(config.model, attention_factory(config.attention), data.vocab_size,
                   data.max_length, data.num_classes, data.train.tokens2.defined(),
                   static_cast<uint64_t>(config.seed));
  torch::load(model, run + "/best.pt");
  model->eval();
  torch::NoGradGuard no_grad;
  if (example < 0 || example >= data.val.size())
    throw std::invalid_argument("--example " + std::to_string(example) + " is outside the " +
                                std::to_string(data.val.size()) + " validation examples");
  auto batch = gather_batch(data.val, {example});
  auto inputs = model->encoder()->attention_inputs(batch.tokens, layer);
  auto real = inputs[3][0].nonzero().squeeze(1);  // positions of real tokens
  std::vector<torch::Tensor> qkv;
  for (int i = 0; i < 3; ++i)
    qkv.push_back(inputs[i].index_select(2, real).to(device, torch::kFloat64));
  return qkv;
}

}  // namespace lra::bench
