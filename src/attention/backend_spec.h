// What the project knows about an attention backend without building one: the LibTorch-free
// half of its registration line (src/attention/backends/backend_list.h). The config validates
// against it, --config-reference and docs/attention.md print it, lra_bench and the tests choose
// backends by it.
#pragma once
#include <string>
#include <vector>

namespace lra {

// How time and memory grow with the sequence length L.
enum class AttentionCost { kQuadratic, kLinear };

struct BackendSpec {
  std::string name;
  std::string description;  // one line
  AttentionCost cost = AttentionCost::kQuadratic;
  std::string approximates;          // the exact backend it estimates; empty = exact itself
  std::vector<std::string> reads;    // attention.* keys it reads, without "attention."
  std::vector<std::string> kernels;  // attention.kernel values it computes

  bool exact() const { return approximates.empty(); }
  bool reads_key(const std::string& key) const;
  bool accepts_kernel(const std::string& kernel) const;
  bool supports_causal() const { return reads_key("causal"); }
};

// Every registered backend, in registration order.
const std::vector<BackendSpec>& attention_backends();
std::vector<std::string> attention_backend_names();
// Throws std::invalid_argument naming the registered backends.
const BackendSpec& attention_backend(const std::string& name);

// The dot-product kernels attention.kernel can name (src/attention/dot_kernels.h).
const std::vector<std::string>& dot_kernel_names();
// Values of attention.component and attention.weight_sampler (src/attention/weight_samplers.h).
const std::vector<std::string>& component_function_names();
const std::vector<std::string>& weight_sampler_names();

// Markdown table of the registered backends (docs/attention.md holds it; a test keeps the two
// equal).
std::string attention_backend_table_markdown();

}  // namespace lra
