#include "config/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "config/closest_match.h"
#include "config/schema.h"

namespace lra {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) parts.push_back(item);
  return parts;
}

std::string leaf_name(const std::string& path) {
  return path.substr(path.rfind('.') + 1);
}

std::string suggestion(const std::string& path, const std::vector<std::string>& valid) {
  std::string best = closest_match(path, valid);
  if (best.empty()) {
    // "lr" at the top level still means train.lr: compare the last components too.
    std::vector<std::string> leaves;
    for (const auto& v : valid) leaves.push_back(leaf_name(v));
    std::string leaf = closest_match(leaf_name(path), leaves);
    for (const auto& v : valid)
      if (!leaf.empty() && leaf_name(v) == leaf) return v;
  }
  return best;
}

// Deep-merges `patch` into `target` (maps merge, everything else replaces).
void merge(YAML::Node target, const YAML::Node& patch) {
  for (const auto& kv : patch) {
    const std::string key = kv.first.Scalar();
    if (kv.second.IsMap() && target[key] && target[key].IsMap())
      merge(target[key], kv.second);
    else
      target[key] = kv.second;
  }
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set '" + assignment +
                      "': expected key.path=value, e.g. --set train.lr=3e-4");
  const std::string path = assignment.substr(0, eq);
  const std::string value_text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(value_text);
  } catch (const YAML::Exception&) {
    value = YAML::Node(value_text);
  }
  auto parts = split(path, '.');
  for (const auto& p : parts)
    if (p.empty()) throw ConfigError("--set '" + assignment + "': empty component in key path");
  YAML::Node patch = value;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    YAML::Node wrapper(YAML::NodeType::Map);
    wrapper[*it] = patch;
    patch = wrapper;
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  merge(root, patch);
}

struct Walker {
  std::map<std::string, ConfigField*> fields;
  std::set<std::string> sections;
  std::vector<std::string> valid;
  std::vector<std::string> errors;

  explicit Walker(std::vector<ConfigField>& schema) {
    for (auto& f : schema) {
      fields[f.path] = &f;
      valid.push_back(f.path);
      for (size_t dot = f.path.find('.'); dot != std::string::npos; dot = f.path.find('.', dot + 1))
        sections.insert(f.path.substr(0, dot));
    }
    valid.insert(valid.end(), sections.begin(), sections.end());
  }

  void walk(const YAML::Node& node, const std::string& prefix) {
    // YAML maps may repeat a key; yaml-cpp keeps both, and reading them in turn would let the
    // last one win (or merge two sections) without a word. Overrides never add a repeat.
    std::map<std::string, int> first_line;  // key -> its first line (1-based)
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {  // YAML allows "[1, 2]: x"; a config key is always a name
        errors.push_back((prefix.empty() ? "top level" : prefix.substr(0, prefix.size() - 1)) +
                         ": a key must be a plain name, not a list or mapping");
        continue;
      }
      const std::string path = prefix + kv.first.as<std::string>();
      const int line = kv.first.Mark().line + 1;
      if (auto [it, fresh] = first_line.emplace(path, line); !fresh) {
        errors.push_back(path + ": given twice (lines " + std::to_string(it->second) + " and " +
                         std::to_string(line) + "); keep one");
        continue;
      }
      if (auto it = fields.find(path); it != fields.end()) {
        try {
          it->second->read(kv.second);
        } catch (const std::exception& e) {
          errors.push_back(path + ": " + e.what());
        }
      } else if (sections.count(path)) {
        if (kv.second.IsMap())
          walk(kv.second, path + ".");
        else if (!kv.second.IsNull())
          errors.push_back(path + ": expected a section (a mapping of keys)");
      } else if (path == "attention.orthogonal") {  // replaced when the samplers were added
        errors.push_back(
            "attention.orthogonal: replaced by attention.weight_sampler; write weight_sampler: "
            "orthogonal for true, weight_sampler: gaussian for false");
      } else {
        std::string hint = suggestion(path, valid);
        errors.push_back(path + ": unknown key" +
                         (hint.empty() ? "" : "; did you mean " + hint + "?"));
      }
    }
  }
};

// A config is a small text file: a directory, a device or a huge file would otherwise be read
// as empty (running the defaults) or until memory runs out.
constexpr std::uintmax_t kMaxConfigBytes = 16u << 20;

std::string read_config_file(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string fix = " (check the path passed to --config)";
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    throw std::runtime_error(
        path + ": cannot open config file: " + (ec ? ec.message() : "no such file") + fix);
  if (fs::is_directory(status))
    throw std::runtime_error(path + ": is a directory, not a config file" + fix);
  if (!fs::is_regular_file(status))
    throw std::runtime_error(path + ": not a regular file (a device, pipe or socket)" + fix);
  const std::uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxConfigBytes)
    throw std::runtime_error(path + ": " + std::to_string(size) + " bytes; a config is at most " +
                             std::to_string(kMaxConfigBytes) + " bytes" + fix);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open config file" + fix);
  std::string text(static_cast<size_t>(std::min(size, kMaxConfigBytes)), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) throw std::runtime_error(path + ": cannot read config file" + fix);
  return text;
}

