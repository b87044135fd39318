// Number formatting for tables and logs, the same in every tool.
#pragma once
#include <string>

namespace lra {

// `value` with exactly `decimals` digits after the point, as printf's %.*f ("3.14", "12").
std::string fixed(double value, int decimals);

// The shortest text that reads back to the same double, with a ".0" on integers ("0.1",
// "2.0", "1e-06"): how configs print numbers.
std::string format_double(double value);

}  // namespace lra
