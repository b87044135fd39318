// How the process's heap treats large freed blocks during training.
#pragma once

namespace lra {

// A training step frees and reallocates the same multi-MiB activations every step. glibc's
// defaults hand such blocks back to the kernel (mmap'd chunks unmapped, the heap top trimmed), so
// every step faults its activations in again, page by page. This keeps freed memory in the heap
// for reuse: peak RSS is unchanged (the blocks are the same), steps no longer pay the faults.
// Call early in main. Not for `lra_bench attention`, whose memory
// column is the growth of RSS over a case and would miss memory the heap already holds.
void retain_freed_memory();

}  // namespace lra
