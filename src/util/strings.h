// Small string helpers shared by messages and tables.
#pragma once
#include <string>
#include <vector>

namespace lra {

// "a, b, c" for {a, b, c} with separator ", ".
inline std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

}  // namespace lra
