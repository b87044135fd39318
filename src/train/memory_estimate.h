// Whether a run can fit in this machine's memory, decided from the config and the data's sizes
// before anything large is allocated: a model or data set that cannot fit is refused with the
// keys that size it and the estimate, instead of an allocator message (or swapping) later.
// The estimates are lower bounds (what must be held at once), so a refusal is never wrong;
// a run that passes may still need more.
#pragma once
#include <cstdint>
#include <string>

#include "config/config.h"

namespace lra {

// The sizes a model takes from its data (vocab_size, num_classes from meta.json or the task).
struct ModelShape {
  int64_t vocab_size = 0;
  int64_t max_length = 0;
  int64_t num_classes = 0;
  bool two_tower = false;
};

struct MemoryEstimate {
  double parameters = 0;      // count
  double training_state = 0;  // bytes: parameters, gradients, AdamW's two moments, best copy
  double activations = 0;     // bytes: what one chunk's backward needs saved
  double data = 0;            // bytes: the token matrices of every split
  double total() const { return training_state + activations + data; }
};

// The model's parameter count, exactly as model/transformer.cpp builds it.
double parameter_count(const ModelConfig& model, const ModelShape& shape);

MemoryEstimate estimate_training_memory(const Config& config, const ModelShape& shape);

// Bytes of the generated data sets (data.source: synthetic); 0 for prepared files, whose
// readers check sizes against the files themselves.
double synthetic_data_bytes(const Config& config);

// The memory this process may use: physical memory, or the cgroup's limit when lower.
double available_memory_bytes();

// Throws std::runtime_error naming the keys and the estimate when `estimate` exceeds
// `available` bytes.
void check_fits_in_memory(const Config& config, const MemoryEstimate& estimate, double available);

}  // namespace lra
