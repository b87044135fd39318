#include "data/pathfinder_params.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "config/closest_match.h"

namespace lra::pathfinder {

const std::vector<std::string>& difficulty_names() {
  static const std::vector<std::string> names{"curv_baseline", "curv_contour_length_9",
                                              "curv_contour_length_14"};
  return names;
}

StimulusParams preset(int resolution, const std::string& difficulty) {
  int length = 0;
  if (difficulty == "curv_baseline") length = 6;
  if (difficulty == "curv_contour_length_9") length = 9;
  if (difficulty == "curv_contour_length_14") length = 14;
  if (length == 0) {
    const std::string near = closest_match(difficulty, difficulty_names());
    throw std::invalid_argument("pathfinder difficulty '" + difficulty + "' is not one of " +
                                "curv_baseline, curv_contour_length_9, curv_contour_length_14" +
                                (near.empty() ? "" : " (did you mean " + near + "?)"));
  }
  StimulusParams p;  // LRA data/pathfinder.py, Pathfinder32/64/128 docstrings
  p.contour_length = length;
  p.distractor_length = length / 3;
  if (resolution == 32) {
    p.distractors = 20 / p.distractor_length;
  } else if (resolution == 64 || resolution == 128) {
    p.window = resolution;
    p.paddle_length = 5;  // the wrapper's default, not overridden for these sets
    p.paddle_contrast = {1.0};
    if (resolution == 64) {
      p.seed_distance = 12, p.marker_radius = 2.5, p.paddle_thickness = 1.0;
      p.paddle_margin = {1}, p.continuity = 1.8, p.snake_contrast = {0.8};
      p.distractors = 22 / p.distractor_length;
    } else {
      p.seed_distance = 20, p.marker_radius = 3.0, p.paddle_thickness = 1.5;
      p.paddle_margin = {2, 3}, p.continuity = 1.8, p.snake_contrast = {0.9};
      p.distractors = 35 / p.distractor_length;
    }
  } else {
    throw std::invalid_argument("pathfinder resolution " + std::to_string(resolution) +
                                " has no preset; use 32, 64 or 128 (and --param window=... "
                                "for any other size)");
  }
  return p;
}

namespace {

struct Field {
  const char* name;
  const char* help;
  int StimulusParams::*i = nullptr;
  double StimulusParams::*d = nullptr;
  std::vector<int> StimulusParams::*il = nullptr;
  std::vector<double> StimulusParams::*dl = nullptr;
  bool StimulusParams::*b = nullptr;
};

const std::vector<Field>& fields() {
  using P = StimulusParams;
  static const std::vector<Field> f{
      {"window", "image side (pixels)", &P::window},
      {"padding", "border where no paddle starts", &P::padding},
      {"antialias", "antialiasing scale (thickness * antialias whole)", &P::antialias},
      {"seed_distance", "pixels between the targets' first paddles", &P::seed_distance},
      {"marker_radius", "marker disk radius (pixels)", nullptr, &P::marker_radius},
      {"contour_length", "paddles per target contour", &P::contour_length},
      {"distractor_length", "paddles per distractor contour", &P::distractor_length},
      {"distractors", "distractor contours attempted", &P::distractors},
      {"paddle_length", "paddle length (pixels)", &P::paddle_length},
      {"paddle_thickness", "paddle thickness (pixels)", nullptr, &P::paddle_thickness},
      {"paddle_margin", "gap around paddles; list, one drawn per image", nullptr, nullptr,
       &P::paddle_margin},
      {"continuity", "turning penalty (higher = straighter)", nullptr, &P::continuity},
      {"snake_contrast", "contour contrasts; list", nullptr, nullptr, nullptr, &P::snake_contrast},
      {"paddle_contrast", "target paddle contrasts; list", nullptr, nullptr, nullptr,
       &P::paddle_contrast},
      {"single_paddles", "add one-paddle clutter (true/false)", nullptr, nullptr, nullptr, nullptr,
       &P::single_paddles},
      {"max_distractor_retrial", "extra tries per distractor", &P::max_distractor_retrial},
      {"max_paddle_retrial", "extra tries per paddle", &P::max_paddle_retrial},
      {"max_image_retrial", "target pairs tried before giving up", &P::max_image_retrial},
  };
  return f;
}

double parse_number(const std::string& key, const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || !std::isfinite(v))
    throw std::invalid_argument("pathfinder parameter " + key + ": '" + text + "' is not a number");
  return v;
}

int parse_int(const std::string& key, const std::string& text) {
  const double v = parse_number(key, text);
  if (v != std::floor(v) || std::abs(v) > 1e9)
    throw std::invalid_argument("pathfinder parameter " + key + ": '" + text +
                                "' is not a whole number");
  return static_cast<int>(v);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

}  // namespace

void set_param(StimulusParams& p, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos)
    throw std::invalid_argument("pathfinder parameter '" + assignment +
                                "' must look like key=value");
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  for (const Field& f : fields()) {
    if (key != f.name) continue;
    if (f.i) p.*f.i = parse_int(key, value);
    if (f.d) p.*f.d = parse_number(key, value);
    if (f.il) {
      (p.*f.il).clear();
      for (const auto& s : split_list(value)) (p.*f.il).push_back(parse_int(key, s));
    }
    if (f.dl) {
      (p.*f.dl).clear();
      for (const auto& s : split_list(value)) (p.*f.dl).push_back(parse_number(key, s));
    }
    if (f.b) {
      if (value != "true" && value != "false")
        throw std::invalid_argument("pathfinder parameter " + key + ": '" + value +
                                    "' is not true or false");
      p.*f.b = value == "true";
    }
    return;
  }
  std::vector<std::string> names;
  for (const Field& f : fields()) names.push_back(f.name);
  const std::string near = closest_match(key, names);
  throw std::invalid_argument("pathfinder parameter '" + key + "' does not exist" +
                              (near.empty() ? "" : " (did you mean " + near + "?)") +
                              "; lra_prepare pathfinder --help lists them");
}

