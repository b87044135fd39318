// The parameters of the Pathfinder image model (names follow snakes2_wrapper.py's Args), the
// presets of the published sets, and their parsing and checks.
#pragma once
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

}  // namespace lra::pathfinder
