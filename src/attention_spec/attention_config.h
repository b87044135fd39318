// The attention.* settings: what a backend is built from. LibTorch-free, so that the config
// (which reads them), the backend declarations (which check them) and the backends (which are
// built from them) share one definition. Each field's type, range and meaning are declared once
// in attention_keys.cpp; which backends read it, on their registration lines (backend_list.h).
#pragma once
#include <cstdint>
#include <string>

namespace lra {

struct AttentionConfig {
  std::string type = "softmax";
  int64_t features = 128;                     // m, random features per head (skyformer: columns)
  int64_t redraw_interval = 0;                // training steps between feature redraws; 0 = never
  std::string kernel = "exp";                 // exp | inverse | logi | trigh | sqrt
  int64_t max_degree = 20;                    // SchoenbAt Maclaurin truncation
  bool causal = false;                        // SchoenbAt: the official prefix-sum form
  std::string component = "positive";         // favor: positive | oprf | saderf | trigonometric
  std::string weight_sampler = "orthogonal";  // favor/favor_sharp: how the rows omega are drawn
  std::string row_norm = "chi";               // FAVOR+/FAVOR#: chi | sqrt_d
  double eps = 1e-6;                          // guard added to linear-attention denominators
  std::string convention = "paper";  // paper | skyformer_code | lra_code: whose form to compute

  int64_t num_landmarks = 128;   // Nystromformer: segment-mean landmarks
  int64_t pinv_iterations = 6;   // Nystromformer/Skyformer: iterative pseudo-inverse steps
  int64_t conv_kernel = 0;       // Nystromformer: depthwise conv on v along L; 0 = off
  int64_t linformer_k = 128;     // Linformer: projected length
  int64_t accumulation = 1;      // Skyformer: sampled columns summed into each landmark column
  double sampling_factor = 4.0;  // Skyformer: features 0 = sampling_factor * ln(max_length)

  int64_t hashes = 2;         // Reformer: rounds of LSH hashing
  int64_t bucket_size = 64;   // Reformer: sorted positions per chunk
  int64_t chunks_before = 1;  // Reformer: earlier chunks each chunk also attends to
  int64_t chunks_after = 0;   // Reformer: later chunks each chunk also attends to
  int64_t num_buckets = 0;    // Reformer: hash buckets; 0 = chosen from the length (HF)

  int64_t block_size = 64;    // block methods (bigbird): tokens per block
  int64_t random_blocks = 3;  // BigBird: random key blocks per query block
  int64_t global_blocks = 1;  // BigBird: global blocks at each end of the sequence

  int64_t window = 512;                  // Longformer: sliding window w (tokens)
  int64_t global_tokens = 1;             // Longformer, Sparse Transformer: first g tokens global
  std::string sparse_pattern = "fixed";  // Sparse Transformer: fixed | strided
  int64_t summary_tokens = 16;           // Sparse Transformer (fixed): c per block

  int64_t sinkhorn_iterations = 5;  // Sinkhorn: row/column normalisations of the block sort
  double temperature = 0.75;        // Sinkhorn: Gumbel-Sinkhorn temperature of the sort logits

  std::string synthesizer_mode = "random";  // Synthesizer: random | factorized_random | dense ...
  bool dot_product = true;                  // Synthesizer: add the q.k scores (the LRA configs)
  int64_t synthesizer_k = 32;               // Synthesizer: rank of factorized_random
  int64_t max_length = 0;  // length-sized weights (synthesizer): longest sequence; 0 = padded
};

}  // namespace lra
