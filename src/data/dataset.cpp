#include "data/dataset.h"

#include <algorithm>
#include <stdexcept>

#include <torch/torch.h>

#include "data/prepared.h"
#include "data/task_registry.h"
#include "util/log.h"

namespace lra {
namespace {

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

// data.source: synthetic: what the task's generator makes of `config`.
TaskData generate_task_data(const Config& config, std::string& source) {
  const TaskGeneratorFunction generate = task_implementation(config.task).generate;
  if (!generate)
    throw std::invalid_argument("data.source: synthetic data exists for tasks " +
                                generated_task_list() + "; for " + config.task +
                                " prepare files with lra_prepare and set data.source: files and "
                                "data.dir");
  return generate(config, source);
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

TaskData load_task_data(const Config& config) {
  std::string dir = config.data.dir;
  TaskData data =
      config.data.source == "synthetic" ? generate_task_data(config, dir) : load_prepared(dir);
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
