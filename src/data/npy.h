// NumPy .npy files (format 1.0/2.0, little-endian, C order) for 1-D and 2-D integer arrays:
// the container of the prepared data, so that a Python user opens any array with np.load.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <torch/types.h>

namespace lra::npy {

// What the header of a .npy file says, before any data is read.
struct Header {
  std::string descr;           // e.g. "|u1", "<i2", "<i4", "<i8"
  torch::ScalarType dtype{};   // the tensor type the data is read into
  int64_t item_size = 0;       // bytes per element on disk
  std::vector<int64_t> shape;  // 1 or 2 dimensions
  int64_t data_offset = 0;     // bytes before the first element
  int64_t file_size = 0;
};

// Writes a contiguous CPU tensor of uint8/int16/int32/int64 with 1 or 2 dimensions, atomically
// (temporary file + rename). Throws std::runtime_error naming `path` otherwise.
void write(const std::string& path, const torch::Tensor& array);

// Streams a (rows, cols) array block by block, for data too large to hold at once: a temporary
// beside `path` that close() renames into place once every row is written; destroyed unclosed
// (an error, an interruption), it removes the temporary and leaves `path` as it was.
class RowWriter {
 public:
  RowWriter(std::string path, torch::ScalarType dtype, int64_t rows, int64_t cols);
  ~RowWriter();
  RowWriter(const RowWriter&) = delete;
  RowWriter& operator=(const RowWriter&) = delete;
  void append(const torch::Tensor& block);  // (r, cols) of any integer type, converted
  void close();

 private:
  std::string path_, tmp_;
  torch::ScalarType dtype_;
  int64_t rows_, cols_, written_ = 0;
  std::ofstream out_;
  bool closed_ = false;
};

// Parses and checks the header (magic, version, dict, dtype, order, shape, file size).
Header read_header(const std::string& path);

// Reads the whole array with one read. Accepts u1, i2, i4, i8 and u2 (widened to int32);
// anything else, a Fortran-ordered, big-endian, truncated or oversized file throws
// std::runtime_error "<path>: <problem>".
torch::Tensor read(const std::string& path);

// "uint8", "int16", ... for messages and meta.json.
std::string dtype_name(torch::ScalarType dtype);

}  // namespace lra::npy
