#include "data/pathfinder_set.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <torch/torch.h>

#include "config/tasks.h"
#include "data/prepared.h"
#include "data/raw/pathfinder.h"
#include "data/raw/png.h"
#include "data/raw/sha256.h"
#include "util/atomic_file.h"
#include "util/file_tree.h"

namespace lra::pathfinder {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Bumped whenever the image model changes, so that cached sets of an older model regenerate.
constexpr int kGeneratorVersion = 1;

// metadata/<batch>.npy as in the release: text, one image per line, space separated:
// folder, file, index, label, then the generator settings of snakes2.accumulate_meta.
void write_metadata(const SetOptions& o, const std::string& png_root,
                    const std::vector<int8_t>& label_of_image) {
  const StimulusParams& p = o.params;
  for (int64_t b = 0; b * o.batch_size < o.images; ++b) {
    std::ostringstream out;
    const int64_t end = std::min(o.images, (b + 1) * o.batch_size);
    for (int64_t i = b * o.batch_size; i < end; ++i)
      out << "imgs/" << b << " sample_" << i % o.batch_size << ".png " << i % o.batch_size << ' '
          << static_cast<int>(label_of_image[static_cast<size_t>(i)]) << ' ' << p.continuity << ' '
          << p.contour_length << ' ' << p.distractor_length << ' ' << p.paddle_length << ' '
          << p.paddle_thickness << ' ' << p.paddle_margin.front() << ' ' << p.paddle_contrast.size()
          << '\n';
    write_file_atomic(png_root + "/metadata/" + std::to_string(b) + ".npy", out.str());
  }
}

// A folder `out` may be replaced only if it is absent, empty or a prepared folder.
void check_replaceable(const std::string& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out, ec))
    throw std::runtime_error(out + ": exists and is not a folder; choose another --out");
  if (fs::is_empty(out, ec) || fs::exists(fs::path(out) / "meta.json", ec)) return;
  throw std::runtime_error(out +
                           ": exists and is not a prepared folder (no meta.json); "
                           "choose another output folder or remove it");
}

std::string temporary_sibling(const std::string& out) {
  const fs::path p = fs::absolute(out).lexically_normal();
  return (p.parent_path() / ("." + p.filename().string() + ".partial." + std::to_string(getpid())))
      .string();
}

// Renames the finished temporary into place; another process that finished the same set first
// wins (its folder is kept and ours dropped).
void publish(const std::string& tmp, const std::string& out) {
  std::error_code ec;
  const fs::path old = tmp + ".old";
  if (fs::exists(out, ec)) fs::rename(out, old, ec);
  fs::rename(tmp, out, ec);
  if (ec) {
    remove_tree(tmp);
    if (fs::exists(fs::path(out) / "meta.json")) return;
    throw std::runtime_error(out + ": cannot move the generated set into place");
  }
  remove_tree(old.string());
}

struct TemporaryFolder {
  std::string path;
  bool keep = false;
  ~TemporaryFolder() {
    if (!keep) remove_tree(path);
  }
};

// The task's image side when its generator is this one, else 0.
int64_t generated_side(const std::string& task) {
  const TaskSpec* spec = find_task(task);
  return spec && spec->generator == TaskGenerator::kPathfinder ? spec->image_side : 0;
}

void check_options(const SetOptions& o) {
  if (generated_side(o.task) == 0)
    throw std::invalid_argument("pathfinder generator: task must be pathfinder or pathx");
  if (o.images < 10)
    throw std::invalid_argument("images: " + std::to_string(o.images) +
                                " is too few; an 80/10/10 split needs at least 10");
  if (o.pixel_offset != 0 && o.pixel_offset != 1)
    throw std::invalid_argument("pixel_offset must be 0 or 1");
  if (o.batch_size < 1) throw std::invalid_argument("batch_size must be >= 1");
  validate(o.params);
}

}  // namespace

void generate_indices(const StimulusParams& params, uint64_t seed,
                      const std::vector<int64_t>& indices, int threads,
                      const std::function<void(int64_t, Stimulus&&)>& use) {
  const auto n = static_cast<int64_t>(indices.size());
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      for (int64_t r; (r = next.fetch_add(1)) < n;)
        use(r, generate(params, seed, indices[static_cast<size_t>(r)]));
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = n;
    }
  };
  const int64_t t = std::min<int64_t>(generator_threads(threads), std::max<int64_t>(n, 1));
  std::vector<std::thread> pool;
  for (int64_t k = 0; k < t; ++k) pool.emplace_back(work);
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

json generator_record(const SetOptions& o) {
  return {{"generator", "lra pathfinder (snakes2 image model)"},
          {"generator_version", kGeneratorVersion},
          {"task", o.task},
          {"resolution", o.resolution},
          {"difficulty", o.difficulty},
          {"images", o.images},
          {"seed", o.seed},
          {"pixel_offset", o.pixel_offset},
          {"params", to_json(o.params)}};
}

