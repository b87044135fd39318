#include "sweep/grid.h"

#include <cctype>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "attention_spec/backend_spec.h"

namespace lra {
namespace {

// For one combination of axis values (values[a] belongs to axes[a]): whether its run sets axis a.
using AxesSetAt = std::function<std::vector<bool>(const std::vector<std::string>& values)>;

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::string last_component(const std::string& key) {
  return key.substr(key.rfind('.') + 1);
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) text += (i ? separator : "") + items[i];
  return text;
}

// Labels come from every axis, set or not at a point, so that a point setting all of them is
// named as in a sweep of one backend.
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

void check_axis_keys(const std::vector<GridAxis>& axes) {
  std::set<std::string> keys;
  for (const auto& axis : axes) {
    if (axis.key == "seed" || axis.key == "name" || axis.key.rfind("output.", 0) == 0)
      throw std::invalid_argument("--grid " + axis.key +
                                  ": set by the sweep itself (use --seeds for seeds)");
    if (!keys.insert(axis.key).second)
      throw std::invalid_argument("--grid " + axis.key + ": given twice; list all values once");
  }
}

// Every combination of one value per axis, the first axis varying slowest.
std::vector<std::vector<std::string>> combinations(const std::vector<GridAxis>& axes) {
  std::vector<std::vector<std::string>> combos = {{}};
  for (const auto& axis : axes) {
    std::vector<std::vector<std::string>> longer;
    for (const auto& combo : combos)
      for (const auto& value : axis.values) {
        longer.push_back(combo);
        longer.back().push_back(value);
      }
    combos = std::move(longer);
  }
  return combos;
}

SweepPoint make_point(const std::string& base_name, const std::vector<GridAxis>& axes,
                      const std::vector<std::string>& labels,
                      const std::vector<std::string>& values, const std::vector<bool>& sets,
                      int64_t seed) {
  SweepPoint point;
  point.seed = seed;
  point.name = sanitize_name_part(base_name);
  for (size_t a = 0; a < axes.size(); ++a) {
    if (!sets[a]) continue;
    point.overrides.push_back(axes[a].key + "=" + values[a]);
    point.name += "__" + sanitize_name_part(labels[a]) + "=" + sanitize_name_part(values[a]);
  }
  point.overrides.push_back("seed=" + std::to_string(seed));
  point.name += "__seed=" + std::to_string(seed);
  return point;
}

// Combinations that differ only in axes their runs do not set are one run, listed where it
// first appears.
std::vector<SweepPoint> expand(const std::string& base_name, const std::vector<GridAxis>& axes,
                               const std::vector<int64_t>& seeds, const AxesSetAt& axes_set_at) {
  check_axis_keys(axes);
  if (seeds.empty()) throw std::invalid_argument("--seeds: at least one seed is needed");
  const auto labels = axis_labels(axes);
  std::vector<SweepPoint> points;
  std::map<std::string, std::vector<std::string>> overrides_by_name;
  for (const auto& values : combinations(axes)) {
    const auto sets = axes_set_at(values);
    for (int64_t seed : seeds) {
      SweepPoint point = make_point(base_name, axes, labels, values, sets, seed);
      const auto [known, added] = overrides_by_name.emplace(point.name, point.overrides);
      if (added) {
        points.push_back(std::move(point));
      } else if (known->second != point.overrides) {
        throw std::invalid_argument("two grid points map to the same run name '" + point.name +
                                    "': values differ only in characters replaced by '_'");
      }
    }
  }
  return points;
}

// ---- Which axes a point sets when the sweep crosses attention backends ----
//
// Only the attention.* keys a backend's registration line READS are backend-specific; every
// other axis (attention.type itself included) is set at every point. A type value or attention
// key that is not registered is set everywhere too, so that the config check names it with its run.

// "features" for attention.features; empty for an axis every backend takes.
std::string backend_specific_key(const GridAxis& axis) {
  const std::string prefix = "attention.";
  if (axis.key.rfind(prefix, 0) != 0) return "";
  const std::string key = axis.key.substr(prefix.size());
  for (const auto& declared : attention_keys())
    if (declared.name == key) return key;
  return "";
}

const BackendSpec* registered_backend(const std::string& name) {
  for (const auto& spec : attention_backends())
    if (spec.name == name) return &spec;
  return nullptr;
}

// False only for a registered backend that does not read the key.
bool may_read(const std::string& backend, const std::string& key) {
  const BackendSpec* spec = registered_backend(backend);
  return !spec || spec->reads_key(key);
}

const GridAxis* type_axis(const std::vector<GridAxis>& axes) {
  for (const auto& axis : axes)
    if (axis.key == "attention.type") return &axis;
  return nullptr;
}

void require_each_attention_axis_read(const std::vector<GridAxis>& axes,
                                      const std::vector<std::string>& backends) {
  for (const auto& axis : axes) {
    const std::string key = backend_specific_key(axis);
    if (key.empty()) continue;
    bool read = false;
    for (const auto& backend : backends) read = read || may_read(backend, key);
    if (!read)
      throw std::invalid_argument(
          "--grid " + axis.key + ": read by none of the sweep's backends (" + join(backends, ", ") +
          "); drop the axis or sweep a backend that reads it." + read_by(key));
  }
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
  return expand(base_name, axes, seeds, [&](const std::vector<std::string>&) {
    return std::vector<bool>(axes.size(), true);
  });
}

std::vector<SweepPoint> expand_backend_grid(const std::string& base_name,
                                            const std::vector<GridAxis>& axes,
                                            const std::vector<int64_t>& seeds,
                                            const std::string& config_backend) {
  const GridAxis* types = type_axis(axes);
  require_each_attention_axis_read(axes, types ? types->values : std::vector{config_backend});
  const size_t type_index = types ? static_cast<size_t>(types - axes.data()) : axes.size();
  return expand(base_name, axes, seeds, [&](const std::vector<std::string>& values) {
    const std::string& backend = types ? values[type_index] : config_backend;
    std::vector<bool> sets;
    for (const auto& axis : axes) {
      const std::string key = backend_specific_key(axis);
      sets.push_back(key.empty() || may_read(backend, key));
    }
    return sets;
  });
}

BaseOverrides split_base_overrides(const std::vector<std::string>& overrides) {
  BaseOverrides split;
  for (const auto& text : overrides) {
    const auto eq = text.find('=');
    const bool specific = eq != std::string::npos &&
                          !backend_specific_key(GridAxis{trim(text.substr(0, eq)), {}}).empty();
    (specific ? split.specific : split.common).push_back(text);
  }
  return split;
}

void add_backend_overrides(const std::vector<std::string>& specific,
                           const std::vector<GridAxis>& axes, const std::string& config_backend,
                           std::vector<SweepPoint>& points) {
  std::vector<GridAxis> as_axes;  // one single-valued axis per override
  for (const auto& text : specific) {
    const auto eq = text.find('=');
    as_axes.push_back({trim(text.substr(0, eq)), {text.substr(eq + 1)}});
  }
  const GridAxis* types = type_axis(axes);
  try {
    require_each_attention_axis_read(as_axes, types ? types->values : std::vector{config_backend});
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(
        std::regex_replace(std::regex_replace(e.what(), std::regex("^--grid"), "--set"),
                           std::regex("drop the axis"), "drop the setting"));
  }
  const std::string type_prefix = "attention.type=";
  for (auto& point : points) {
    std::string backend = config_backend;
    for (const auto& o : point.overrides)
      if (o.rfind(type_prefix, 0) == 0) backend = o.substr(type_prefix.size());
    std::vector<std::string> read;
    for (const auto& axis : as_axes)
      if (may_read(backend, backend_specific_key(axis)))
        read.push_back(axis.key + "=" + axis.values[0]);
    point.overrides.insert(point.overrides.begin(), read.begin(), read.end());
  }
}

}  // namespace lra
