#include "data/raw/pathfinder.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include <torch/torch.h>

#include "data/raw/png.h"
#include "data/raw/sha256.h"
#include "data/raw/tsv_lines.h"
#include "util/rng.h"

namespace lra::raw {
namespace fs = std::filesystem;

namespace {

struct Entry {
  std::string path;  // relative to the difficulty folder
  int64_t label;
};

// Batch files in numeric order (metadata/2.npy before metadata/10.npy), then by name.
std::vector<fs::path> metadata_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".npy") files.push_back(e.path());
  auto key = [](const fs::path& p) {
    const std::string s = p.stem().string();
    const bool numeric = !s.empty() && std::all_of(s.begin(), s.end(), ::isdigit);
    return std::make_pair(numeric ? std::stoll(s.substr(0, 18)) : INT64_MAX, s);
  };
  std::sort(files.begin(), files.end(), [&](auto& a, auto& b) { return key(a) < key(b); });
  return files;
}

}  // namespace

SplitOrder pathfinder_split(int64_t n, uint64_t seed) {
  SplitOrder s;
  s.order.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) s.order[static_cast<size_t>(i)] = i;
  Rng rng(seed);
  rng.shuffle(s.order);
  s.train_end = n * 8 / 10;
  s.val_end = s.train_end + n / 10;
  return s;
}

Prepared prepare_pathfinder(const std::string& root_dir, const std::string& task,
                            const PathfinderOptions& o, const Progress& progress) {
  if (task != "pathfinder" && task != "pathx")
    throw std::invalid_argument("pathfinder task must be 'pathfinder' or 'pathx'");
  if (o.pixel_offset != 0 && o.pixel_offset != 1)
    throw std::invalid_argument("pixel_offset must be 0 or 1");
  fs::path root(root_dir);
  if (!fs::is_directory(root / "metadata")) root /= o.difficulty;
  require_dir((root / "metadata").string(),
              "expected <pathfinder32|pathfinder128>/<difficulty>/metadata/*.npy (difficulty " +
                  o.difficulty + ")");
  const auto meta_files = metadata_files(root / "metadata");
  if (meta_files.empty())
    throw std::runtime_error((root / "metadata").string() + ": no metadata .npy files");

  Sha256 meta_digest;
  std::vector<Entry> entries;
  for (const auto& mf : meta_files) {
    LineReader in(mf.string(), {});
    std::string line;
    while (in.next(line)) {
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      std::vector<std::string> f;
      for (auto& w : split_fields(line, ' '))
        if (!w.empty()) f.push_back(w);
      if (f.size() < 4)
        in.fail("expected at least 4 space-separated fields (folder, file, index, label), got " +
                std::to_string(f.size()));
      if (f[3] != "0" && f[3] != "1") in.fail("label (field 4) '" + f[3] + "' is not 0 or 1");
      const std::string rel = (fs::path(f[0]) / f[1]).string();
      const std::string escape = path_escape(root_dir, root.string(), rel);
      if (!escape.empty()) in.fail("image " + escape + "; refusing to read it");
      entries.push_back({rel, f[3] == "1" ? 1 : 0});
    }
    meta_digest.update(read_file(mf.string()));
  }
  if (entries.empty())
    throw std::runtime_error((root / "metadata").string() + ": no images listed");

  // Decoded pixels of the kept images, appended row by row: (kept, side * side) at the end.
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  std::vector<std::string> skipped;
  int64_t width = 0, height = 0, done = 0, png_bytes = 0;
  const auto total = static_cast<int64_t>(entries.size());
  for (const auto& e : entries) {
    const std::string path = (root / e.path).string();
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec)
      throw std::runtime_error(path +
                               ": listed in metadata but not found (incomplete "
                               "extraction of lra_release?)");
    if (size == 0) {
      skipped.push_back(e.path);
    } else {
      const std::string bytes = read_file(path);
      png_bytes += static_cast<int64_t>(bytes.size());
      GrayImage img = decode_png_gray(bytes, path, o.max_pixels);
      if (width == 0) width = img.width, height = img.height;
      if (img.width != width || img.height != height)
        throw std::runtime_error(path + ": image is " + std::to_string(img.width) + "x" +
                                 std::to_string(img.height) + ", the first one was " +
                                 std::to_string(width) + "x" + std::to_string(height));
      pixels.insert(pixels.end(), img.pixels.begin(), img.pixels.end());
      labels.push_back(e.label);
    }
    if (progress && (++done % 1000 == 0 || done == total)) progress("png", done, total);
  }
  const auto n = static_cast<int64_t>(labels.size());
  if (n < 10)
    throw std::runtime_error(root.string() + ": only " + std::to_string(n) +
                             " readable images; need at least 10 for an 80/10/10 split");
  const int64_t side = width * height;
  auto tokens = torch::from_blob(pixels.data(), {n, side}, torch::kUInt8)  // (N, H*W)
                    .to(o.pixel_offset ? torch::kInt16 : torch::kUInt8)
                    .add(o.pixel_offset);
  auto label_t = torch::tensor(labels, torch::kInt64);  // (N,)
  std::vector<uint8_t>().swap(pixels);  // Path-X: 3.3 GB that `tokens` now holds a copy of

  const SplitOrder split = pathfinder_split(n, o.seed);
  const std::vector<int64_t>& order = split.order;
  auto part = [&](const char* name, int64_t begin, int64_t end) {
    std::vector<int64_t> idx(order.begin() + begin, order.begin() + end);
    return Split{name, take_rows(tokens, idx), {}, take_rows(label_t, idx)};
  };
  Prepared p;
  p.data.task = task;
  p.data.vocab_size = 256 + o.pixel_offset;
  p.data.num_classes = 2;
  p.data.max_length = side;
  p.data.train = part("train", 0, split.train_end);
  p.data.val = part("val", split.train_end, split.val_end);
  p.data.test = part("test", split.val_end, n);
  p.meta["variant"] = {{"difficulty", o.difficulty},
                       {"resolution", std::to_string(width) + "x" + std::to_string(height)},
                       {"pixel_offset", o.pixel_offset},
                       {"seed", o.seed}};
  p.meta["sources"] =
      nlohmann::json::array({{{"path", fs::absolute(root).lexically_normal().string()},
                              {"images_listed", total},
                              {"png_bytes", png_bytes},
                              {"sha256_metadata", meta_digest.hex()}}});
  p.meta["skipped_empty_png"] = skipped;
  p.meta["notes"] = nlohmann::json::array(
      {"split: Rng(seed) shuffle of all readable images in metadata order, then 80/10/10 "
       "(train floor(0.8 N), val floor(0.1 N), test the rest)",
       "zero-byte PNGs skipped: " + std::to_string(skipped.size()),
       "sha256_metadata: over the metadata files' bytes in batch order",
       o.pixel_offset
           ? "pixel_offset 1: id = gray + 1, nothing is masked"
           : "pixel_offset 0 (peers): id = gray, black pixels equal pad and are masked"});
  return p;
}

}  // namespace lra::raw
