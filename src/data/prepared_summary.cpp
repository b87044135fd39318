#include "data/prepared_summary.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <torch/torch.h>

namespace lra::prepare {
namespace {

// (N,) lengths: index after the last non-pad id of each row, computed in row chunks.
torch::Tensor summary_row_lengths(const torch::Tensor& tokens) {
  const int64_t l = tokens.size(1);
  auto pos = torch::arange(1, l + 1, torch::kInt32);  // (L,)
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < tokens.size(0); b += 4096) {
    auto chunk = tokens.slice(0, b, std::min(b + 4096, tokens.size(0)));  // (C, L)
    parts.push_back((chunk.ne(0).to(torch::kInt32) * pos).amax(1));       // (C,)
  }
  return torch::cat(parts);
}

void print_class_balance(const Split& s, int64_t num_classes) {
  std::printf("  %-5s %8lld examples; classes:", s.name.c_str(), static_cast<long long>(s.size()));
  auto counts = torch::bincount(s.labels, {}, num_classes);  // (C,)
  for (int64_t c = 0; c < num_classes; ++c)
    std::printf(" %lld:%.1f%%", static_cast<long long>(c),
                100.0 * counts[c].item<int64_t>() / static_cast<double>(s.size()));
  std::printf("\n");
}

// Both documents of a retrieval pair count as lengths.
void print_length_histogram(const Split& s, int64_t max_length) {
  auto lengths = summary_row_lengths(s.tokens);  // (N,)
  if (s.tokens2.defined()) lengths = torch::cat({lengths, summary_row_lengths(s.tokens2)});
  const int64_t bins = 8, width = (max_length + bins - 1) / bins;
  auto bin = lengths.sub(1).clamp_min(0).div(width, "floor").clamp_max(bins - 1).to(torch::kInt64);
  auto h = torch::bincount(bin, {}, bins);  // (8,)
  std::printf("        lengths: mean %.1f, min %d, max %d; histogram",
              lengths.to(torch::kFloat64).mean().item<double>(), lengths.min().item<int>(),
              lengths.max().item<int>());
  for (int64_t b = 0; b < bins; ++b)
    std::printf(" [%lld,%lld]:%lld", static_cast<long long>(b * width + 1),
                static_cast<long long>(std::min((b + 1) * width, max_length)),
                static_cast<long long>(h[b].item<int64_t>()));
  std::printf("\n");
}

}  // namespace

void print_prepared_summary(const TaskData& d, const std::string& out, double read_seconds,
                            double write_seconds) {
  std::printf("\n%s: vocab %lld, classes %lld, max_length %lld\n", d.task.c_str(),
              static_cast<long long>(d.vocab_size), static_cast<long long>(d.num_classes),
              static_cast<long long>(d.max_length));
  for (const Split* s : {&d.train, &d.val, &d.test}) {
    print_class_balance(*s, d.num_classes);
    print_length_histogram(*s, d.max_length);
  }
  uintmax_t bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(out))
    if (e.is_regular_file()) bytes += e.file_size();
  std::printf("  output: %s (%s), read %.2f s, write %.2f s, total %.2f s\n", out.c_str(),
              human_bytes(static_cast<double>(bytes)).c_str(), read_seconds, write_seconds,
              read_seconds + write_seconds);
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

}  // namespace lra::prepare
