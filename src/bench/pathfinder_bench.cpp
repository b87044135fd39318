#include "bench/pathfinder_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <nlohmann/json.hpp>

#include "bench/attention_bench.h"
#include "data/pathfinder_set.h"
#include "data/raw/png.h"

namespace lra::bench {
namespace {

using nlohmann::json;
using pathfinder::Contour;
using pathfinder::Stimulus;

struct CaseStats {
  int resolution = 0;
  std::string difficulty;
  int64_t images = 0, positives = 0;
  double seconds = 0;
  double target_paddles = 0, distractors = 0, distractor_paddles = 0, attempts = 0;
  int64_t min_target_paddles = 1 << 30;
  double inked = 0, bright = 0, mean_intensity = 0;  // fractions of pixels; mean gray 0..255
  int contour_length = 0, distractor_length = 0, distractors_attempted = 0;
};

void add(CaseStats& c, const Stimulus& s) {
  c.positives += s.label;
  c.attempts += s.attempts;
  for (const Contour& k : s.contours) {
    const auto len = static_cast<int64_t>(k.paddles.size());
    if (k.kind == Contour::kTarget) {
      c.target_paddles += static_cast<double>(len) / 2.0;
      c.min_target_paddles = std::min(c.min_target_paddles, len);
    } else if (k.kind == Contour::kDistractor) {
      c.distractors += 1;
      c.distractor_paddles += static_cast<double>(len);
    }
  }
  int64_t inked = 0, bright = 0, sum = 0;
  for (uint8_t v : s.pixels) inked += v > 0, bright += v >= 128, sum += v;
  const auto area = static_cast<double>(s.pixels.size());
  c.inked += static_cast<double>(inked) / area;
  c.bright += static_cast<double>(bright) / area;
  c.mean_intensity += static_cast<double>(sum) / area;
}

void finish(CaseStats& c) {
  const auto n = static_cast<double>(c.images);
  c.distractor_paddles = c.distractors > 0 ? c.distractor_paddles / c.distractors : 0;
  for (double* v :
       {&c.target_paddles, &c.distractors, &c.attempts, &c.inked, &c.bright, &c.mean_intensity})
    *v /= n;
}

// Rows: difficulties; columns: 4 positives, a gap, 4 negatives; every image scaled to 128 px.
void write_grid(const std::string& path, int resolution,
                const std::vector<std::vector<Stimulus>>& rows) {
  const int cell = 128, scale = std::max(1, cell / resolution), gap = 4, middle = 24;
  const int width = 8 * cell + 7 * gap + middle - gap;
  const int height = static_cast<int>(rows.size()) * (cell + gap) - gap;
  raw::GrayImage img{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height, 96)};
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t k = 0; k < rows[r].size(); ++k) {
      const int col = static_cast<int>(k);
      const int x0 = col * (cell + gap) + (col >= 4 ? middle - gap : 0);
      const int y0 = static_cast<int>(r) * (cell + gap);
      const auto& px = rows[r][k].pixels;
      for (int y = 0; y < cell; ++y)
        for (int x = 0; x < cell; ++x)
          img.pixels[static_cast<size_t>((y0 + y) * width + x0 + x)] =
              px[static_cast<size_t>((y / scale) * resolution + x / scale)];
    }
  raw::write_png_gray(path, img);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string markdown_table(const std::vector<CaseStats>& cases, int threads) {
  std::string md =
      "| resolution | difficulty | images/s | 200,000 images | label 1 | target paddles "
      "(mean, min) | distractors placed / attempted | paddles per distractor | target pairs "
      "tried | inked pixels | pixels >= 128 | mean gray |\n|---|---|---|---|---|---|---|---|---|"
      "---|---|---|\n";
  for (const auto& c : cases) {
    const double ips = static_cast<double>(c.images) / c.seconds;
    md += "| " + std::to_string(c.resolution) + " | " + c.difficulty + " | " + fmt("%.0f", ips) +
          " | " + fmt("%.0f s", 200000.0 / ips) + " | " +
          fmt("%.1f%%", 100.0 * static_cast<double>(c.positives) / static_cast<double>(c.images)) +
          " | " + fmt("%.2f", c.target_paddles) + ", " + std::to_string(c.min_target_paddles) +
          " (of " + std::to_string(c.contour_length) + ") | " + fmt("%.2f", c.distractors) + " / " +
          std::to_string(c.distractors_attempted) + " | " + fmt("%.2f", c.distractor_paddles) +
          " (of " + std::to_string(c.distractor_length) + ") | " + fmt("%.2f", c.attempts) + " | " +
          fmt("%.1f%%", 100 * c.inked) + " | " + fmt("%.1f%%", 100 * c.bright) + " | " +
          fmt("%.1f", c.mean_intensity) + " |\n";
  }
  md += "\n" + std::to_string(threads) + " threads; " + machine_line(threads) + "\n";
  return md;
}

}  // namespace

