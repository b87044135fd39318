#include "data/raw/pathfinder.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include <torch/torch.h>

#include "config/tasks.h"
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

// The images metadata/*.npy lists, in batch order; `digest` takes the files' bytes.
std::vector<Entry> read_metadata(const std::string& root_dir, const fs::path& root,
                                 Sha256& digest) {
  const auto meta_files = metadata_files(root / "metadata");
  if (meta_files.empty())
    throw std::runtime_error((root / "metadata").string() + ": no metadata .npy files");
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
    digest.update(read_file(mf.string()));
  }
  if (entries.empty())
    throw std::runtime_error((root / "metadata").string() + ": no images listed");
  return entries;
}

struct DecodedImages {
  std::vector<uint8_t> pixels;       // the kept images row by row: (kept, width * height)
  std::vector<int64_t> labels;       // (kept,)
  std::vector<std::string> skipped;  // zero-byte PNGs, relative to the difficulty folder
  int64_t width = 0, height = 0, png_bytes = 0;
};

// Every listed PNG decoded to gray; all must have the first one's size.
DecodedImages decode_images(const fs::path& root, const std::vector<Entry>& entries,
                            int64_t max_pixels, const Progress& progress) {
  DecodedImages d;
  int64_t done = 0;
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
      d.skipped.push_back(e.path);
    } else {
      const std::string bytes = read_file(path);
      d.png_bytes += static_cast<int64_t>(bytes.size());
      GrayImage img = decode_png_gray(bytes, path, max_pixels);
      if (d.width == 0) d.width = img.width, d.height = img.height;
      if (img.width != d.width || img.height != d.height)
        throw std::runtime_error(path + ": image is " + std::to_string(img.width) + "x" +
                                 std::to_string(img.height) + ", the first one was " +
                                 std::to_string(d.width) + "x" + std::to_string(d.height));
      d.pixels.insert(d.pixels.end(), img.pixels.begin(), img.pixels.end());
      d.labels.push_back(e.label);
    }
    if (progress && (++done % 1000 == 0 || done == total)) progress("png", done, total);
  }
  return d;
}

// The images in the seeded 80/10/10 split (pathfinder_split) as the three splits of `data`.
void split_images(TaskData& data, DecodedImages& images, int pixel_offset, uint64_t seed) {
  const auto n = static_cast<int64_t>(images.labels.size());
  const int64_t area = images.width * images.height;
  auto tokens = torch::from_blob(images.pixels.data(), {n, area}, torch::kUInt8)  // (N, H*W)
                    .to(pixel_offset ? torch::kInt16 : torch::kUInt8)
                    .add(pixel_offset);
  auto labels = torch::tensor(images.labels, torch::kInt64);  // (N,)
  std::vector<uint8_t>().swap(images.pixels);  // Path-X: 3.3 GB that `tokens` now holds a copy of
  const SplitOrder split = pathfinder_split(n, seed);
  auto part = [&](const char* name, int64_t begin, int64_t end) {
    std::vector<int64_t> idx(split.order.begin() + begin, split.order.begin() + end);
    return Split{name, take_rows(tokens, idx), {}, take_rows(labels, idx)};
  };
  data.max_length = area;
  data.train = part("train", 0, split.train_end);
  data.val = part("val", split.train_end, split.val_end);
  data.test = part("test", split.val_end, n);
}

nlohmann::json pathfinder_meta(const fs::path& root, const PathfinderOptions& o,
                               const DecodedImages& images, int64_t listed,
                               const std::string& metadata_sha256) {
  nlohmann::json meta;
  meta["variant"] = {
      {"difficulty", o.difficulty},
      {"resolution", std::to_string(images.width) + "x" + std::to_string(images.height)},
      {"pixel_offset", o.pixel_offset},
      {"seed", o.seed}};
  meta["sources"] =
      nlohmann::json::array({{{"path", fs::absolute(root).lexically_normal().string()},
                              {"images_listed", listed},
                              {"png_bytes", images.png_bytes},
                              {"sha256_metadata", metadata_sha256}}});
  meta["skipped_empty_png"] = images.skipped;
  meta["notes"] = nlohmann::json::array(
      {"split: Rng(seed) shuffle of all readable images in metadata order, then 80/10/10 "
       "(train floor(0.8 N), val floor(0.1 N), test the rest)",
       "zero-byte PNGs skipped: " + std::to_string(images.skipped.size()),
       "sha256_metadata: over the metadata files' bytes in batch order",
       o.pixel_offset
           ? "pixel_offset 1: id = gray + 1, nothing is masked"
           : "pixel_offset 0 (peers): id = gray, black pixels equal pad and are masked"});
  return meta;
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
  Sha256 meta_digest;
  const std::vector<Entry> entries = read_metadata(root_dir, root, meta_digest);
  DecodedImages images = decode_images(root, entries, o.max_pixels, progress);
  const auto n = static_cast<int64_t>(images.labels.size());
  if (n < 10)
    throw std::runtime_error(root.string() + ": only " + std::to_string(n) +
                             " readable images; need at least 10 for an 80/10/10 split");
  Prepared p;
  p.data.task = task;
  p.data.vocab_size = task_spec(task).vocab_size + o.pixel_offset;
  p.data.num_classes = task_spec(task).num_classes;
  p.meta =
      pathfinder_meta(root, o, images, static_cast<int64_t>(entries.size()), meta_digest.hex());
  split_images(p.data, images, o.pixel_offset, o.seed);
  return p;
}

}  // namespace lra::raw
