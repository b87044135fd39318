#include "util/allocator.h"

#include <malloc.h>

namespace lra {

void retain_freed_memory() {
  // Blocks up to 256 MiB come from the heap (not from their own mmap), and the heap is cut back
  // only when more than 1 GiB at its top is free. Fixing the mmap threshold also stops glibc from
  // adjusting it, which it only does upward after an mmap'd block is freed.
  // experiments/peers/run.sh gives the peers these two values through GLIBC_TUNABLES: change
  // both together.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace lra
