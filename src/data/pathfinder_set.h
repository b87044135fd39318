// A whole generated Pathfinder / Path-X set: images generated in parallel, streamed into a
// prepared folder (and optionally the release's PNG layout), and the cache lra_train uses for
// `data.source: synthetic`.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "data/pathfinder_stimulus.h"
#include "data/raw/common.h"

namespace lra::pathfinder {

struct SetOptions {
  std::string task = "pathfinder";  // pathfinder | pathx
  int resolution = 32;              // of the preset
  std::string difficulty = "curv_contour_length_14";
  StimulusParams params;  // the preset with any overrides applied
  int64_t images = 200000;
  uint64_t seed = 0;  // image i is generate(params, seed, i); the split is Rng(seed)'s shuffle
  int pixel_offset = 0;
  int threads = 0;            // 0 = all cores
  std::string raw_dir;        // also write <raw_dir>/<difficulty>/{imgs,metadata} when set
  int64_t batch_size = 1000;  // images per raw batch folder / metadata file
};

// Generates image `indices[r]` for every r on `threads` threads (0 = all cores) and hands each
// to `use(r, stimulus)`, called concurrently from the workers. Each image depends only on
// (seed, index), so the results do not depend on the thread count or the schedule.
void generate_indices(const StimulusParams& params, uint64_t seed,
                      const std::vector<int64_t>& indices, int threads,
                      const std::function<void(int64_t, Stimulus&&)>& use);

// Everything that determines the images and the split, as recorded in meta.json["generator"].
nlohmann::json generator_record(const SetOptions& options);

// Generates the set into the prepared folder `out` through a temporary sibling renamed at the
// end, so `out` never holds a partial set; the raw layout, if asked for, is written alongside.
// Arrays equal those `lra_prepare pathfinder --input <raw_dir> --seed <seed>` makes. Setting
// `*stop` (a signal handler) abandons the set: the temporary is removed and this throws.
void write_set(const SetOptions& options, const std::string& out, const raw::Progress& progress,
               const std::atomic<bool>* stop = nullptr);

// The prepared folder for a config with `data.source: synthetic` and task pathfinder or pathx:
// <data.pathfinder.cache_dir>/<task>-<resolution>-<difficulty>-<images>-seed<seed>-<hash>,
// reused when its meta.json records the same generator settings, (re)generated otherwise.
std::string cached_set(const Config& config, const raw::Progress& progress = {});

// The preset of `difficulty` at `resolution` (0 = the task's image side, task_list.h) with
// "key=value" overrides applied; the other options keep their defaults.
SetOptions preset_options(const std::string& task, int resolution, const std::string& difficulty,
                          const std::vector<std::string>& overrides);

// The threads the generator runs on: `requested`, or every core when it is 0.
int generator_threads(int requested);

// The options a config asks for (presets resolved, overrides applied).
SetOptions set_options(const Config& config);

}  // namespace lra::pathfinder
