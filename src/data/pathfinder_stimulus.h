// One Pathfinder stimulus (Linsley et al. 2018; the snakes2 image model behind LRA's Pathfinder
// and Path-X, reference lra_peers.md §4.5): two target contours of short bright paddles laid
// along smooth random paths, short distractor contours, optional single-paddle clutter and two
// circular markers. Label 1: the markers sit on the two ends of one contour; 0: on ends of the
// two different target contours.
#pragma once
#include <cstdint>
#include <vector>

#include "data/pathfinder_params.h"

namespace lra::pathfinder {

struct Point {
  double y = 0, x = 0;
};

// A straight paddle from `a` to `b` (pixel centres at integer coordinates).
struct Paddle {
  Point a, b;
};

struct Contour {
  enum Kind { kTarget, kDistractor, kClutter } kind = kTarget;
  std::vector<Paddle> paddles;
  Point origin, terminal;  // the free ends of the first and the last paddle
};

struct Stimulus {
  std::vector<uint8_t> pixels;                   // window * window, row-major, 0 = background
  int label = 0;                                 // 1 = markers on one contour
  int margin = 0;                                // paddle margin drawn for this image
  std::vector<Contour> contours;                 // [0] and [1] are the targets
  Point markers[2];                              // centres: [0] on contours[origin_contour].origin
  int origin_contour = 0, terminal_contour = 0;  // equal exactly when label == 1
  int attempts = 1;                              // target pairs drawn until one fitted
};

// The stimulus for one (seed, index): the same bytes on every thread count and run.
Stimulus generate(const StimulusParams& p, uint64_t seed, int64_t index);

// Rendering primitives, exposed for the fidelity tests: ink coverage in [0, 1] of a paddle of
// `p.paddle_thickness` (or of a marker disk) over the window, row-major.
std::vector<float> render_paddles(const StimulusParams& p, const std::vector<Paddle>& paddles);
std::vector<float> render_marker(const StimulusParams& p, Point centre);

}  // namespace lra::pathfinder
