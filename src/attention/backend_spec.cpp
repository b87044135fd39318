#include "attention/backend_spec.h"

#include <algorithm>
#include <stdexcept>

#include "util/strings.h"

namespace lra {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

#define LRA_DOT_KERNELS "exp", "inverse", "logi", "trigh", "sqrt"

const std::vector<std::string>& dot_kernel_names() {
  static const std::vector<std::string> names = {LRA_DOT_KERNELS};
  return names;
}

const std::vector<std::string>& component_function_names() {
  static const std::vector<std::string> names = {"positive", "oprf", "saderf", "trigonometric"};
  return names;
}

const std::vector<std::string>& weight_sampler_names() {
  static const std::vector<std::string> names = {"gaussian", "orthogonal",      "sorf",
                                                 "qmc",      "moment_matching", "quadrature",
                                                 "fastfood", "fastfood_learned"};
  return names;
}

bool BackendSpec::reads_key(const std::string& key) const {
  return contains(reads, key);
}

bool BackendSpec::accepts_kernel(const std::string& kernel) const {
  return contains(kernels, kernel);
}

const std::vector<BackendSpec>& attention_backends() {
#define QUADRATIC AttentionCost::kQuadratic
#define LINEAR AttentionCost::kLinear
#define READS(...) std::vector<std::string>({__VA_ARGS__})
#define KERNELS(...) std::vector<std::string>({__VA_ARGS__})
#define LRA_ATTENTION_BACKEND(name, description, cost, approximates, reads, kernels) \
  BackendSpec{#name, description, cost, approximates, reads, kernels},
  static const std::vector<BackendSpec> specs = {
#include "attention/backends/backend_list.h"
  };
#undef LRA_ATTENTION_BACKEND
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

std::string attention_backend_table_markdown() {
  auto code = [](const std::vector<std::string>& items) {
    std::vector<std::string> quoted;
    for (const auto& item : items) quoted.push_back("`" + item + "`");
    return quoted.empty() ? std::string("—") : join(quoted, ", ");
  };
  std::string out =
      "| type | what it computes | cost in L | approximates | reads `attention.*` | kernels |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& s : attention_backends())
    out += "| `" + s.name + "` | " + s.description + " | " +
           (s.cost == AttentionCost::kLinear ? "linear" : "quadratic") + " | " +
           (s.exact() ? "— (exact)" : "`" + s.approximates + "`") + " | " + code(s.reads) + " | " +
           code(s.kernels) + " |\n";
  return out;
}

}  // namespace lra
