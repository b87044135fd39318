#include "bench/attention_bench.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "attention/attention.h"
#include "attention/registry.h"
#include "bench/bench_math.h"
#include "config/config.h"
#include "config/schema.h"
#include "model/transformer.h"
#include "train/device.h"
#include "train/system_info.h"
#include "train/utilisation.h"
#include "util/format.h"

namespace lra::bench {
namespace {

using Clock = std::chrono::steady_clock;

// "<exact backend>_reference": that backend's plain reference formula (registry.h), run as a
// backend to show what its fast path buys.
const std::string kReferenceSuffix = "_reference";

bool is_reference(const std::string& backend) {
  return backend.size() > kReferenceSuffix.size() &&
         backend.compare(backend.size() - kReferenceSuffix.size(), std::string::npos,
                         kReferenceSuffix) == 0;
}

// The registered backend a case runs: softmax for softmax_reference.
std::string registered_name(const std::string& backend) {
  return is_reference(backend) ? backend.substr(0, backend.size() - kReferenceSuffix.size())
                               : backend;
}

bool is_quadratic(const std::string& backend) {
  return attention_backend(registered_name(backend)).cost == AttentionCost::kQuadratic;
}

class ReferenceAttention : public AttentionBackend {
 public:
  explicit ReferenceAttention(AttentionConfig config)
      : config_(std::move(config)), reference_(attention_implementation(config_.type).reference) {}
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    return reference_(q, k, v, key_mask, config_);
  }

 private:
  AttentionConfig config_;
  decltype(BackendImplementation::reference) reference_;
};

// kB value of a "Name:  123 kB" line of /proc/self/status (0 where unavailable).
double proc_status_mib(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  return 0.0;
}

// Peak-memory probe: CPU = growth of the resident set over its value at start() (the kernel's
// high-water mark is reset through /proc/self/clear_refs); CUDA = allocator peak since start().
class MemoryProbe {
 public:
  explicit MemoryProbe(const torch::Device& device) : device_(device) {}
  void start() {
    if (device_.is_cuda()) {
      reset_cuda_peak(device_);
      return;
    }
    // Hand freed heap memory back first, so that the case's own allocations show up as growth
    // instead of reusing pages an earlier case left resident.
    malloc_trim(0);
    baseline_ = proc_status_mib("VmRSS");
    std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
  }
  double peak_mib() const {
    if (device_.is_cuda()) return cuda_peak_allocated_mib(device_);
    return std::max(0.0, proc_status_mib("VmHWM") - baseline_);
  }

