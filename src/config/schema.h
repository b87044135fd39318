// The config schema: one entry per key with its type, range, default and documentation.
// Binding entries to a Config instance lets one table drive parsing, dumping and the docs.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"

namespace lra {

struct ConfigField {
  std::string path;  // "train.lr"
  std::string type;  // "number > 0", "one of: a | b"
  std::string doc;
  // Parses and range-checks a YAML value into the bound Config; throws std::invalid_argument
  // with a message that states what was expected.
  std::function<void(const YAML::Node&)> read;
  // The bound value as a YAML scalar text.
  std::function<std::string()> text;
  // The bound value kind, for JSON output: 'i' int, 'f' float, 'b' bool, 's' string.
  char kind = 's';
};

std::vector<ConfigField> config_schema(Config& config);
// The default value of the key at `path` as its YAML text ("" for a path that is not a key).
std::string default_text(const std::string& path);

// Cross-field rules (heads divide dim, lengths fit, ...); one message per broken rule.
std::vector<std::string> cross_field_errors(const Config& config);

}  // namespace lra
