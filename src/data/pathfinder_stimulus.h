// One Pathfinder stimulus (Linsley et al. 2018; the snakes2 image model behind LRA's Pathfinder
// and Path-X, reference lra_peers.md §4.5): two target contours of short bright paddles laid
// along smooth random paths, short distractor contours, optional single-paddle clutter and two
// circular markers. Label 1: the markers sit on the two ends of one contour; 0: on ends of the
// two different target contours.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lra::pathfinder {

// Every parameter of the image model (names follow snakes2_wrapper.py's Args).
struct StimulusParams {
  int window = 32;                    // image side in pixels
  int padding = 1;                    // border where no paddle may start
  int antialias = 2;                  // paddle_thickness * antialias must be a whole number
  int seed_distance = 7;              // distance between the two target contours' first paddles
  double marker_radius = 1.5;         // circular markers on two contour ends
  int contour_length = 14;            // paddles per target contour (the difficulty)
  int distractor_length = 4;          // paddles per distractor contour
  int distractors = 5;                // distractor contours attempted
  int paddle_length = 2;              // pixels
  double paddle_thickness = 0.5;      // pixels
  std::vector<int> paddle_margin{1};  // gap around a paddle; one drawn per image
  double continuity = 1.0;            // turning penalty: weight cos(min(c * dtheta, pi/2))^2
  std::vector<double> snake_contrast{2.0};    // per contour
  std::vector<double> paddle_contrast{0.75};  // per target paddle, times its contour's contrast
  bool single_paddles = false;                // fill with one-paddle clutter (off in LRA's sets)
  int max_distractor_retrial = 4;             // extra tries per distractor contour
  int max_paddle_retrial = 2;                 // extra tries per paddle
  int max_image_retrial = 20000;  // target pairs tried before the set counts as impossible
};

// The published sets: resolution 32 (LRA Pathfinder), 64 or 128 (Path-X); difficulty
// curv_baseline (6 paddles), curv_contour_length_9 or curv_contour_length_14 (LRA's choice).
StimulusParams preset(int resolution, const std::string& difficulty);
const std::vector<std::string>& difficulty_names();

// "key=value" on a parameter (lists comma separated); throws std::invalid_argument naming the
// key (with the closest known one) or the bad value.
void set_param(StimulusParams& p, const std::string& assignment);
// Throws std::invalid_argument naming the first parameter that makes the set impossible.
void validate(const StimulusParams& p);
nlohmann::json to_json(const StimulusParams& p);
// One line per parameter: name, default of the 32 hard preset, meaning (for --help).
std::string param_help();

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
