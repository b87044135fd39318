#include "attention/registry.h"

#include <stdexcept>

#include "util/strings.h"

namespace lra {

#define LRA_ATTENTION_BACKEND(name, ...)                                                          \
  namespace backends::name {                                                                      \
  AttentionPtr make(const AttentionConfig& config, const AttentionContext& context);              \
  FlopCount flops(const AttentionShape& shape, const AttentionBackend& instance);                 \
  torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, \
                          const torch::Tensor& key_mask, const AttentionConfig& config);          \
  }
#include "attention_spec/backend_list.h"
#undef LRA_ATTENTION_BACKEND

namespace {

std::vector<BackendImplementation> implementations() {
  std::vector<BackendImplementation> table = {
#define LRA_ATTENTION_BACKEND(name, ...)                                     \
  {&attention_backend(#name), &backends::name::make, &backends::name::flops, \
   &backends::name::reference},
#include "attention_spec/backend_list.h"
#undef LRA_ATTENTION_BACKEND
  };
  return table;
}

}  // namespace

const BackendImplementation& attention_implementation(const std::string& name) {
  static const std::vector<BackendImplementation> table = implementations();
  const BackendSpec& spec = attention_backend(name);  // throws for an unknown name
  for (const auto& implementation : table)
    if (implementation.spec == &spec) return implementation;
  throw std::logic_error("attention backend '" + name + "' has no implementation");
}

AttentionPtr make_attention(const AttentionConfig& config, const AttentionContext& context) {
  const auto errors = attention_config_errors(config, context.max_length);
  if (!errors.empty()) throw std::invalid_argument(join(errors, "\n"));
  return attention_implementation(config.type).make(config, context);
}

AttentionFactory attention_factory(const AttentionConfig& config, ExecutionOptions execution) {
  return [config, execution](const AttentionContext& context) {
    AttentionContext with_execution = context;
    with_execution.execution = execution;
    return make_attention(config, with_execution);
  };
}

}  // namespace lra