void validate(const StimulusParams& p) {
  auto bad = [](const std::string& key, const std::string& why) {
    throw std::invalid_argument("pathfinder parameter " + key + ": " + why);
  };
  if (p.window < 8 || p.window > 1024) bad("window", "must be in [8, 1024]");
  if (p.padding < 0 || 2 * p.padding >= p.window) bad("padding", "must be in [0, window / 2)");
  if (p.antialias < 1 || p.antialias > 16) bad("antialias", "must be in [1, 16]");
  if (p.paddle_thickness <= 0) bad("paddle_thickness", "must be > 0");
  if (std::abs(p.paddle_thickness * p.antialias - std::round(p.paddle_thickness * p.antialias)) >
      1e-9)
    bad("paddle_thickness", "times antialias must be a whole number (the reference's rule)");
  if (p.paddle_length < 1) bad("paddle_length", "must be >= 1");
  if (p.contour_length < 1) bad("contour_length", "must be >= 1");
  if (p.distractors < 0) bad("distractors", "must be >= 0");
  if (p.distractors > 0 && p.distractor_length < 1) bad("distractor_length", "must be >= 1");
  if (p.continuity <= 0) bad("continuity", "must be > 0");
  if (p.marker_radius <= 0 || p.marker_radius * 2 >= p.window)
    bad("marker_radius", "must be > 0 and smaller than half the window");
  if (p.seed_distance < 1) bad("seed_distance", "must be >= 1");
  if (4 * p.seed_distance >= p.window)
    bad("seed_distance",
        std::to_string(p.seed_distance) +
            " leaves no room for the first target "
            "paddle: it must stay 2 * seed_distance from every edge, so 4 * seed_distance must be "
            "below window " +
            std::to_string(p.window));
  if (p.paddle_margin.empty()) bad("paddle_margin", "needs at least one value");
  for (int m : p.paddle_margin)
    if (m < 0 || m > p.window / 4) bad("paddle_margin", "values must be in [0, window / 4]");
  if (p.snake_contrast.empty()) bad("snake_contrast", "needs at least one value");
  if (p.paddle_contrast.empty()) bad("paddle_contrast", "needs at least one value");
  for (double v : p.snake_contrast)
    if (v <= 0) bad("snake_contrast", "values must be > 0");
  for (double v : p.paddle_contrast)
    if (v <= 0) bad("paddle_contrast", "values must be > 0");
  if (p.max_paddle_retrial < 0 || p.max_distractor_retrial < 0)
    bad("max_paddle_retrial", "retrial counts must be >= 0");
  if (p.max_image_retrial < 1) bad("max_image_retrial", "must be >= 1");
}

nlohmann::json to_json(const StimulusParams& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const Field& f : fields()) {
    if (f.i) j[f.name] = p.*f.i;
    if (f.d) j[f.name] = p.*f.d;
    if (f.il) j[f.name] = p.*f.il;
    if (f.dl) j[f.name] = p.*f.dl;
    if (f.b) j[f.name] = p.*f.b;
  }
  return j;
}

std::string param_help() {
  const nlohmann::json defaults = to_json(preset(32, "curv_contour_length_14"));
  std::string out;
  for (const Field& f : fields())
    out += "  " + std::string(f.name) + " (" + defaults.at(f.name).dump() + "): " + f.help + "\n";
  return out;
}

}  // namespace lra::pathfinder