 private:
  torch::Device device_;
  double baseline_ = 0.0;
};

double time_ms(const std::function<void()>& fn, const torch::Device& device) {
  synchronize(device);
  const auto start = Clock::now();
  fn();
  synchronize(device);
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// GFLOP/s of a large float32 matmul: what this machine's BLAS reaches on well-shaped products,
// the yardstick for the attention rates.
double matmul_gflops(const torch::Device& device) {
  return measure_matmul_gflops(device, 2048, 7);
}

struct Case {
  Case(std::string b, std::string s, std::string p, int64_t l)
      : backend(std::move(b)), scope(std::move(s)), pass(std::move(p)), length(l) {}
  std::string backend, scope, pass;
  int64_t length = 0;
  std::string status = "ok";  // ok | time cap | memory cap | out of memory | n/a | error: ...
  Summary ms;
  int64_t runs = 0;
  double peak_mib = 0.0;
  double flops = 0.0;
  bool ok() const { return status == "ok"; }
};

// The --config's attention settings (or the defaults) for this backend, with the shape flags.
AttentionConfig attention_config(const AttentionBenchOptions& o, const std::string& backend) {
  AttentionConfig c = o.config.empty() ? AttentionConfig{} : load_config(o.config).attention;
  c = with_backend(c, registered_name(backend));
  const BackendSpec& spec = attention_backend(c.type);
  // -m sizes every approximation: features, Nystromformer landmarks, Linformer's k.
  if (spec.reads_key("features")) c.features = o.features;
  if (spec.reads_key("num_landmarks")) c.num_landmarks = o.features;
  if (spec.reads_key("linformer_k")) c.linformer_k = o.features;
  if (spec.reads_key("kernel")) c.kernel = o.kernel;
  c.causal = false;
  return c;
}

// FLOPs of one run: forward, plus backward when it is timed.
double run_flops(const std::string& backend, const AttentionShape& shape,
                 const AttentionBackend& instance, bool backward) {
  const FlopCount count = attention_implementation(registered_name(backend)).flops(shape, instance);
  return count.forward + (backward ? count.backward : 0.0);
}

// The closure one run of a case executes, plus what its FLOP count needs.
struct Workload {
  std::function<void()> run;
  double flops = 0.0;
  std::shared_ptr<torch::nn::Module> keep_alive;
};

// (B, L) float mask whose last floor(L x padded_fraction) keys of every row are padding.
torch::Tensor bench_mask(const AttentionBenchOptions& o, int64_t L, const torch::Device& device) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto mask = torch::ones({o.batch, L}, opts);  // (B, L)
  const int64_t padded = static_cast<int64_t>(static_cast<double>(L) * o.padded_fraction);
  if (padded > 0) mask.narrow(1, L - padded, padded).zero_();
  return mask;
}

// One attention layer on random q, k, v.
Workload attention_workload(const AttentionBenchOptions& o, const std::string& backend,
                            bool backward, int64_t L, const torch::Device& device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234 + static_cast<uint64_t>(L));
  auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  const int64_t B = o.batch, H = o.heads, d = o.head_dim;
  auto mask = bench_mask(o, L, device);
  AttentionPtr attention;
  if (is_reference(backend)) {
    attention = std::make_shared<ReferenceAttention>(attention_config(o, backend));
  } else {
    AttentionContext context{H, d, o.attention_dropout, 1, ExecutionOptions{o.chunk_rows}};
    context.max_length = L;
    attention = make_attention(attention_config(o, backend), context);
  }
  attention->to(device);
  attention->train(o.attention_dropout > 0.0);  // training mode only to apply the dropout
  Workload w;
  w.flops = run_flops(backend, AttentionShape{B, H, L, d, o.features}, *attention, backward);
  w.keep_alive = attention;
  std::vector<torch::Tensor> qkv;  // (B, H, L, d) each
  for (int i = 0; i < 3; ++i)
    qkv.push_back(torch::randn({B, H, L, d}, gen, opts).to(device).requires_grad_(backward));
  auto grad_out = torch::randn({B, H, L, d}, gen, opts).to(device);
  if (!backward) {
    w.run = [attention, qkv, mask] {
      c10::InferenceMode inference;
      attention->forward(qkv[0], qkv[1], qkv[2], mask);
    };
  } else {
    w.run = [attention, qkv, mask, grad_out] {
      for (auto t : qkv) t.mutable_grad().reset();
      attention->forward(qkv[0], qkv[1], qkv[2], mask).backward(grad_out);
    };
  }
  return w;
}

// One encoder block (the --config's model settings, the shape flags) on random input.
Workload block_workload(const AttentionBenchOptions& o, const std::string& backend, bool backward,
                        int64_t L, const torch::Device& device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234 + static_cast<uint64_t>(L));
  auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  const int64_t B = o.batch, dim = o.heads * o.head_dim;
  auto mask = bench_mask(o, L, device);
  ModelConfig model;
  if (!o.config.empty()) model = load_config(o.config).model;
  model.dim = dim;
  model.qkv_dim = 0;
  model.heads = o.heads;
  model.mlp_dim = o.mlp_dim;
  model.dropout = 0.0;
  model.attention_dropout = o.attention_dropout;
  const AttentionConfig attention = attention_config(o, backend);
  EncoderBlock block(model, attention_factory(attention, ExecutionOptions{o.chunk_rows}), L, 1);
  block->to(device);
  block->train(o.attention_dropout > 0.0);
  Workload w;
  const FlopCount count = block->matmul_flops(attention, B, L);
  w.flops = count.forward + (backward ? count.backward : 0.0);
  w.keep_alive = block.ptr();
  auto x = torch::randn({B, L, dim}, gen, opts).to(device).requires_grad_(backward);  // (B,L,dim)
  auto grad_out = torch::randn({B, L, dim}, gen, opts).to(device);
  if (!backward) {
    w.run = [block, x, mask]() mutable {
      c10::InferenceMode inference;
      block->forward(x, mask);
    };
  } else {
    w.run = [block, x, mask, grad_out]() mutable {
      auto input = x;
      input.mutable_grad().reset();
      for (auto& p : block->parameters()) p.mutable_grad().reset();
      block->forward(input, mask).backward(grad_out);
    };
  }
  return w;
}

std::string padding_line(const AttentionBenchOptions& o) {
  if (o.padded_fraction <= 0.0) return "every token real";
  return "last " + fixed(100.0 * o.padded_fraction, 1) + "% of each sequence padded";
}

