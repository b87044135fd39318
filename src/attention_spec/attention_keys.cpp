#include "attention_spec/attention_keys.h"

#include <algorithm>
#include <stdexcept>

#include "util/format.h"

namespace lra {

const std::vector<std::string>& dot_kernel_names() {
  static const std::vector<std::string> names = {"exp", "inverse", "logi", "trigh", "sqrt"};
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

namespace {

using A = AttentionConfig;
constexpr double kMaxInt = static_cast<double>(std::numeric_limits<int64_t>::max());
constexpr double kUnbounded = std::numeric_limits<double>::infinity();

AttentionKey number(std::string name, AttentionKey::Member member, double lo, double hi,
                    bool lo_open, std::string doc) {
  return {std::move(name), member, lo, hi, lo_open, {}, std::move(doc)};
}

AttentionKey choice(std::string name, std::string A::*member, std::vector<std::string> choices,
                    std::string doc) {
  return {std::move(name), member, 0.0, kUnbounded, false, std::move(choices), std::move(doc)};
}

std::vector<AttentionKey> declare_keys() {
  return {
      number("features", &A::features, 0, kMaxInt, false,
             "Random features per head (m); skyformer: landmark columns, 0 = sampling_factor * "
             "ln(max_length); informer: sampling factor c = ceil(features / ln(max_length)) "
             "(the Skyformer code's in_nb_features), 0 = c is sampling_factor (0 is skyformer's "
             "and informer's only)."),
      number("redraw_interval", &A::redraw_interval, 0, kMaxInt, false,
             "Training steps between random-feature redraws; 0 = never."),
      choice("kernel", &A::kernel, dot_kernel_names(), "Dot-product kernel f(q.k)."),
      number("max_degree", &A::max_degree, 1, 64, false, "Highest Maclaurin degree."),
      {"causal",
       &A::causal,
       0,
       1,
       false,
       {},
       "Query i attends to keys j <= i only (SchoenbAt's official prefix-sum aggregation)."},
      choice("component", &A::component, component_function_names(),
             "Random-feature component function for the softmax kernel: positive (PosRF, "
             "FAVOR+), oprf (FAVOR++, data-optimal positive), saderf (OPRF after SADERF's "
             "diagonal rescaling), trigonometric (cos/sin of the projections)."),
      choice("weight_sampler", &A::weight_sampler, weight_sampler_names(),
             "How the random directions are drawn: gaussian (i.i.d.), orthogonal (ORF), sorf, "
             "qmc (scrambled Sobol), moment_matching, quadrature (Gauss-Hermite), fastfood, "
             "fastfood_learned (FastFood factors trained with the model; favor only)."),
      choice("row_norm", &A::row_norm, {"chi", "sqrt_d"},
             "Lengths of the random directions: chi-distributed, or all sqrt(d)."),
      number("eps", &A::eps, 0.0, 1.0, false,
             "Added to attention denominators to keep them away from 0."),
      choice("convention", &A::convention, {"paper", "skyformer_code", "lra_code"},
             "paper = the method as its paper defines it; skyformer_code = as the Skyformer "
             "repository's code computes it, the code behind the Skyformer and SchoenbAt tables; "
             "lra_code = as the official LRA code (google-research/long-range-arena) computes "
             "it, the code behind the LRA paper's Table 1 (docs/attention.md, \"Reference code "
             "conventions\")."),
      number("num_landmarks", &A::num_landmarks, 1, kMaxInt, false,
             "Landmarks per head: means of consecutive segments of the real tokens."),
      number("pinv_iterations", &A::pinv_iterations, 0, 1000, false,
             "Iterations of the Moore-Penrose pseudo-inverse of the landmark matrix."),
      number("conv_kernel", &A::conv_kernel, 0, kMaxInt, false,
             "Odd width of a depthwise convolution of the values along the sequence added to "
             "the output (Nystromformer's LRA runs: 35); 0 = none."),
      number("linformer_k", &A::linformer_k, 1, kMaxInt, false,
             "Length the keys and values are projected to."),
      number("accumulation", &A::accumulation, 1, kMaxInt, false,
             "Sampled kernel columns summed into each landmark column."),
      number("sampling_factor", &A::sampling_factor, 0.0, 1e6, true,
             "Landmark columns = sampling_factor * ln(max_length) when attention.features is 0; "
             "informer: its sampling factor c itself (Informer's c) when attention.features is "
             "0."),
      number("block_size", &A::block_size, 1, kMaxInt, false,
             "Tokens per block of the block-sparse pattern; at most the padded length (a "
             "sequence that is not a multiple is padded with masked keys)."),
      number("random_blocks", &A::random_blocks, 1, kMaxInt, false,
             "Random key blocks each non-global query block attends to (BigBird's r)."),
      number("global_blocks", &A::global_blocks, 1, kMaxInt, false,
             "Blocks at each end of the sequence that attend to every key and that every query "
             "attends to (BigBird's ITC global tokens: 1 = the first and the last block)."),
      number("window", &A::window, 1, kMaxInt, false,
             "Longformer's sliding window w: each token attends to w / 2 tokens on each side "
             "(convention paper; w even) or, as the LRA code splits it, w - w / 2 - 1 before and "
             "w / 2 after (lra_code); a window spanning the sequence is exact softmax."),
      number("global_tokens", &A::global_tokens, 0, kMaxInt, false,
             "The first g positions (the CLS slot when model.pooling is cls) are global: they "
             "attend to every key and every query attends to them (Longformer's global "
             "attention; the LRA code's Sparse Transformer CLS token, its pattern then starting "
             "after them). At most the padded length."),
      choice("sparse_pattern", &A::sparse_pattern, {"fixed", "strided"},
             "Sparse Transformer's causal pattern: fixed (the query's own block of block_size "
             "positions and the summary positions of earlier blocks, what the LRA code ran) or "
             "strided (the block_size previous positions and every block_size-th one before)."),
      number("summary_tokens", &A::summary_tokens, 0, kMaxInt, false,
             "Sparse Transformer's c (fixed pattern): later queries also attend to the last c "
             "positions of every block and to each block's first one (the paper's positions "
             "block_size - c ... block_size, as its example and the LRA code count them)."),
      number("hashes", &A::hashes, 1, 64, false,
             "Rounds of LSH hashing, each with its own random rotation; a key seen in any "
             "round's window gets weight."),
      number("bucket_size", &A::bucket_size, 1, kMaxInt, false,
             "Sorted positions per chunk (HuggingFace's lsh_attn_chunk_length); a sequence of at "
             "most one chunk is attended whole, without hashing."),
      number("chunks_before", &A::chunks_before, 0, kMaxInt, false,
             "Earlier chunks of the sorted sequence each chunk also attends to."),
      number("chunks_after", &A::chunks_after, 0, kMaxInt, false,
             "Later chunks of the sorted sequence each chunk also attends to."),
      number("num_buckets", &A::num_buckets, 0, kMaxInt, false,
             "Hash buckets per round (even); 0 = as HuggingFace, the largest power of two <= 2 * "
             "length / bucket_size, factorised into two hashes when large."),
      number("sinkhorn_iterations", &A::sinkhorn_iterations, 1, 1000, false,
             "Sinkhorn balancing steps (a row then a column normalisation each) that turn the "
             "block sort logits into a doubly stochastic block permutation."),
      number("temperature", &A::temperature, 0.0, 1e6, true,
             "Temperature tau of the Gumbel-Sinkhorn sort: logits (R + Gumbel noise while "
             "training) / tau; smaller is closer to a hard permutation."),
      choice("synthesizer_mode", &A::synthesizer_mode,
             {"random", "factorized_random", "dense", "dense_random", "dense_factorized_random"},
             "Synthetic attention logits: random (a learned L x L matrix per head), "
             "factorized_random (its rank-synthesizer_k product R1 R2), dense (a two-layer "
             "network of each query giving its row), or dense plus one of the random kinds."),
      {"dot_product",
       &A::dot_product,
       0,
       1,
       false,
       {},
       "Also add the dot-product scores q.k / sqrt(d) to the synthetic logits (the LRA code's "
       "ignore_dot_product: false, what its configs ran)."},
      number("synthesizer_k", &A::synthesizer_k, 1, kMaxInt, false,
             "Rank of the factorized random logits R1 (L x k) R2 (k x L)."),
      number("max_length", &A::max_length, 0, kMaxInt, false,
             "Longest sequence (the padded length, CLS slot included) that length-sized learned "
             "weights cover; 0 = the task's padded length. A longer data.max_length is refused "
             "when the config is read."),
  };
}

}  // namespace

const std::vector<AttentionKey>& attention_keys() {
  static const std::vector<AttentionKey> keys = declare_keys();
  return keys;
}

const AttentionKey& attention_key(const std::string& name) {
  for (const auto& key : attention_keys())
    if (key.name == name) return key;
  throw std::invalid_argument("attention." + name + " is not a declared attention key");
}

std::string attention_key_text(const AttentionConfig& config, const AttentionKey& key) {
  struct Text {
    const AttentionConfig& c;
    std::string operator()(int64_t A::*m) const { return std::to_string(c.*m); }
    std::string operator()(double A::*m) const { return format_double(c.*m); }
    std::string operator()(bool A::*m) const { return c.*m ? "true" : "false"; }
    std::string operator()(std::string A::*m) const { return c.*m; }
  };
  return std::visit(Text{config}, key.member);
}

bool attention_key_is_default(const AttentionConfig& config, const AttentionKey& key) {
  return attention_key_text(config, key) == attention_key_text(AttentionConfig{}, key);
}

bool attention_key_in_range(const AttentionConfig& config, const AttentionKey& key) {
  struct InRange {
    const AttentionConfig& c;
    const AttentionKey& k;
    bool number(double x) const { return (k.lo_open ? x > k.lo : x >= k.lo) && x <= k.hi; }
    bool operator()(int64_t A::*m) const { return number(static_cast<double>(c.*m)); }
    bool operator()(double A::*m) const { return number(c.*m); }
    bool operator()(bool A::*) const { return true; }
    bool operator()(std::string A::*m) const {
      return k.choices.empty() ||
             std::find(k.choices.begin(), k.choices.end(), c.*m) != k.choices.end();
    }
  };
  return std::visit(InRange{config, key}, key.member);
}

std::string attention_key_range_text(const AttentionKey& key) {
  if (!key.choices.empty()) {
    std::string text;
    for (const auto& choice : key.choices) text += (text.empty() ? "" : " | ") + choice;
    return text;
  }
  return (key.lo_open ? "(" : "[") + format_double(key.lo) + ", " + format_double(key.hi) + "]";
}

void copy_attention_key(const AttentionConfig& from, const AttentionKey& key,
                        AttentionConfig& config) {
  std::visit([&](auto member) { config.*member = from.*member; }, key.member);
}

}  // namespace lra
