// Pathfinder / Path-X from the LRA release: <root>/<difficulty>/imgs/<batch>/sample_<i>.png and
// <root>/<difficulty>/metadata/<batch>.npy (text, one image per line, space separated).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/raw/common.h"

namespace lra::raw {

struct PathfinderOptions {
  std::string difficulty = "curv_contour_length_14";  // LRA "hard"; curv_baseline, ..._9
  int pixel_offset = 0;  // as ImageOptions: 0 = peers (black masked), 1 = ids 1..256
  uint64_t seed = 0;     // the 80/10/10 split is a seeded shuffle of all images
  // Images whose header claims more pixels are refused before decoding (the release's are at
  // most 256x256; every image of a set holds it in memory).
  int64_t max_pixels = int64_t{1024} * 1024;
};

// The 80/10/10 split of n images: an Rng(seed) shuffle of the indices 0..n-1, then train the
// first floor(0.8 n), val the next floor(0.1 n), test the rest. Shared by the release reader and
// the generator, which is what makes their arrays identical.
struct SplitOrder {
  std::vector<int64_t> order;
  int64_t train_end = 0, val_end = 0;
};
SplitOrder pathfinder_split(int64_t n, uint64_t seed);

// `root` is pathfinder32/ (task "pathfinder") or pathfinder128/ (task "pathx"), or directly the
// <difficulty>/ folder. Metadata field 0 is the folder, 1 the file name, 3 the label (0/1);
// the image path they make must stay inside `root` (no absolute path, no "..", no symbolic
// link out), or the metadata file and line are named in the error.
// Zero-byte PNGs (a known defect of the release) are skipped and counted in meta.
Prepared prepare_pathfinder(const std::string& root, const std::string& task,
                            const PathfinderOptions& options, const Progress& progress = {});

}  // namespace lra::raw
