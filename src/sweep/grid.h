// A sweep is the cross product of config overrides ("grid axes") times seeds; each point becomes
// one lra_train run with a stable name, so a rerun finds the runs that already finished.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lra {

struct GridAxis {
  std::string key;                  // a config key path, e.g. attention.features
  std::vector<std::string> values;  // as they would be written after --set key=
};

struct SweepPoint {
  std::string name;  // the run's folder name
  int64_t seed = 0;
  std::vector<std::string> overrides;  // "key=value", the axes it sets in order, then seed
};

// Parses "key=v1,v2,..." (a --grid argument). Throws std::invalid_argument naming the problem.
GridAxis parse_grid_axis(const std::string& text);

// Every combination of axis values (the first axis varies slowest) for each seed. Run names
// are "<base>__<label>=<value>__...__seed=<seed>", where a label is the key's last component
// unless two axes share it (then the whole key). Throws on duplicate keys or names.
std::vector<SweepPoint> expand_grid(const std::string& base_name, const std::vector<GridAxis>& axes,
                                    const std::vector<int64_t>& seeds);

// expand_grid for a sweep whose points may run different attention backends: a point sets an
// attention.* axis only if its backend (its attention.type value, or `config_backend` when
// attention.type is not an axis) reads that key, so each backend runs once per distinct setting
// of the keys it reads and its run names carry only those. Names of points that set every axis
// are expand_grid's. Throws when no backend of the sweep reads an attention.* axis.
std::vector<SweepPoint> expand_backend_grid(const std::string& base_name,
                                            const std::vector<GridAxis>& axes,
                                            const std::vector<int64_t>& seeds,
                                            const std::string& config_backend);

// The --set overrides of a sweep whose points may run different backends: `specific` are those of
// attention.* keys only some backends read ("attention.features=64"), `common` the rest.
struct BaseOverrides {
  std::vector<std::string> common, specific;
};
BaseOverrides split_base_overrides(const std::vector<std::string>& overrides);

// Puts each backend-specific --set override into the points whose backend reads its key, ahead
// of the point's own axes: as an axis would be, but without entering run names. Throws when no
// backend of the sweep reads one.
void add_backend_overrides(const std::vector<std::string>& specific,
                           const std::vector<GridAxis>& axes, const std::string& config_backend,
                           std::vector<SweepPoint>& points);

// Keeps letters, digits and ._+- ; anything else becomes '_' so names are safe folder names.
std::string sanitize_name_part(const std::string& text);

}  // namespace lra
