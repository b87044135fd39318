#include "attention_spec/backend_spec.h"

#include <algorithm>
#include <stdexcept>

#include "util/strings.h"

namespace lra {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::vector<std::string> rule_keys(const std::vector<const BackendRule*>& rules) {
  std::vector<std::string> keys;
  for (const BackendRule* rule : rules) keys.push_back(rule->key);
  return keys;
}

}  // namespace

bool BackendSpec::reads_key(const std::string& key) const {
  return contains(reads, key);
}

std::string BackendSpec::exact_reason(const AttentionConfig& config, int64_t length) const {
  return exact_when ? exact_when(config, length) : "";
}

bool BackendSpec::accepts_kernel(const std::string& kernel) const {
  return contains(kernels, kernel);
}

const std::vector<BackendSpec>& attention_backends() {
#define QUADRATIC AttentionCost::kQuadratic
#define LINEAR AttentionCost::kLinear
#define READS(...) std::vector<std::string>({__VA_ARGS__})
#define KERNELS(...) std::vector<std::string>({__VA_ARGS__})
#define RULES(...) std::vector<const BackendRule*>({__VA_ARGS__})
#define LRA_DOT_KERNELS dot_kernel_names()
#define EXACT_WHEN(condition) condition
#define LRA_ATTENTION_BACKEND(name, description, cost, approximates, reads, kernels, rules, ...) \
  BackendSpec{#name, description, cost, approximates, reads, kernels, rules, ##__VA_ARGS__},
  using namespace rules;
  using namespace exact_forms;
  static const std::vector<BackendSpec> specs = {
#include "attention_spec/backend_list.h"
  };
#undef LRA_ATTENTION_BACKEND
#undef EXACT_WHEN
#undef LRA_DOT_KERNELS
#undef RULES
#undef KERNELS
#undef READS
#undef LINEAR
#undef QUADRATIC
  return specs;
}

std::vector<std::string> attention_backend_names() {
  std::vector<std::string> names;
  for (const auto& spec : attention_backends()) names.push_back(spec.name);
  return names;
}

const BackendSpec& attention_backend(const std::string& name) {
  for (const auto& spec : attention_backends())
    if (spec.name == name) return spec;
  throw std::invalid_argument("attention.type: unknown backend '" + name +
                              "'; expected one of: " + join(attention_backend_names(), " | "));
}

std::string read_by(const std::string& key) {
  std::vector<std::string> names;
  for (const auto& spec : attention_backends())
    if (spec.reads_key(key)) names.push_back(spec.name);
  return " Read by: " + (names.empty() ? std::string("no backend") : join(names, ", ")) + ".";
}

std::vector<std::string> attention_config_errors(const AttentionConfig& attention,
                                                 int64_t padded_length) {
  const BackendSpec* spec = nullptr;
  try {
    spec = &attention_backend(attention.type);
  } catch (const std::invalid_argument& e) {
    return {e.what()};
  }
  // A key the backend does not read would be silently ignored: only its default may stand.
  const std::string reads = spec->reads.empty() ? "no attention.* key" : join(spec->reads, ", ");
  const AttentionConfig defaults;
  std::vector<std::string> errors;
  for (const auto& key : attention_keys())
    if (!attention_key_in_range(attention, key))
      errors.push_back("attention." + key.name + ": " + attention_key_text(attention, key) +
                       " is outside what it takes: " + attention_key_range_text(key));
  for (const auto& key : attention_keys()) {
    if (spec->reads_key(key.name) || attention_key_is_default(attention, key)) continue;
    errors.push_back("attention." + key.name + ": " + attention_key_text(attention, key) +
                     " is set, but " + spec->name + " does not read it (it reads " + reads +
                     "); remove it (default " + attention_key_text(defaults, key) +
                     ") or pick a backend that reads it." + read_by(key.name));
  }
  if (spec->reads_key("kernel") && !spec->accepts_kernel(attention.kernel))
    errors.push_back("attention.kernel: " + spec->name + " does not compute kernel '" +
                     attention.kernel + "'; it computes " + join(spec->kernels, ", "));
  for (const BackendRule* rule : spec->rules) {
    std::string message = rule->check(attention, padded_length);
    if (!message.empty()) errors.push_back(std::move(message));
  }
  return errors;
}

AttentionConfig with_backend(const AttentionConfig& settings, const std::string& type) {
  const BackendSpec& spec = attention_backend(type);
  AttentionConfig result;
  result.type = type;
  for (const auto& key : attention_keys())
    if (spec.reads_key(key.name)) copy_attention_key(settings, key, result);
  return result;
}

std::string attention_backend_summary_markdown() {
  std::string out =
      "| type | what it computes | cost in L | approximates |\n"
      "|---|---|---|---|\n";
  for (const auto& s : attention_backends())
    out += "| `" + s.name + "` | " + s.description + " | " +
           (s.cost == AttentionCost::kLinear ? "linear" : "quadratic") + " | " +
           (s.exact() ? "— (exact)" : "`" + s.approximates + "`") + " |\n";
  return out;
}

std::string attention_backend_table_markdown() {
  auto code = [](const std::vector<std::string>& items) {
    std::vector<std::string> quoted;
    for (const auto& item : items) quoted.push_back("`" + item + "`");
    return quoted.empty() ? std::string("—") : join(quoted, ", ");
  };
  std::string out =
      "| type | what it computes | cost in L | approximates | reads `attention.*` | kernels | "
      "rules on |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const auto& s : attention_backends())
    out += "| `" + s.name + "` | " + s.description + " | " +
           (s.cost == AttentionCost::kLinear ? "linear" : "quadratic") + " | " +
           (s.exact() ? "— (exact)" : "`" + s.approximates + "`") + " | " + code(s.reads) + " | " +
           code(s.kernels) + " | " + code(rule_keys(s.rules)) + " |\n";
  return out;
}

}  // namespace lra
