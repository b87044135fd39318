#include "data/raw/aan_tsv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <torch/torch.h>

#include "config/tasks.h"
#include "data/raw/tsv_lines.h"

namespace lra::raw {
namespace fs = std::filesystem;

namespace {

Split read_split(const std::string& path, const std::string& name, const RetrievalOptions& o,
                 const Progress& progress, int64_t& truncated) {
  require_file(path,
               "expected the LRA release folder tsv_data/ with "
               "new_aan_pairs.{train,eval,test}.tsv");
  LineReader in(path, progress);
  std::string line;
  std::vector<std::string> text1, text2;
  std::vector<int64_t> labels;
  const auto cut = [&](const std::string& t) {
    const size_t keep = static_cast<size_t>(std::min<int64_t>(o.max_bytes, o.max_length));
    if (t.size() > keep) ++truncated;
    return t.substr(0, keep);
  };
  while (in.next(line)) {
    const auto f = split_fields(line, '\t');
    if (f.size() != 5)
      in.fail("expected 5 tab-separated fields (label, id1, id2, text1, text2), got " +
              std::to_string(f.size()));
    errno = 0;
    char* end = nullptr;
    const float value = std::strtof(f[0].c_str(), &end);
    if (f[0].empty() || *end != '\0' || errno == ERANGE || !std::isfinite(value))
      in.fail("label '" + f[0] + "' is not a number");
    // The release writes 0.0 / 1.0; anything else (0.9) would be cut to a label silently.
    if (value != 0.0f && value != 1.0f) in.fail("label " + f[0] + " is not 0 or 1");
    const auto label = static_cast<int64_t>(value);
    labels.push_back(label);
    text1.push_back(cut(f[3]));
    text2.push_back(cut(f[4]));
  }
  if (labels.empty()) throw std::runtime_error(path + ": no examples");
  Split s;
  s.name = name;
  s.tokens = encode_bytes(text1, o.max_length);     // (N, L) int16
  s.tokens2 = encode_bytes(text2, o.max_length);    // (N, L) int16
  s.labels = torch::tensor(labels, torch::kInt64);  // (N,)
  return s;
}

}  // namespace

Prepared prepare_retrieval(const std::string& dir, const RetrievalOptions& o,
                           const Progress& progress) {
  if (o.max_length < 1 || o.max_bytes < 1)
    throw std::invalid_argument("retrieval max_length and max_bytes must be >= 1");
  require_dir(dir, "pass the LRA release folder tsv_data/");
  Prepared p;
  p.data.task = "retrieval";
  p.data.vocab_size = task_spec("retrieval").vocab_size;  // byte + 1
  p.data.num_classes = task_spec("retrieval").num_classes;
  p.data.max_length = o.max_length;
  int64_t truncated = 0;
  nlohmann::json sources = nlohmann::json::array();
  const std::pair<const char*, Split*> parts[] = {
      {"train", &p.data.train}, {"eval", &p.data.val}, {"test", &p.data.test}};
  for (const auto& [file_split, split] : parts) {
    const std::string path =
        (fs::path(dir) / ("new_aan_pairs." + std::string(file_split) + ".tsv")).string();
    *split = read_split(path, split == &p.data.val ? "val" : file_split, o, progress, truncated);
    sources.push_back(source_file(path));
  }
  p.meta["variant"] = {{"encoding", "bytes+1"}, {"max_bytes", o.max_bytes}};
  p.meta["sources"] = sources;
  p.meta["truncated_documents"] = truncated;
  p.meta["notes"] = nlohmann::json::array({"val = new_aan_pairs.eval.tsv",
                                           "ids = byte + 1, pad 0; each text cut to its first "
                                           "max_bytes bytes, then to max_length"});
  return p;
}

}  // namespace lra::raw
