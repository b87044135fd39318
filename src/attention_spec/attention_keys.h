// The attention.* keys other than type, each declared once: its field of AttentionConfig, its
// range or values, and its meaning. The config schema (config/schema.cpp) turns each into a
// checked YAML key; which backends read it is on their registration lines (backend_list.h).
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "attention_spec/attention_config.h"

namespace lra {

struct AttentionKey {
  using Member = std::variant<int64_t AttentionConfig::*, double AttentionConfig::*,
                              bool AttentionConfig::*, std::string AttentionConfig::*>;
  std::string name;  // without "attention."
  Member member;
  // Numbers: the accepted range (lo excluded when lo_open). Strings: the accepted values.
  double lo = 0.0;
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  std::vector<std::string> choices;
  std::string doc;
};

// Every key, in the order docs/config.md lists them.
const std::vector<AttentionKey>& attention_keys();
// Throws std::invalid_argument for a name that is not a declared key.
const AttentionKey& attention_key(const std::string& name);

// The key's value in `config` as YAML text, as the config prints it ("0.000001", "true", "exp").
std::string attention_key_text(const AttentionConfig& config, const AttentionKey& key);
bool attention_key_is_default(const AttentionConfig& config, const AttentionKey& key);
// Numbers within [lo, hi] (lo excluded when lo_open), strings among the choices if it has any.
bool attention_key_in_range(const AttentionConfig& config, const AttentionKey& key);
std::string attention_key_range_text(const AttentionKey& key);  // "(0.0, 1000000.0]", "a | b"
// Sets the key in `config` to its value in `from`.
void copy_attention_key(const AttentionConfig& from, const AttentionKey& key,
                        AttentionConfig& config);

// The values attention.kernel, attention.component and attention.weight_sampler take.
const std::vector<std::string>& dot_kernel_names();
const std::vector<std::string>& component_function_names();
const std::vector<std::string>& weight_sampler_names();

}  // namespace lra