bool is_out_of_memory(const std::exception& e) {
  const std::string what = e.what();
  return what.find("out of memory") != std::string::npos ||
         what.find("not enough memory") != std::string::npos ||
         what.find("Out of memory") != std::string::npos || dynamic_cast<const std::bad_alloc*>(&e);
}

std::string short_error(const std::exception& e) {
  std::string what = e.what();
  what = what.substr(0, what.find('\n'));
  return what.size() > 120 ? what.substr(0, 117) + "..." : what;
}

// Warm-up runs, then up to `repeats` timed runs, fewer when they would exceed the time cap.
Case measure_case(const AttentionBenchOptions& o, const std::string& backend,
                  const std::string& scope, const std::string& pass, int64_t L,
                  const torch::Device& device) {
  Case c{backend, scope, pass, L};
  try {
    const bool backward = pass == "forward+backward";
    auto w = scope == "attention" ? attention_workload(o, backend, backward, L, device)
                                  : block_workload(o, backend, backward, L, device);
    c.flops = w.flops;
    MemoryProbe memory(device);
    memory.start();
    double first = 0.0;
    for (int64_t i = 0; i < std::max<int64_t>(o.warmup, 1); ++i) first = time_ms(w.run, device);
    if (first > o.time_cap_s * 1e3) {
      c.status = "time cap";
      c.ms = summarize({first});
      c.runs = 1;
      c.peak_mib = memory.peak_mib();
      return c;
    }
    const int64_t affordable = static_cast<int64_t>(o.time_cap_s * 1e3 / std::max(first, 1e-3));
    const int64_t runs = std::clamp<int64_t>(affordable, 1, o.repeats);
    std::vector<double> ms;
    for (int64_t i = 0; i < runs; ++i) ms.push_back(time_ms(w.run, device));
    c.ms = summarize(ms);
    c.runs = runs;
    c.peak_mib = memory.peak_mib();
  } catch (const std::exception& e) {
    c.status = is_out_of_memory(e) ? "out of memory" : "error: " + short_error(e);
  }
  return c;
}

std::string milliseconds(double ms) {
  return fixed(ms, ms < 10 ? 2 : ms < 100 ? 1 : 0);
}

// Derived numbers of one ok case against the others of its scope and pass.
struct Derived {
  double gflops = 0.0, percent_of_matmul = 0.0;
  double vs_softmax = 0.0, vs_kernelized = 0.0, growth = 0.0;  // 0 = not available
};

const Case* find_case(const std::vector<Case>& cases, const std::string& backend,
                      const std::string& scope, const std::string& pass, int64_t L) {
  for (const auto& c : cases)
    if (c.backend == backend && c.scope == scope && c.pass == pass && c.length == L && c.ok())
      return &c;
  return nullptr;
}

Derived derive(const std::vector<Case>& cases, const Case& c, double matmul) {
  Derived d;
  if (!c.ok() || c.ms.median <= 0) return d;
  d.gflops = c.flops / (c.ms.median * 1e-3) / 1e9;
  d.percent_of_matmul = 100.0 * d.gflops / matmul;
  if (auto s = find_case(cases, "softmax", c.scope, c.pass, c.length))
    d.vs_softmax = s->ms.median / c.ms.median;
  if (auto k = find_case(cases, "kernelized", c.scope, c.pass, c.length))
    d.vs_kernelized = k->ms.median / c.ms.median;
  if (c.length % 2 == 0)
    if (auto half = find_case(cases, c.backend, c.scope, c.pass, c.length / 2))
      d.growth = c.ms.median / half->ms.median;
  return d;
}

std::string ratio(double x) {
  return x > 0 ? fixed(x, x < 10 ? 2 : 1) + "x" : "—";
}