Config parse(YAML::Node root, const std::vector<std::string>& overrides) {
  // A report.json holds the resolved config under "config": reading it reruns that run.
  if (root.IsMap() && root["format"] && root["config"] && root["config"].IsMap())
    root = root["config"];
  if (!root.IsNull() && !root.IsMap())
    throw ConfigError("config: expected a mapping of keys at the top level");
  for (const auto& o : overrides) apply_override(root, o);
  Config config;
  auto schema = config_schema(config);
  Walker walker(schema);
  if (root.IsMap()) walker.walk(root, "");
  if (walker.errors.empty()) walker.errors = cross_field_errors(config);
  if (!walker.errors.empty()) {
    std::string msg;
    for (const auto& e : walker.errors) msg += (msg.empty() ? "" : "\n") + e;
    throw ConfigError(msg);
  }
  return config;
}

}  // namespace

namespace {

// The start of each document yaml-cpp's parser reports, up to three: enough to tell one document
// from several without building them.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// YAML::Load reads only the first document (the rest of the file would be ignored), and reads
// some malformed text (a stray ',' before '[') as an empty config; on that text the parser
// reports empty documents at one position forever, so documents are counted with a bound.
void check_one_document(const std::string& yaml_text) {
  std::istringstream in(yaml_text);
  YAML::Parser parser(in);
  DocumentStarts counter;
  while (counter.starts.size() < 3 && parser.HandleNextDocument(counter)) {
    const auto& s = counter.starts;
    if (s.size() >= 2 && s.back().pos == s[s.size() - 2].pos)
      throw ConfigError("config: not valid YAML: cannot read past line " +
                        std::to_string(s.back().line + 1) + ", column " +
                        std::to_string(s.back().column + 1));
  }
  if (counter.starts.size() > 1)
    throw ConfigError("config: holds more than one YAML document (a second begins at line " +
                      std::to_string(counter.starts[1].line + 1) +
                      " after '---'); a config is one document: merge them, or split them into "
                      "files");
}

}  // namespace

Config load_config_text(const std::string& yaml_text, const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    check_one_document(yaml_text);
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(std::string("config: not valid YAML: ") + e.what());
  }
  return parse(root, overrides);
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::string text;
  try {
    text = read_config_file(path);
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
  try {
    return load_config_text(text, overrides);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ":\n" + e.what());
  }
}

std::string to_yaml(const Config& config) {
  Config copy = config;
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& f : config_schema(copy)) {
    auto parts = split(f.path, '.');
    YAML::Node leaf(f.text());
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      YAML::Node wrapper(YAML::NodeType::Map);
      wrapper[*it] = leaf;
      leaf = wrapper;
    }
    merge(root, leaf);
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::string to_json_text(const Config& config) {
  Config copy = config;
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  for (const auto& f : config_schema(copy)) {
    nlohmann::ordered_json* node = &root;
    auto parts = split(f.path, '.');
    for (size_t i = 0; i + 1 < parts.size(); ++i) node = &(*node)[parts[i]];
    const std::string t = f.text();
    switch (f.kind) {
      case 'i':
        (*node)[parts.back()] = std::stoll(t);
        break;
      case 'f':
        (*node)[parts.back()] = std::stod(t);
        break;
      case 'b':
        (*node)[parts.back()] = (t == "true");
        break;
      default:
        (*node)[parts.back()] = t;
    }
  }
  return root.dump(2);
}

namespace {
// Table cells: a bare '|' would end the cell and '<x>' would read as an HTML tag.
std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|')
      out += "\\|";
    else if (ch == '<')
      out += "&lt;";
    else if (ch == '>')
      out += "&gt;";
    else
      out += ch;
  }
  return out;
}
}  // namespace

std::string config_reference_markdown() {
  Config defaults;
  std::ostringstream md;
  md << "# Configuration reference\n\n"
     << "Generated by `lra_train --config-reference`. Every key is optional; unknown keys, wrong\n"
     << "types and out-of-range values are errors. Override any key on the command line with\n"
     << "`--set key.path=value` (repeatable, applied before validation).\n";
  std::string section = "-";
  for (const auto& f : config_schema(defaults)) {
    const auto dot = f.path.find('.');
    std::string s = dot == std::string::npos ? "" : f.path.substr(0, dot);
    if (s != section) {
      section = s;
      md << "\n## " << (s.empty() ? "top level" : "`" + s + "`") << "\n\n"
         << "| key | type | default | meaning |\n|---|---|---|---|\n";
    }
    std::string def = f.text().empty() ? "\"\"" : f.text();
    md << "| `" << f.path << "` | " << markdown_cell(f.type) << " | `" << def << "` | "
       << markdown_cell(f.doc) << " |\n";
  }
  return md.str();
}

}  // namespace lra
