// How each paper trained on each task (experiments/paper_protocols.csv): what lra_report compares
// a run's settings with before it sets our number beside the paper's.
#pragma once
#include <string>
#include <vector>

#include "report/results_table.h"

namespace lra {

struct PaperProtocol {
  std::string paper;  // the --paper key
  std::string task;
  // The config values the paper's runs correspond to, by config key: data.source (files: the
  // public LRA release; synthetic: the built-in generators), data.max_length (the padded length),
  // train.steps, train.batch_size.
  std::map<std::string, std::string> settings;
  std::string source;  // where the protocol was read
};

// The config keys a protocol fixes, in the order differences are printed.
const std::vector<std::string>& protocol_keys();

// Reads the CSV (columns paper, task, data_source, padded_length, steps, batch_size, source).
// Throws std::runtime_error naming the file and line for a malformed row.
std::vector<PaperProtocol> read_paper_protocols(const std::string& path);

// The protocol of `paper` on `task`, or null when the file has none.
const PaperProtocol* find_protocol(const std::vector<PaperProtocol>& protocols,
                                   const std::string& paper, const std::string& task);

// How the runs of `cell` differ from `protocol`, one phrase per key: "padded length 64 (paper:
// 2048)". A null protocol gives one phrase saying it is not on file.
std::vector<std::string> protocol_differences(const ResultCell& cell,
                                              const PaperProtocol* protocol);

}  // namespace lra
