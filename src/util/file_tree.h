// Whole-folder operations without std::filesystem::remove_all and recursive_directory_iterator:
// the copies libtorch.so exports crash (null weak symbols) in processes linked with LibTorch.
#pragma once
#include <cstdint>
#include <string>

namespace lra {

// Deletes `path` and, if it is a folder, everything in it (symlinks are removed, not followed).
// Missing paths are fine; errors are ignored (a best-effort cleanup).
void remove_tree(const std::string& path);

// Bytes of the regular files under `path` (0 for a missing path).
uint64_t tree_bytes(const std::string& path);

}  // namespace lra
