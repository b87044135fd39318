#include "data/raw/imdb.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include <torch/torch.h>

#include "config/tasks.h"
#include "data/raw/sha256.h"
#include "util/rng.h"

namespace lra::raw {
namespace fs = std::filesystem;

namespace {

std::string strip(const std::string& s) {
  const char* ws = " \t\n\r\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

struct Review {
  std::string path;
  int64_t label;
};

// Reviews of one split in a fixed order: neg then pos, each by file name. A review that is a
// symbolic link out of `input` (an archive can carry one) is refused: its bytes would end up
// in the prepared folder.
std::vector<Review> list_split(const std::string& input, const fs::path& root,
                               const std::string& split) {
  std::vector<Review> out;
  for (const auto& [sub, label] : {std::pair<const char*, int64_t>{"neg", 0}, {"pos", 1}}) {
    const fs::path d = root / split / sub;
    require_dir(d.string(), "expected the aclImdb layout {train,test}/{pos,neg}/*.txt");
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(d))
      if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path().string());
    if (files.empty()) throw std::runtime_error(d.string() + ": no .txt reviews");
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      const std::string escape = path_escape(input, d.string(), fs::path(f).filename().string());
      if (!escape.empty())
        throw std::runtime_error(f + ": review " + escape + "; refusing to read it");
      out.push_back({std::move(f), label});
    }
  }
  return out;
}

}  // namespace

Prepared prepare_text(const std::string& dir, const TextOptions& o, const Progress& progress) {
  if (o.max_length < 1) throw std::invalid_argument("text max_length must be >= 1");
  fs::path root(dir);
  if (fs::is_directory(root / "aclImdb")) root /= "aclImdb";
  require_dir(root.string(), "pass the extracted aclImdb/ folder (aclImdb_v1.tar.gz)");

  Prepared p;
  p.data.task = "text";
  p.data.vocab_size = task_spec("text").vocab_size;  // byte + 1
  p.data.num_classes = task_spec("text").num_classes;
  p.data.max_length = o.max_length;
  // One digest over the whole tree: every review's relative path, a NUL, and its bytes.
  Sha256 tree;
  int64_t bytes = 0, truncated = 0, total = 0;
  auto train = list_split(dir, root, "train"), test = list_split(dir, root, "test");
  const int64_t n_all = static_cast<int64_t>(train.size() + test.size());
  Rng rng(o.seed);
  for (auto* part : {&train, &test}) {
    std::vector<Review>& reviews = *part;
    std::vector<std::string> texts;
    std::vector<int64_t> labels;
    for (const auto& r : reviews) {
      const std::string raw = read_file(r.path);
      tree.update(fs::relative(r.path, root).string());
      tree.update("\0", 1);
      tree.update(raw);
      bytes += static_cast<int64_t>(raw.size());
      texts.push_back(strip(raw));
      if (static_cast<int64_t>(texts.back().size()) > o.max_length) {
        ++truncated;
        texts.back().resize(static_cast<size_t>(o.max_length));  // the rest is never encoded
      }
      labels.push_back(r.label);
      if (progress && (++total % 500 == 0 || total == n_all)) progress("aclImdb", total, n_all);
    }
    // Shuffled so that any prefix of a split is class balanced.
    std::vector<int64_t> order(texts.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    rng.shuffle(order);
    Split s;
    s.name = part == &train ? "train" : "test";
    s.tokens = take_rows(encode_bytes(texts, o.max_length), order);     // (N, L) int16
    s.labels = take_rows(torch::tensor(labels, torch::kInt64), order);  // (N,)
    (part == &train ? p.data.train : p.data.test) = s;
  }
  p.data.val = p.data.test;
  p.data.val.name = "val";
  p.meta["variant"] = {{"encoding", "bytes+1"}, {"seed", o.seed}};
  p.meta["sources"] =
      nlohmann::json::array({{{"path", fs::absolute(root).lexically_normal().string()},
                              {"files", n_all},
                              {"bytes", bytes},
                              {"sha256_tree", tree.hex()}}});
  p.meta["truncated"] = truncated;
  p.meta["notes"] = nlohmann::json::array(
      {"val = test: IMDB has no validation split; the official pipeline validates on test",
       "ids = UTF-8 byte + 1, pad 0; reviews stripped of surrounding whitespace; labels neg 0, "
       "pos 1",
       "sha256_tree: over the reviews in sorted order (train/neg, train/pos, test/neg, test/pos), "
       "each relative path, a NUL byte, then the file's bytes"});
  return p;
}

}  // namespace lra::raw
