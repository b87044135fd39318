// Number formatting for tables and logs, the same in every tool.
#pragma once
#include <string>

namespace lra {

// `value` with exactly `decimals` digits after the point, as printf's %.*f ("3.14", "12").
std::string fixed(double value, int decimals);

}  // namespace lra
