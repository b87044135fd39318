// What the project knows about an attention backend without building one: the LibTorch-free
// half of its registration line (backend_list.h). The config checks its attention.* settings
// against it when it is read, --config-reference and docs/attention.md print it, lra_bench and
// the tests choose backends by it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attention_spec/attention_config.h"
#include "attention_spec/attention_keys.h"
#include "attention_spec/backend_rules.h"
#include "attention_spec/exact_forms.h"

namespace lra {

// How time and memory grow with the sequence length L.
enum class AttentionCost { kQuadratic, kLinear };

struct BackendSpec {
  std::string name;
  std::string description;  // one line
  AttentionCost cost = AttentionCost::kQuadratic;
  std::string approximates;               // the exact backend it estimates; empty = exact itself
  std::vector<std::string> reads;         // attention.* keys it reads, without "attention."
  std::vector<std::string> kernels;       // attention.kernel values it computes
  std::vector<const BackendRule*> rules;  // what its settings must keep beyond their ranges
  ExactWhen exact_when = nullptr;         // where it computes `approximates` exactly instead

  bool exact() const { return approximates.empty(); }
  bool reads_key(const std::string& key) const;
  bool accepts_kernel(const std::string& kernel) const;
  bool supports_causal() const { return reads_key("causal"); }
  // Why `config` computes the exact `approximates` at `length` (exact_forms.h), "" when it
  // approximates there.
  std::string exact_reason(const AttentionConfig& config, int64_t length) const;
};

// Every registered backend, in registration order.
const std::vector<BackendSpec>& attention_backends();
std::vector<std::string> attention_backend_names();
// Throws std::invalid_argument naming the registered backends.
const BackendSpec& attention_backend(const std::string& name);

// Every problem of `attention` for its backend, one message each naming its key: an unknown
// attention.type, a number outside its declared range (the YAML reader refuses those first; this
// guards configs built in code), a key the backend does not read set to a non-default value, a
// kernel it does not compute, a broken rule of its registration line. padded_length: as
// BackendRule::check.
std::vector<std::string> attention_config_errors(const AttentionConfig& attention,
                                                 int64_t padded_length = 0);

// `settings` switched to backend `type`: the keys it reads keep their values, the others go back
// to their defaults (for tools that run one config with several backends).
AttentionConfig with_backend(const AttentionConfig& settings, const std::string& type);

// " Read by: favor, schoenbat." for attention.<key>, from the registration lines.
std::string read_by(const std::string& key);

// Markdown table of the registered backends (docs/attention.md holds it; a test keeps the two
// equal).
std::string attention_backend_table_markdown();
// Its first four columns (type, what, cost, approximates), for the README (a test keeps the two
// equal).
std::string attention_backend_summary_markdown();

}  // namespace lra
