// What lra_prepare prints when a folder is written: per split the size, the class balance and
// the length histogram, so that a wrong input shows before a run trains on it.
#pragma once
#include <string>

#include "data/dataset.h"

namespace lra::prepare {

// To stdout: `data` as written to `out`, with the folder's size and the read and write times.
void print_prepared_summary(const TaskData& data, const std::string& out, double read_seconds,
                            double write_seconds);

// "1.5 GiB".
std::string human_bytes(double bytes);

}  // namespace lra::prepare