std::string markdown(const AttentionBenchOptions& o, const std::vector<Case>& cases,
                     double matmul) {
  std::ostringstream md;
  // Summary: median ms of every backend by length, for each scope and pass.
  for (const auto& scope : o.scopes)
    for (const auto& pass : o.passes) {
      md << "\n#### " << (scope == "attention" ? "one attention layer" : "one encoder block")
         << ", " << pass << ": median ms\n\n| backend |";
      for (auto L : o.lengths) md << " L=" << L << " |";
      md << "\n|---|";
      for (size_t i = 0; i < o.lengths.size(); ++i) md << "---:|";
      md << "\n";
      for (const auto& b : o.backends) {
        md << "| " << b << " |";
        for (auto L : o.lengths) {
          const Case* hit = nullptr;
          for (const auto& c : cases)
            if (c.backend == b && c.scope == scope && c.pass == pass && c.length == L) hit = &c;
          md << " "
             << (!hit        ? "—"
                 : hit->ok() ? milliseconds(hit->ms.median)
                             : hit->status)
             << " |";
        }
        md << "\n";
      }
    }
  md << "\n#### Details\n\n| scope | pass | backend | L | median ms | min–max ms | runs | peak MiB "
        "| "
        "GFLOP | GFLOP/s | % of matmul | vs softmax | vs kernelized | t(L)/t(L/2) |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& c : cases) {
    md << "| " << c.scope << " | " << c.pass << " | " << c.backend << " | " << c.length << " | ";
    if (!c.ok()) {
      md << c.status << (c.runs > 0 ? " (one run " + milliseconds(c.ms.median) + " ms)" : "")
         << " | | | | | | | | | |\n";
      continue;
    }
    const Derived d = derive(cases, c, matmul);
    md << milliseconds(c.ms.median) << " | " << milliseconds(c.ms.min) << "–"
       << milliseconds(c.ms.max) << " | " << c.runs << " | " << fixed(c.peak_mib, 0) << " | "
       << fixed(c.flops / 1e9, 2) << " | " << fixed(d.gflops, 1) << " | "
       << fixed(d.percent_of_matmul, 1) << "% | " << ratio(d.vs_softmax) << " | "
       << ratio(d.vs_kernelized) << " | " << (d.growth > 0 ? fixed(d.growth, 2) : "—") << " |\n";
  }
  return md.str();
}

std::string utc_date() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return buf;
}

}  // namespace

std::string machine_line(int64_t threads) {
  std::ostringstream s;
  s << device_name(torch::Device(torch::kCPU)) << ", " << std::thread::hardware_concurrency()
    << " cores, " << threads << " LibTorch threads, LibTorch " << libtorch_version() << ", "
    << utc_date();
  return s.str();
}

