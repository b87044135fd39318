// at::parallel_for whose pool threads run in the caller's thread-local dispatcher state
// (inference mode, grad mode, autocast), for bodies that call dispatcher ops: ATen leaves the
// pool's threads in their defaults, and inference tensors refuse in-place writes from outside
// inference mode. The BLAS and LAPACK calls of those ops run on the calling thread
// (cpu/gemm.h: OneBlasThread says why).
#pragma once
#include <cstdint>

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include "attention/cpu/gemm.h"

namespace lra {

template <typename Fn>
void parallel_for_in_caller_state(int64_t begin, int64_t end, int64_t grain, const Fn& fn) {
  const at::ThreadLocalState caller;
  at::parallel_for(begin, end, grain, [&](int64_t first, int64_t last) {
    at::ThreadLocalStateGuard guard(caller);
    const cpu::OneBlasThread one_thread;
    fn(first, last);
  });
}

}  // namespace lra
