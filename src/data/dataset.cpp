#include "data/dataset.h"

#include <algorithm>
#include <stdexcept>

#include <torch/torch.h>

#include "data/listops.h"
#include "data/pathfinder_set.h"
#include "data/prepared.h"
#include "util/log.h"
#include "util/rng.h"

namespace lra {
namespace {

enum SeedStream : uint64_t { kDataStream = 1 };

Split make_split(std::string name, const std::vector<listops::Example>& all, size_t begin,
                 size_t end, int64_t max_length) {
  std::vector<std::vector<uint8_t>> tokens;
  std::vector<int64_t> labels;
  for (size_t i = begin; i < end; ++i) {
    tokens.push_back(all[i].tokens);
    labels.push_back(all[i].label);
  }
  Split split;
  split.name = std::move(name);
  split.tokens = pad_tokens(tokens, max_length);
  split.labels = torch::tensor(labels, torch::kInt64);
  return split;
}

TaskData synthetic_listops(const Config& config) {
  const auto& s = config.data.synthetic;
  auto examples =
      listops::generate(s, derive_seed(static_cast<uint64_t>(config.seed), kDataStream));
  TaskData data;
  data.task = "listops";
  data.vocab_size = listops::kVocabSize;
  data.num_classes = listops::kNumClasses;
  data.max_length = config.data.max_length;
  const size_t a = static_cast<size_t>(s.train_size), b = a + static_cast<size_t>(s.val_size);
  // Official order: the first train_size expressions are train, then val, then test.
  data.train = make_split("train", examples, 0, a, data.max_length);
  data.val = make_split("val", examples, a, b, data.max_length);
  data.test = make_split("test", examples, b, examples.size(), data.max_length);
  return data;
}

// Adds to `c` the rows of an (N, L) matrix with a non-pad token at `length` or later.
template <class T>
void count_cut_rows(const torch::Tensor& tokens, int64_t length, CutCount& c) {
  const int64_t n = tokens.size(0), l = tokens.size(1);
  const T* p = tokens.data_ptr<T>();
  for (int64_t i = 0; i < n; ++i) {
    const T* row = p + i * l;
    int64_t end = l;  // one past the last real token
    while (end > length && row[end - 1] == 0) --end;
    if (end > length) ++c.cut, c.longest = std::max(c.longest, end);
  }
  c.total += n;
}

void count_cut_matrix(const torch::Tensor& tokens, int64_t length, CutCount& c) {
  const auto t = tokens.contiguous();
  switch (t.scalar_type()) {
    case torch::kUInt8:
      return count_cut_rows<uint8_t>(t, length, c);
    case torch::kInt16:
      return count_cut_rows<int16_t>(t, length, c);
    case torch::kInt32:
      return count_cut_rows<int32_t>(t, length, c);
    case torch::kInt64:
      return count_cut_rows<int64_t>(t, length, c);
    default:
      TORCH_CHECK(false, "unsupported token dtype ", t.scalar_type());
  }
}

// "1,234,567": counts in warnings are read by people.
std::string grouped(int64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// A shorter data.max_length than the prepared one is a legitimate choice (the peers cut long
// documents too), but the cut must not pass unnoticed: one warning per split that loses tokens.
void warn_cut(const TaskData& data, int64_t length) {
  for (const Split* split : {&data.train, &data.val, &data.test}) {
    const CutCount c = count_cut(*split, length);
    if (c.cut == 0) continue;
    log::warn("data.max_length " + grouped(length) + " cuts " + grouped(c.cut) + " of " +
              grouped(c.total) + " " + split->name + " sequences (their real tokens run to " +
              grouped(c.longest) + "); raise data.max_length (up to the prepared " +
              grouped(data.max_length) + ") to keep them");
  }
}

// Keeps the first `length` tokens of every sequence (the way the peers cut long documents).
void truncate_sequences(TaskData& data, int64_t length) {
  warn_cut(data, length);
  for (Split* split : {&data.train, &data.val, &data.test}) {
    split->tokens = split->tokens.narrow(1, 0, length).contiguous();
    if (split->tokens2.defined()) split->tokens2 = split->tokens2.narrow(1, 0, length).contiguous();
  }
  data.max_length = length;
}

}  // namespace

CutCount count_cut(const Split& split, int64_t length) {
  CutCount c;
  count_cut_matrix(split.tokens, length, c);
  if (split.tokens2.defined()) count_cut_matrix(split.tokens2, length, c);
  return c;
}

torch::Tensor pad_tokens(const std::vector<std::vector<uint8_t>>& sequences, int64_t max_length) {
  const auto n = static_cast<int64_t>(sequences.size());
  auto out = torch::zeros({n, max_length}, torch::kUInt8);  // (N, L)
  auto* dst = out.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& seq = sequences[static_cast<size_t>(i)];
    if (static_cast<int64_t>(seq.size()) > max_length)
      throw std::invalid_argument(
          "sequence " + std::to_string(i) + " has " + std::to_string(seq.size()) +
          " tokens, more than data.max_length " + std::to_string(max_length));
    std::copy(seq.begin(), seq.end(), dst + i * max_length);
  }
  return out;
}

namespace {

// The cached generated set of a synthetic pathfinder / pathx config, generated on first use.
std::string generated_pathfinder_dir(const Config& config) {
  int last_tenth = -1;
  raw::Progress progress = [&](const std::string& stage, int64_t done, int64_t total) {
    const int tenth = static_cast<int>(10 * done / total);
    if (tenth == last_tenth) return;
    last_tenth = tenth;
    log::info(log::format("%s: %lld/%lld images", stage.c_str(), static_cast<long long>(done),
                          static_cast<long long>(total)));
  };
  return pathfinder::cached_set(config, progress);
}

}  // namespace

TaskData load_task_data(const Config& config) {
  if (config.data.source == "synthetic" && config.task == "listops")
    return synthetic_listops(config);
  const std::string dir =
      config.data.source == "synthetic" ? generated_pathfinder_dir(config) : config.data.dir;
  TaskData data = load_prepared(dir);
  if (data.task != config.task)
    throw std::invalid_argument("task: the config says " + config.task + " but " + dir + " holds " +
                                data.task + " data; set task: " + data.task +
                                " or point data.dir at a " + config.task + " folder");
  if (config.data.max_length > data.max_length)
    throw std::invalid_argument("data.max_length: " + std::to_string(config.data.max_length) +
                                " is longer than the prepared " + std::to_string(data.max_length) +
                                " of " + dir +
                                "; lower it or prepare again with a longer --max-length");
  if (config.data.max_length < data.max_length) truncate_sequences(data, config.data.max_length);
  return data;
}

namespace {

// Rows of a (N, L) token matrix widened to int64 by a plain loop: the prefetch thread must not
// start an OpenMP team of its own beside the training thread's.
template <class T>
torch::Tensor gather_rows(const torch::Tensor& tokens, const std::vector<int64_t>& indices) {
  const int64_t L = tokens.size(1);
  auto out = torch::empty({static_cast<int64_t>(indices.size()), L}, torch::kInt64);  // (B, L)
  const T* src = tokens.data_ptr<T>();
  int64_t* dst = out.data_ptr<int64_t>();
  for (size_t i = 0; i < indices.size(); ++i) {
    const T* row = src + indices[i] * L;
    std::copy(row, row + L, dst + static_cast<int64_t>(i) * L);
  }
  return out;
}

torch::Tensor gather_tokens(const torch::Tensor& tokens, const std::vector<int64_t>& indices) {
  TORCH_CHECK(tokens.is_contiguous() && tokens.dim() == 2,
              "token matrix must be contiguous (N, L)");
  switch (tokens.scalar_type()) {
    case torch::kUInt8:
      return gather_rows<uint8_t>(tokens, indices);
    case torch::kInt16:
      return gather_rows<int16_t>(tokens, indices);
    case torch::kInt32:
      return gather_rows<int32_t>(tokens, indices);
    case torch::kInt64:
      return gather_rows<int64_t>(tokens, indices);
    default:
      TORCH_CHECK(false, "unsupported token dtype ", tokens.scalar_type());
  }
}

}  // namespace

Batch gather_batch(const Split& split, const std::vector<int64_t>& indices) {
  Batch b;
  b.indices = indices;
  b.tokens = gather_tokens(split.tokens, indices);
  if (split.tokens2.defined()) b.tokens2 = gather_tokens(split.tokens2, indices);
  b.labels = torch::empty({static_cast<int64_t>(indices.size())}, torch::kInt64);  // (B,)
  const int64_t* labels = split.labels.data_ptr<int64_t>();
  for (size_t i = 0; i < indices.size(); ++i) b.labels.data_ptr<int64_t>()[i] = labels[indices[i]];
  return b;
}

std::pair<int64_t, double> majority_class(const Split& split, int64_t num_classes) {
  auto counts = torch::bincount(split.labels, {}, num_classes);
  const int64_t best = counts.argmax().item<int64_t>();
  return {best, counts[best].item<double>() / static_cast<double>(split.size())};
}

}  // namespace lra