namespace {

// Why a case need not run: the time or memory cap its backend's previous (and earlier) lengths
// predict for it; empty when it should run.
std::string predicted_cap(const AttentionBenchOptions& o, const std::string& backend, int64_t L,
                          const Case& previous, const Case* earlier) {
  const double r = static_cast<double>(L) / static_cast<double>(previous.length);
  const double time_growth = is_quadratic(backend) ? r * r : r;
  double memory_growth = time_growth;
  if (earlier && earlier->ok() && earlier->peak_mib > 1.0 && previous.peak_mib > 1.0)
    memory_growth = std::pow(previous.peak_mib / earlier->peak_mib,
                             std::log(r) / std::log(static_cast<double>(previous.length) /
                                                    static_cast<double>(earlier->length)));
  if (previous.ms.median * time_growth > o.time_cap_s * 1e3) return "time cap";
  if (previous.peak_mib * std::max(memory_growth, 1.0) > o.memory_cap_mib) return "memory cap";
  return "";
}

// Every length of one backend, scope and pass, shortest first; after a length fails or hits a
// cap, the longer ones are not run and carry why.
std::vector<Case> measure_series(const AttentionBenchOptions& o, const std::string& backend,
                                 const std::string& scope, const std::string& pass,
                                 const torch::Device& device) {
  std::vector<Case> series;
  std::string stop;  // why this backend stopped at a shorter length
  for (auto L : o.lengths) {
    Case c{backend, scope, pass, L};
    const Case* previous = series.empty() ? nullptr : &series.back();
    const Case* earlier = series.size() < 2 ? nullptr : &series[series.size() - 2];
    if (scope == "block" && is_reference(backend)) {
      c.status = "n/a";
    } else if (!stop.empty()) {
      c.status = stop;
    } else if (previous && previous->ok()) {
      // Predict this length from the previous ones before paying for it.
      const std::string cap = predicted_cap(o, backend, L, *previous, earlier);
      if (!cap.empty()) c.status = cap;
    }
    if (c.status == "ok") {
      c = measure_case(o, backend, scope, pass, L, device);
      std::cerr << scope << " " << pass << " " << backend << " L=" << L << ": "
                << (c.ok()
                        ? milliseconds(c.ms.median) + " ms, peak " + fixed(c.peak_mib, 0) + " MiB"
                        : c.status)
                << "\n";
    }
    if (!c.ok() && c.status != "n/a" && stop.empty())
      stop = c.status.rfind("error", 0) == 0 ? "error" : c.status;
    series.push_back(c);
  }
  return series;
}

std::string header(const AttentionBenchOptions& o, int64_t threads, const torch::Device& device,
                   double matmul_start, double matmul_end) {
  std::ostringstream head;
  head << "lra_bench attention: batch " << o.batch << ", heads " << o.heads << ", head_dim "
       << o.head_dim << ", features " << o.features << ", mlp_dim " << o.mlp_dim << ", kernel "
       << o.kernel << ", float32, " << padding_line(o) << ", attention dropout "
       << o.attention_dropout << ", device " << o.device << "\n"
       << "machine: " << machine_line(threads) << "\n"
       << "large matmul (2048 x 2048 x 2048, float32): " << fixed(matmul_start, 1)
       << " GFLOP/s at start, " << fixed(matmul_end, 1)
       << " GFLOP/s at end; % of matmul uses the higher\n"
       << "warm-up " << o.warmup << ", up to " << o.repeats << " timed runs per case, time cap "
       << o.time_cap_s << " s per run, memory cap " << o.memory_cap_mib
       << " MiB; peak = " << (device.is_cuda() ? "CUDA allocator peak" : "RSS growth over the case")
       << "; GFLOP = matmul FLOPs of the algorithm (each backend's registered flops, "
          "src/attention/backends/*.cpp and src/attention/flop_count.cpp; a block adds its "
          "linear layers, src/model/transformer.cpp)\n";
  return head.str();
}

nlohmann::ordered_json case_json(const std::vector<Case>& cases, const Case& c, double matmul) {
  nlohmann::ordered_json e = {{"backend", c.backend}, {"scope", c.scope},   {"pass", c.pass},
                              {"length", c.length},   {"status", c.status}, {"runs", c.runs}};
  if (!c.ok()) return e;
  const Derived d = derive(cases, c, matmul);
  e["ms"] = {
      {"median", c.ms.median}, {"min", c.ms.min}, {"max", c.ms.max}, {"spread", c.ms.spread}};
  e["peak_mib"] = c.peak_mib;
  e["gflop"] = c.flops / 1e9;
  e["gflops"] = d.gflops;
  e["percent_of_matmul"] = d.percent_of_matmul;
  e["speedup_vs_softmax"] = d.vs_softmax > 0 ? nlohmann::ordered_json(d.vs_softmax) : nullptr;
  e["speedup_vs_kernelized"] =
      d.vs_kernelized > 0 ? nlohmann::ordered_json(d.vs_kernelized) : nullptr;
  e["growth_vs_half_length"] = d.growth > 0 ? nlohmann::ordered_json(d.growth) : nullptr;
  return e;
}

nlohmann::ordered_json results_json(const AttentionBenchOptions& o, int64_t threads,
                                    const std::vector<Case>& cases, double matmul_start,
                                    double matmul_end) {
  nlohmann::ordered_json j;
  j["machine"] = machine_line(threads);
  j["device"] = o.device;
  j["threads"] = threads;
  j["shape"] = {{"batch", o.batch},
                {"heads", o.heads},
                {"head_dim", o.head_dim},
                {"features", o.features},
                {"mlp_dim", o.mlp_dim},
                {"kernel", o.kernel},
                {"padded_fraction", o.padded_fraction},
                {"attention_dropout", o.attention_dropout}};
  j["matmul_gflops"] = {{"start", matmul_start}, {"end", matmul_end}};
  j["cases"] = nlohmann::ordered_json::array();
  const double matmul = std::max(matmul_start, matmul_end);
  for (const auto& c : cases) j["cases"].push_back(case_json(cases, c, matmul));
  return j;
}

}  // namespace

int run_attention_bench(const AttentionBenchOptions& o) {
  const int threads = apply_thread_count(o.threads);
  torch::Device device(torch::kCPU);
  try {
    device = pick_device(o.device);
  } catch (const std::exception& e) {
    std::cerr << "lra_bench attention: " << e.what() << "\n";
    return 1;
  }
  torch::manual_seed(1);
  const double matmul_start = matmul_gflops(device);
  std::cerr << "matmul 2048^3 float32: " << fixed(matmul_start, 1) << " GFLOP/s\n";
  std::vector<Case> cases;
  for (const auto& backend : o.backends)
    for (const auto& scope : o.scopes)
      for (const auto& pass : o.passes)
        for (auto& c : measure_series(o, backend, scope, pass, device)) cases.push_back(c);
  const double matmul_end = matmul_gflops(device);

  const std::string head = header(o, threads, device, matmul_start, matmul_end);
  const std::string tables = markdown(o, cases, std::max(matmul_start, matmul_end));
  std::cout << head << tables;
  if (!o.markdown.empty()) std::ofstream(o.markdown) << head << tables;
  if (!o.json.empty())
    std::ofstream(o.json) << results_json(o, threads, cases, matmul_start, matmul_end).dump(2)
                          << "\n";
  return 0;
}

}  // namespace lra::bench
