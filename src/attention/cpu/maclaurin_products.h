// The running products of SchoenbAt's random Maclaurin features, row by row on the CPU.
//
// In the factor-major layout (kernel_layouts.h: MaclaurinLayout) slot j holds factor j of the first
// count_j features, so a feature's product runs down the slots and, within a slot, neighbouring
// features sit next to each other. Done with tensor ops, every slot is a strided view whose rows
// are count_j long (down to 1), and the per-row overhead of each op dominates; these loops keep
// one row in L1 and walk it once. The tensor-op form stays in feature_maps.cpp for other devices
// and as the reference the tests compare against.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "attention/cpu/vector_math.h"

namespace lra {

// proj: (R, F) contiguous, every factor of every feature; scales: (m - 1). Writes the random
// features of phi (R, m) contiguous, phi[:, 1 + f] = scales[f] prod_j proj[:, off_j + f]; column
// 0, the constant feature, is the caller's.
void maclaurin_products_cpu(const torch::Tensor& proj, const std::vector<int64_t>& slot_offset,
                            const std::vector<int64_t>& slot_count, const torch::Tensor& scales,
                            torch::Tensor& phi);

// d loss / d proj (R, F) given d loss / d phi (R, m): factor j of feature f gets
// dphi[:, 1 + f] scales[f] times the product of the feature's other factors (a prefix pass down
// the slots, then a suffix pass up).
torch::Tensor maclaurin_products_vjp_cpu(const torch::Tensor& proj, const torch::Tensor& dphi,
                                         const std::vector<int64_t>& slot_offset,
                                         const std::vector<int64_t>& slot_count,
                                         const torch::Tensor& scales);

// The same two row loops on raw, contiguous rows (rows x F proj, rows x m phi or dphi; slots
// offsets and counts as above, counts not growing with the slot, as make_maclaurin_layout makes
// them), on the calling thread: for the fused linear attention (cpu/fused_linear_attention.h).
// T = float (16 or 8 lanes by path, the plain loops for scalar) or double (the plain loops,
// whatever the path: the reference the float paths are tested against).
template <typename T>
void maclaurin_products_rows(const T* proj, T* phi, const T* scales, const int64_t* slot_offset,
                             const int64_t* slot_count, int64_t slots, int64_t F, int64_t m,
                             int64_t rows, cpu::VectorPath path = cpu::best_path());
template <typename T>
void maclaurin_products_vjp_rows(const T* proj, const T* dphi, T* dproj, const T* scales,
                                 const int64_t* slot_offset, const int64_t* slot_count,
                                 int64_t slots, int64_t F, int64_t m, int64_t rows,
                                 cpu::VectorPath path = cpu::best_path());

}  // namespace lra
