#include "sweep/grid.h"

#include <cctype>
#include <set>
#include <sstream>
#include <stdexcept>

namespace lra {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::string last_component(const std::string& key) {
  return key.substr(key.rfind('.') + 1);
}

std::vector<std::string> axis_labels(const std::vector<GridAxis>& axes) {
  std::vector<std::string> labels;
  for (const auto& axis : axes) {
    int sharing = 0;
    for (const auto& other : axes)
      sharing += last_component(other.key) == last_component(axis.key) ? 1 : 0;
    labels.push_back(sharing > 1 ? axis.key : last_component(axis.key));
  }
  return labels;
}

}  // namespace

std::string sanitize_name_part(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    const bool keep =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-';
    if (!keep) c = '_';
  }
  return out;
}

GridAxis parse_grid_axis(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("--grid '" + text +
                                "': expected key.path=v1,v2,... e.g. attention.features=64,128");
  GridAxis axis{trim(text.substr(0, eq)), {}};
  std::stringstream values(text.substr(eq + 1));
  std::string value;
  std::set<std::string> seen;
  while (std::getline(values, value, ',')) {
    value = trim(value);
    if (value.empty())
      throw std::invalid_argument("--grid '" + text + "': empty value in the list");
    if (!seen.insert(value).second)
      throw std::invalid_argument("--grid '" + text + "': value '" + value + "' repeats");
    axis.values.push_back(value);
  }
  if (axis.values.empty())
    throw std::invalid_argument("--grid '" + text + "': no values after '='");
  return axis;
}

std::vector<SweepPoint> expand_grid(const std::string& base_name, const std::vector<GridAxis>& axes,
                                    const std::vector<int64_t>& seeds) {
  std::set<std::string> keys;
  for (const auto& axis : axes) {
    if (axis.key == "seed" || axis.key == "name" || axis.key.rfind("output.", 0) == 0)
      throw std::invalid_argument("--grid " + axis.key +
                                  ": set by the sweep itself (use --seeds for seeds)");
    if (!keys.insert(axis.key).second)
      throw std::invalid_argument("--grid " + axis.key + ": given twice; list all values once");
  }
  if (seeds.empty()) throw std::invalid_argument("--seeds: at least one seed is needed");
  const auto labels = axis_labels(axes);

  // Mixed-radix counter over the axes: index i of axis a is (combo / stride_a) % size_a.
  size_t combos = 1;
  for (const auto& axis : axes) combos *= axis.values.size();
  std::vector<SweepPoint> points;
  std::set<std::string> names;
  for (size_t combo = 0; combo < combos; ++combo) {
    for (int64_t seed : seeds) {
      SweepPoint point;
      point.seed = seed;
      point.name = sanitize_name_part(base_name);
      size_t stride = combos;
      for (size_t a = 0; a < axes.size(); ++a) {
        stride /= axes[a].values.size();
        const std::string& value = axes[a].values[(combo / stride) % axes[a].values.size()];
        point.overrides.push_back(axes[a].key + "=" + value);
        point.name += "__" + sanitize_name_part(labels[a]) + "=" + sanitize_name_part(value);
      }
      point.overrides.push_back("seed=" + std::to_string(seed));
      point.name += "__seed=" + std::to_string(seed);
      if (!names.insert(point.name).second)
        throw std::invalid_argument("two grid points map to the same run name '" + point.name +
                                    "': values differ only in characters replaced by '_'");
      points.push_back(std::move(point));
    }
  }
  return points;
}

}  // namespace lra