int run_pathfinder_bench(const PathfinderBenchOptions& o) {
  const int threads = pathfinder::generator_threads(o.threads);
  std::vector<CaseStats> cases;
  for (int res : o.resolutions) {
    std::vector<std::vector<Stimulus>> grid;
    for (const auto& difficulty : o.difficulties) {
      const auto params = pathfinder::preset(res, difficulty);
      pathfinder::validate(params);
      std::vector<int64_t> indices(static_cast<size_t>(o.images));
      for (int64_t i = 0; i < o.images; ++i) indices[static_cast<size_t>(i)] = i;
      std::vector<Stimulus> all(indices.size());
      const auto t0 = std::chrono::steady_clock::now();
      pathfinder::generate_indices(params, o.seed, indices, threads, [&](int64_t r, Stimulus&& s) {
        all[static_cast<size_t>(r)] = std::move(s);
      });
      CaseStats c;
      c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      c.resolution = res, c.difficulty = difficulty, c.images = o.images;
      c.contour_length = params.contour_length, c.distractor_length = params.distractor_length;
      c.distractors_attempted = params.distractors;
      for (const auto& s : all) add(c, s);
      finish(c);
      cases.push_back(c);
      std::printf("%4d %-24s %8.0f images/s  label1 %.1f%%  distractors %.2f  inked %.1f%%\n", res,
                  difficulty.c_str(), static_cast<double>(o.images) / c.seconds,
                  100.0 * static_cast<double>(c.positives) / static_cast<double>(o.images),
                  c.distractors, 100 * c.inked);
      std::fflush(stdout);
      std::vector<Stimulus> row;
      for (int want : {1, 0})
        for (const auto& s : all)
          if (s.label == want && std::count_if(row.begin(), row.end(), [&](const Stimulus& t) {
                                   return t.label == want;
                                 }) < 4)
            row.push_back(s);
      grid.push_back(std::move(row));
    }
    if (!o.grid_dir.empty()) {
      std::filesystem::create_directories(o.grid_dir);
      const std::string path = o.grid_dir + "/pathfinder_samples_" + std::to_string(res) + ".png";
      write_grid(path, res, grid);
      std::printf("wrote %s\n", path.c_str());
    }
  }
  const std::string md = markdown_table(cases, threads);
  std::printf("\n%s", md.c_str());
  if (!o.markdown.empty()) std::ofstream(o.markdown) << md;
  if (!o.json.empty()) {
    json j = json::array();
    for (const auto& c : cases)
      j.push_back(
          {{"resolution", c.resolution},
           {"difficulty", c.difficulty},
           {"images", c.images},
           {"seconds", c.seconds},
           {"images_per_s", static_cast<double>(c.images) / c.seconds},
           {"label1_fraction", static_cast<double>(c.positives) / static_cast<double>(c.images)},
           {"target_paddles_mean", c.target_paddles},
           {"distractors_mean", c.distractors},
           {"distractor_paddles_mean", c.distractor_paddles},
           {"target_pairs_tried_mean", c.attempts},
           {"inked_fraction", c.inked},
           {"bright_fraction", c.bright},
           {"mean_gray", c.mean_intensity},
           {"threads", threads}});
    std::ofstream(o.json) << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace lra::bench
