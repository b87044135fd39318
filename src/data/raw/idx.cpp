#include "data/raw/idx.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include <torch/torch.h>
#include <zlib.h>

#include "config/tasks.h"
#include "data/raw/common.h"
#include "data/raw/image.h"

namespace lra::raw {
namespace fs = std::filesystem;

namespace {

// Deflate inflates at most about 1032:1, so a gzip file of n bytes holds at most this much.
constexpr int64_t kMaxGzipRatio = 1032;

// The first `limit` bytes of `path` (all of it if shorter), gunzipped when the name ends in .gz:
// read_idx learns from the header how much data there should be, and reads no more than that.
std::string read_prefix(const std::string& path, size_t limit) {
  if (path.size() < 3 || path.compare(path.size() - 3, 3, ".gz") != 0) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open");
    std::string out;
    char buf[1 << 16];
    while (out.size() < limit && in) {
      in.read(buf, static_cast<std::streamsize>(std::min(sizeof buf, limit - out.size())));
      out.append(buf, static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) throw std::runtime_error(path + ": read error");
    return out;
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(path + ": cannot open");
  std::string out;
  char buf[1 << 16];
  int n = 0;
  while (out.size() < limit &&
         (n = gzread(f, buf, static_cast<unsigned>(std::min(sizeof buf, limit - out.size())))) > 0)
    out.append(buf, static_cast<size_t>(n));
  int err = Z_OK;
  const std::string msg = n < 0 ? gzerror(f, &err) : "";
  gzclose(f);
  if (n < 0) throw std::runtime_error(path + ": gzip error: " + msg + " (truncated download?)");
  return out;
}

// Bytes of data the dims promise, refused before anything that size is read when the file
// cannot hold them (a plain file is smaller; a gzip file could not inflate to that much).
int64_t promised_bytes(const std::string& path, const std::vector<int64_t>& dims, int64_t offset) {
  std::error_code ec;
  const auto file_size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  if (ec) throw std::runtime_error(path + ": cannot stat: " + ec.message());
  const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  unsigned __int128 count = 1;  // at most 3 dims below 2^32: no overflow
  std::string shape;
  for (int64_t v : dims) {
    shape += (shape.empty() ? "" : "x") + std::to_string(v);
    count *= static_cast<uint64_t>(v);
  }
  const bool fits = count <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const std::string says = "header says shape " + shape +
                           (fits ? " = " + std::to_string(static_cast<int64_t>(count)) : "") +
                           " bytes of data";
  if (!gz && count > static_cast<uint64_t>(file_size - offset))
    throw std::runtime_error(path + ": truncated: " + says + ", file has " +
                             std::to_string(file_size - offset));
  if (gz && count > static_cast<uint64_t>(file_size) * kMaxGzipRatio)
    throw std::runtime_error(path + ": truncated: " + says + ", more than a " +
                             std::to_string(file_size) +
                             "-byte gzip file can inflate to (deflate expands at most 1032:1)");
  return static_cast<int64_t>(count);
}

}  // namespace

std::string read_maybe_gz(const std::string& path) {
  return read_prefix(path, std::numeric_limits<size_t>::max());
}

IdxArray read_idx(const std::string& path) {
  const std::string head = read_prefix(path, 4 + 4 * 3);
  const auto* p = reinterpret_cast<const uint8_t*>(head.data());
  if (head.size() < 4 || p[0] != 0 || p[1] != 0)
    throw std::runtime_error(path + ": not an IDX file (bad magic)");
  if (p[2] != 0x08)
    throw std::runtime_error(path + ": IDX data type 0x" + std::to_string(p[2]) +
                             " is not unsigned byte (0x08)");
  const int ndim = p[3];
  if (ndim < 1 || ndim > 3 || head.size() < 4 + 4 * static_cast<size_t>(ndim))
    throw std::runtime_error(path + ": bad IDX header (" + std::to_string(ndim) + " dims)");
  IdxArray a;
  for (int i = 0; i < ndim; ++i) {
    const uint8_t* d = p + 4 + 4 * i;
    a.dims.push_back((int64_t{d[0]} << 24) | (d[1] << 16) | (d[2] << 8) | d[3]);
  }
  const size_t offset = 4 + 4 * static_cast<size_t>(ndim);
  const int64_t count = promised_bytes(path, a.dims, static_cast<int64_t>(offset));
  // One byte more than promised tells trailing bytes apart without reading them all.
  const std::string raw = read_prefix(path, offset + static_cast<size_t>(count) + 1);
  const int64_t have = static_cast<int64_t>(raw.size() - std::min(raw.size(), offset));
  if (have != count)
    throw std::runtime_error(path + ": " + (have < count ? "truncated" : "trailing bytes") +
                             ": header says " + std::to_string(count) +
                             " bytes of data, file has " +
                             (have < count ? std::to_string(have) : "more"));
  a.data.assign(raw.begin() + static_cast<std::ptrdiff_t>(offset), raw.end());
  return a;
}

namespace {

std::string find_idx(const fs::path& root, const std::string& stem) {
  for (const std::string& name : {stem, stem + ".gz"})
    if (fs::is_regular_file(root / name)) return (root / name).string();
  throw std::runtime_error((root / stem).string() +
                           "[.gz]: not found; expected the IDX files "
                           "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (MNIST layout)");
}

}  // namespace

Prepared prepare_image_idx(const std::string& dir, const ImageOptions& o,
                           const Progress& progress) {
  if (o.pixel_offset != 0 && o.pixel_offset != 1)
    throw std::invalid_argument("pixel_offset must be 0 or 1");
  require_dir(dir, "pass the folder with the IDX files (e.g. /usr/share/datasets/fashion-mnist)");
  Prepared p;
  p.data.task = "image";
  p.data.vocab_size = task_spec("image").vocab_size + o.pixel_offset;
  nlohmann::json sources = nlohmann::json::array();
  int64_t max_label = 0, pixels = 0;
  auto load = [&](const std::string& prefix, torch::Tensor& tokens, torch::Tensor& labels) {
    const std::string ipath = find_idx(dir, prefix + "-images-idx3-ubyte");
    const std::string lpath = find_idx(dir, prefix + "-labels-idx1-ubyte");
    IdxArray images = read_idx(ipath), lab = read_idx(lpath);
    if (images.dims.size() != 3)
      throw std::runtime_error(ipath + ": expected 3 dims (N, rows, cols)");
    if (images.dims[0] == 0 || images.dims[1] * images.dims[2] == 0)
      throw std::runtime_error(ipath + ": header says " + std::to_string(images.dims[0]) +
                               " images of " + std::to_string(images.dims[1]) + "x" +
                               std::to_string(images.dims[2]) +
                               " pixels; expected at least one non-empty image");
    if (lab.dims.size() != 1 || lab.dims[0] != images.dims[0])
      throw std::runtime_error(lpath + ": has " + std::to_string(lab.dims[0]) + " labels but " +
                               ipath + " has " + std::to_string(images.dims[0]) + " images");
    const int64_t n = images.dims[0], hw = images.dims[1] * images.dims[2];
    if (pixels && hw != pixels)
      throw std::runtime_error(ipath + ": image size differs from the training images");
    pixels = hw;
    tokens = torch::from_blob(images.data.data(), {n, hw}, torch::kUInt8)  // (N, rows*cols)
                 .to(o.pixel_offset ? torch::kInt16 : torch::kUInt8)
                 .add(o.pixel_offset)
                 .clone();
    labels = torch::from_blob(lab.data.data(), {n}, torch::kUInt8).to(torch::kInt64);  // (N,)
    for (uint8_t v : lab.data) max_label = std::max<int64_t>(max_label, v);
    sources.push_back(source_file(ipath));
    sources.push_back(source_file(lpath));
    if (progress) progress(ipath, n, n);
  };
  torch::Tensor train_tokens, train_labels;
  load("train", train_tokens, train_labels);
  load("t10k", p.data.test.tokens, p.data.test.labels);
  p.data.test.name = "test";
  p.data.max_length = pixels;
  p.data.num_classes = std::max<int64_t>(max_label + 1, 2);
  split_train_val(p, train_tokens, train_labels);
  p.meta["variant"] = {{"source", "idx"}, {"pixel_offset", o.pixel_offset}};
  p.meta["sources"] = sources;
  p.meta["notes"] = nlohmann::json::array(
      {"IDX images (e.g. Fashion-MNIST) as a stand-in image task; the gray value is the pixel",
       "train = train[:90%], val = train[90%:], test = t10k; num_classes = largest label + 1",
       o.pixel_offset
           ? "pixel_offset 1: id = gray + 1, nothing is masked"
           : "pixel_offset 0 (peers): id = gray, black pixels equal pad and are masked"});
  return p;
}

}  // namespace lra::raw
