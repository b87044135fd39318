// Pathfinder: lra_prepare pathfinder (the release's PNG tree, src/data/raw/pathfinder.cpp, or
// the built-in generator, src/data/pathfinder_set.cpp) and the generator behind
// data.source: synthetic for Pathfinder and Path-X.
#include "data/tasks/pathfinder.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "data/pathfinder_set.h"
#include "data/prepared.h"
#include "data/prepared_summary.h"
#include "data/raw/pathfinder.h"
#include "data/task_registry.h"
#include "util/file_tree.h"
#include "util/log.h"

namespace lra::tasks::pathfinder {
namespace {

// The generator's command-line flags, applied over the preset they select.
struct GenerateFlags {
  bool on = false;
  int resolution = 0;  // 0 = the task's image side
  int64_t images = 200000;
  std::vector<std::string> params;
  std::string raw_out;
  int64_t batch_size = 1000;
  int threads = 0;
};

struct State {
  raw::PathfinderOptions options;
  GenerateFlags generate;
};

lra::pathfinder::SetOptions generator_settings(const std::string& task, const State& s) {
  const GenerateFlags& g = s.generate;
  lra::pathfinder::SetOptions o =
      lra::pathfinder::preset_options(task, g.resolution, s.options.difficulty, g.params);
  o.images = g.images;
  o.seed = s.options.seed;
  o.pixel_offset = s.options.pixel_offset;
  o.threads = g.threads;
  o.raw_dir = g.raw_out;
  o.batch_size = g.batch_size;
  return o;
}

void print_generated(const lra::pathfinder::SetOptions& o, const std::string& out, double s) {
  std::printf(
      "\n%s: %lld generated %dx%d images (%s, seed %llu) in %.1f s, %.0f images/s on "
      "%d threads\n  output: %s (%s)\n",
      o.task.c_str(), static_cast<long long>(o.images), o.params.window, o.params.window,
      o.difficulty.c_str(), static_cast<unsigned long long>(o.seed), s,
      static_cast<double>(o.images) / s, lra::pathfinder::generator_threads(o.threads), out.c_str(),
      prepare::human_bytes(static_cast<double>(tree_bytes(out))).c_str());
  if (!o.raw_dir.empty())
    std::printf("  raw layout: %s/%s (imgs/<batch>/sample_<i>.png, metadata/<batch>.npy)\n",
                o.raw_dir.c_str(), o.difficulty.c_str());
}

// lra_prepare <task> --generate.
void write_generated(const std::string& task, const State& s, const prepare::Request& request) {
  const lra::pathfinder::SetOptions o = generator_settings(task, s);
  const auto t0 = std::chrono::steady_clock::now();
  lra::pathfinder::write_set(o, request.out, request.progress, prepare::stop_on_signals());
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  if (!request.quiet) print_generated(o, request.out, took.count());
}

std::vector<prepare::Option> generator_options(GenerateFlags& g) {
  return {
      {"--generate,-g",
       &g.on,
       "generate the set with the built-in generator instead of reading --input (no download; "
       "docs/pathfinder_generator.md)",
       {},
       false},
      {"--images,-n", &g.images, "--generate: images (split 80/10/10)", prepare::positive()},
      {"--resolution", &g.resolution,
       "--generate: preset 32, 64 or 128 (default: pathfinder 32, pathx 128)",
       prepare::one_of({"32", "64", "128"}), false},
      {"--param,-p",
       &g.params,
       "--generate: override a preset parameter, key=value (repeatable; lists comma separated). "
       "Keys (defaults of the 32 hard preset):\n" +
           lra::pathfinder::param_help(),
       {},
       false},
      {"--raw-out",
       &g.raw_out,
       "--generate: also write the release layout <dir>/<difficulty>/imgs/<batch>/"
       "sample_<i>.png + metadata/<batch>.npy",
       {},
       false},
      {"--batch-size", &g.batch_size, "--generate --raw-out: images per batch",
       prepare::positive()},
      {"--threads,-j", &g.threads, "--generate: threads (0 = all cores)", prepare::non_negative()},
  };
}

std::vector<prepare::Option> reader_options(raw::PathfinderOptions& o) {
  return {
      {"--difficulty", &o.difficulty,
       "curv_baseline | curv_contour_length_9 | curv_contour_length_14"},
      {"--pixel-offset", &o.pixel_offset, "0 (peers) or 1", prepare::in_range(0, 1)},
      {"--seed", &o.seed, "seed of the 80/10/10 split (--generate: and of the images)"},
      {"--max-pixels", &o.max_pixels,
       "refuse a PNG whose header claims more pixels, before decoding it (every image of the "
       "set is held in memory)",
       prepare::positive()},
  };
}

}  // namespace

prepare::Command command(const std::string& task, const std::string& description,
                         const std::string& release_folder) {
  auto s = std::make_shared<State>();
  prepare::Command c;
  c.description = description;
  c.input_help =
      release_folder + "/ (the folder with the difficulty folders) or one difficulty folder";
  c.input_required = false;
  c.options = generator_options(s->generate);
  for (auto& option : reader_options(s->options)) c.options.push_back(std::move(option));
  c.run = [s, task](const prepare::Request& request) -> std::optional<raw::Prepared> {
    if (!s->generate.on)
      return raw::prepare_pathfinder(prepare::require_input(request), task, s->options,
                                     request.progress);
    write_generated(task, *s, request);
    return std::nullopt;
  };
  return c;
}

prepare::Command prepare_command() {
  return command("pathfinder", "Pathfinder (32x32) from the PNG tree, or --generate",
                 "lra_release/pathfinder32");
}

TaskData generate(const Config& config, std::string& source) {
  int last_tenth = -1;
  raw::Progress progress = [&](const std::string& stage, int64_t done, int64_t total) {
    const int tenth = static_cast<int>(10 * done / total);
    if (tenth == last_tenth) return;
    last_tenth = tenth;
    log::info(log::format("%s: %lld/%lld images", stage.c_str(), static_cast<long long>(done),
                          static_cast<long long>(total)));
  };
  source = lra::pathfinder::cached_set(config, progress);
  return load_prepared(source);
}

}  // namespace lra::tasks::pathfinder
