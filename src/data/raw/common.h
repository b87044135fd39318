// What every raw-format reader returns, and the helpers they share.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "data/dataset.h"

namespace lra::raw {

// A task read from raw files, ready for write_prepared(dir, data, meta).
struct Prepared {
  TaskData data;
  nlohmann::json meta;  // variant, sources (with sha256), notes, tool, counts of skipped inputs
};

// Called now and then while reading: `stage` names the file or step, done/total its progress.
using Progress = std::function<void(const std::string& stage, int64_t done, int64_t total)>;

// "lra_prepare <version> (git <commit>)".
std::string tool_version();

// {"path", "bytes", "sha256"} of one source file.
nlohmann::json source_file(const std::string& path);

// The whole file; throws std::runtime_error "<path>: ..." if it cannot be read.
std::string read_file(const std::string& path);

// Throws "<path>: not found ..." with `hint` unless `path` is a regular file / a folder.
void require_file(const std::string& path, const std::string& hint);
void require_dir(const std::string& path, const std::string& hint);

// Why `rel`, a path written in a data file and resolved against `base`, may not be opened: it is
// empty or absolute, or it leads outside `boundary` (the --input folder) with ".." or through a
// symbolic link. Empty when it stays inside. Data files name other files; a crafted one must not
// make lra_prepare read /etc/passwd.
std::string path_escape(const std::string& boundary, const std::string& base,
                        const std::string& rel);

// Byte-level encoding shared by text and retrieval: id = byte + 1, pad 0, first `max_length`.
torch::Tensor encode_bytes(const std::vector<std::string>& texts, int64_t max_length);

// Rows `index` of a (N, ...) tensor (labels or tokens), as a new contiguous tensor.
torch::Tensor take_rows(const torch::Tensor& t, const std::vector<int64_t>& index);

}  // namespace lra::raw
