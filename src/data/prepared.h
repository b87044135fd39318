// The prepared on-disk format (docs/data.md): a folder with meta.json and per split
// <split>.tokens.npy (N, L), <split>.tokens2.npy (retrieval), <split>.labels.npy (N,) int64 and
// <split>.lengths.npy (N,) int32. Written by lra_prepare and data_scripts/convert_peer_pickles.py.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"

namespace lra {

constexpr const char* kPreparedFormat = "lra_prepared";
constexpr int kPreparedVersion = 1;
// The most classes a prepared folder may declare: num_classes sizes vectors and the model's
// head before any label is read, so a corrupt meta.json must not choose it freely.
constexpr int64_t kMaxClasses = 65536;

// Writes every array and meta.json, each file atomically; meta.json last, so a folder with a
// meta.json is complete. Tokens are stored in the smallest dtype the vocabulary fits (uint8 up
// to 256 ids, int16 up to 32768, else int32). `meta_extra` adds fields (variant, sources, notes,
// tool, ...) to meta.json; the fields computed from `data` always win.
void write_prepared(const std::string& dir, const TaskData& data, const nlohmann::json& meta_extra);

namespace npy {
class RowWriter;
}

// Writes the same folder as write_prepared split by split, for data too large to hold at once
// (a generated Path-X set): tokens stream to disk block by block, only labels and lengths stay
// in memory. Calls: per split begin_split, append..., end_split; then finish (meta.json).
class PreparedStreamWriter {
 public:
  PreparedStreamWriter(std::string dir, std::string task, int64_t vocab_size, int64_t num_classes,
                       int64_t max_length);
  ~PreparedStreamWriter();
  void begin_split(const std::string& name, int64_t rows);
  void append(const torch::Tensor& tokens, const torch::Tensor& labels);  // (r, L), (r,)
  void end_split();
  void finish(const nlohmann::json& meta_extra);

 private:
  std::string dir_, task_, split_;
  int64_t vocab_size_, num_classes_, max_length_, rows_ = 0;
  nlohmann::json splits_;
  std::unique_ptr<npy::RowWriter> tokens_;
  std::vector<torch::Tensor> labels_, lengths_;
};

// Reads and validates a prepared folder: any missing file, malformed array, disagreement with
// meta.json (counts, lengths, class_counts), empty split, label outside [0, num_classes), token
// id >= vocab_size, vocab_size beyond the token dtype or num_classes above kMaxClasses throws
// std::runtime_error naming the file, the problem and the fix.
TaskData load_prepared(const std::string& dir);

// meta.json of a prepared folder, parsed (throws like load_prepared if missing or malformed).
nlohmann::json read_prepared_meta(const std::string& dir);

}  // namespace lra
