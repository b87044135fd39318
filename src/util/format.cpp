#include "util/format.h"

#include <cstdio>

namespace lra {

std::string fixed(double value, int decimals) {
  // Sized by a first call: %f of a large value has as many digits as the value (1e300).
  const int length = std::snprintf(nullptr, 0, "%.*f", decimals, value);
  std::string text(static_cast<size_t>(length), '\0');
  std::snprintf(text.data(), text.size() + 1, "%.*f", decimals, value);
  return text;
}

}  // namespace lra