void write_set(const SetOptions& o, const std::string& out, const raw::Progress& progress,
               const std::atomic<bool>* stop) {
  check_options(o);
  check_replaceable(out);
  const int64_t n = o.images, side = o.params.window, area = side * side;
  // The split prepare_pathfinder applies to the release's image order.
  const raw::SplitOrder split = raw::pathfinder_split(n, o.seed);
  const std::vector<int64_t>& order = split.order;

  TemporaryFolder tmp{temporary_sibling(out)};
  remove_tree(tmp.path);
  std::string png_root;
  if (!o.raw_dir.empty()) {
    png_root = (fs::path(o.raw_dir) / o.difficulty).string();
    for (int64_t b = 0; b * o.batch_size < n; ++b)
      fs::create_directories(png_root + "/imgs/" + std::to_string(b));
    fs::create_directories(png_root + "/metadata");
  }
  const TaskSpec& task = task_spec(o.task);
  PreparedStreamWriter writer(tmp.path, o.task, task.vocab_size + o.pixel_offset, task.num_classes,
                              area);
  std::vector<int8_t> label_of_image(static_cast<size_t>(n), -1);
  // Rows per block: about 32 MiB of pixels, so the peak stays far below Path-X's 3.3 GB.
  const int64_t block = std::max<int64_t>(64, (int64_t{32} << 20) / area);
  int64_t done = 0;
  const struct {
    const char* name;
    int64_t begin, end;
  } splits[] = {{"train", 0, split.train_end},
                {"val", split.train_end, split.val_end},
                {"test", split.val_end, n}};
  for (const auto& sp : splits) {
    writer.begin_split(sp.name, sp.end - sp.begin);
    for (int64_t r = sp.begin; r < sp.end; r += block) {
      if (stop && stop->load())
        throw std::runtime_error("interrupted; nothing was written to " + out);
      const int64_t e = std::min(sp.end, r + block);
      std::vector<int64_t> index(order.begin() + r, order.begin() + e);
      auto pixels = torch::empty({e - r, area}, torch::kUInt8);  // (r, H*W)
      auto labels = torch::empty({e - r}, torch::kInt64);        // (r,)
      uint8_t* px = pixels.data_ptr<uint8_t>();
      int64_t* lab = labels.data_ptr<int64_t>();
      generate_indices(o.params, o.seed, index, o.threads, [&](int64_t row, Stimulus&& s) {
        const int64_t i = index[static_cast<size_t>(row)];
        std::copy(s.pixels.begin(), s.pixels.end(), px + row * area);
        lab[row] = s.label;
        label_of_image[static_cast<size_t>(i)] = static_cast<int8_t>(s.label);
        if (png_root.empty()) return;
        raw::write_png_gray(png_root + "/imgs/" + std::to_string(i / o.batch_size) + "/sample_" +
                                std::to_string(i % o.batch_size) + ".png",
                            {side, side, std::move(s.pixels)});
      });
      writer.append(o.pixel_offset ? pixels.to(torch::kInt16).add(o.pixel_offset) : pixels, labels);
      done += e - r;
      if (progress)
        progress("generate " + std::to_string(side) + "x" + std::to_string(side), done, n);
    }
    writer.end_split();
  }
  if (!png_root.empty()) write_metadata(o, png_root, label_of_image);

  json meta;
  meta["variant"] = {{"difficulty", o.difficulty},
                     {"resolution", std::to_string(side) + "x" + std::to_string(side)},
                     {"pixel_offset", o.pixel_offset},
                     {"seed", o.seed}};
  meta["generator"] = generator_record(o);
  meta["sources"] = json::array();
  meta["notes"] = json::array(
      {"generated: image i = pathfinder::generate(params, seed, i), i in [0, images)",
       "split: Rng(seed) shuffle of the image indices, then 80/10/10 (train floor(0.8 N), val "
       "floor(0.1 N), test the rest), as lra_prepare pathfinder --input does on the release",
       o.pixel_offset
           ? "pixel_offset 1: id = gray + 1, nothing is masked"
           : "pixel_offset 0 (peers): id = gray, black pixels equal pad and are masked"});
  meta["tool"] = "lra pathfinder generator";
  meta["tool_version"] = raw::tool_version();
  writer.finish(meta);
  publish(tmp.path, out);
  tmp.keep = true;
}

int generator_threads(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

SetOptions preset_options(const std::string& task, int resolution, const std::string& difficulty,
                          const std::vector<std::string>& overrides) {
  SetOptions o;
  o.task = task;
  // A task of another generator gets the smallest preset here and is refused by write_set.
  const int64_t side = generated_side(task);
  o.resolution = resolution ? resolution : side ? static_cast<int>(side) : 32;
  o.difficulty = difficulty;
  o.params = preset(o.resolution, difficulty);
  for (const auto& kv : overrides) set_param(o.params, kv);
  return o;
}

SetOptions set_options(const Config& config) {
  const SyntheticPathfinderConfig& c = config.data.pathfinder;
  std::istringstream in(c.params);
  std::vector<std::string> overrides;
  for (std::string kv; in >> kv;) overrides.push_back(kv);
  SetOptions o;
  try {
    o = preset_options(config.task, static_cast<int>(c.resolution), c.difficulty, overrides);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("data.pathfinder.params: ") + e.what());
  }
  o.images = c.images;
  o.seed = static_cast<uint64_t>(c.seed);
  o.threads = static_cast<int>(config.threads);
  return o;
}

std::string cached_set(const Config& config, const raw::Progress& progress) {
  const SetOptions o = set_options(config);
  const json record = generator_record(o);
  raw::Sha256 digest;
  digest.update(record.dump());
  const std::string dir = (fs::path(config.data.pathfinder.cache_dir) /
                           (o.task + "-" + std::to_string(o.resolution) + "-" + o.difficulty + "-" +
                            std::to_string(o.images) + "-seed" + std::to_string(o.seed) + "-" +
                            digest.hex().substr(0, 8)))
                              .string();
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "meta.json", ec)) {
    try {
      if (read_prepared_meta(dir).value("generator", json()) == record) return dir;
    } catch (const std::exception&) {
      // unreadable meta.json: regenerate below
    }
  }
  fs::create_directories(config.data.pathfinder.cache_dir, ec);
  write_set(o, dir, progress);
  return dir;
}

}  // namespace lra::pathfinder
