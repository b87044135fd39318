// Whole-file writes that never leave a half-written file: write a temporary beside the target,
// flush it to disk, then rename it over the target. Until the rename the previous file is
// untouched, so a crash, a full disk or a kill mid-write keeps the last complete version.
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace lra {

// Errors (folder missing or not writable, disk full, file size limit) throw std::runtime_error
// naming `path` and the system's reason, e.g. "runs/a/checkpoint.pt: cannot write: No space
// left on device (the previous runs/a/checkpoint.pt, if any, is unchanged)".
void write_file_atomic(const std::string& path, const std::string& content);
// For writers that need a path: `write` fills the temporary path given to it.
void write_path_atomic(const std::string& path,
                       const std::function<void(const std::string&)>& write);

// Writes all of `data` to `fd`, retrying after a signal or a short write. False on failure,
// with errno set (ENOSPC when the system accepted nothing and reported no error).
bool write_all(int fd, std::string_view data);

// The temporary name used for `path` by this process (to recognise leftovers of killed ones).
std::string atomic_temp_name(const std::string& path);
// True when `file_name` is a temporary of some process's atomic write ("x.pt.tmp.1234").
bool is_atomic_temp_name(const std::string& file_name);

}  // namespace lra
