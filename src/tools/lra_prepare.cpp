// lra_prepare: turns the raw LRA files (release archive, IMDB, CIFAR-10, IDX) into the prepared
// format that lra_train reads (docs/data.md), one subcommand per task.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "config/config.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "data/pathfinder_set.h"
#include "data/prepared.h"
#include "data/raw/aan_tsv.h"
#include "data/raw/image.h"
#include "data/raw/imdb.h"
#include "data/raw/listops_tsv.h"
#include "data/raw/pathfinder.h"
#include "util/file_tree.h"
#include "util/signals.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> g_stop{false};
void on_stop_signal(int) {
  g_stop = true;
}

// A bar redrawn in place on a terminal; on a pipe or file, one line per 25% or 30 s.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO)) {}

  void operator()(const std::string& stage, int64_t done, int64_t total) {
    if (quiet_ || total <= 0) return;
    const auto now = Clock::now();
    const int pct = static_cast<int>(100 * done / total);
    const bool finished = done >= total;
    if (stage != stage_) {
      if (tty_ && !stage_.empty() && !line_done_) std::fputc('\n', stderr);
      stage_ = stage, last_pct_ = -100, line_done_ = false;
      last_ = now - std::chrono::hours(1);
    }
    if (line_done_) return;
    if (tty_) {
      if (!finished && now - last_ < std::chrono::milliseconds(100)) return;
      const int width = 30, fill = width * pct / 100;
      std::fprintf(stderr, "\r%-40.40s [%s%s] %3d%% %lld/%lld", short_name(stage).c_str(),
                   std::string(fill, '#').c_str(), std::string(width - fill, '.').c_str(), pct,
                   static_cast<long long>(done), static_cast<long long>(total));
      if (finished) std::fputc('\n', stderr), line_done_ = true;
    } else {
      if (!finished && pct < last_pct_ + 25 && now - last_ < std::chrono::seconds(30)) return;
      std::fprintf(stderr, "%s: %d%% (%lld/%lld)\n", stage.c_str(), pct,
                   static_cast<long long>(done), static_cast<long long>(total));
      last_pct_ = pct;
      line_done_ = finished;
    }
    std::fflush(stderr);
    last_ = now;
  }

 private:
  static std::string short_name(const std::string& s) {
    return s.size() <= 40 ? s : "..." + s.substr(s.size() - 37);
  }
  bool quiet_, tty_;
  std::string stage_;
  int last_pct_ = -100;
  bool line_done_ = false;
  Clock::time_point last_{};
};

// (N,) lengths: index after the last non-pad id of each row, computed in row chunks.
torch::Tensor row_lengths(const torch::Tensor& tokens) {
  const int64_t l = tokens.size(1);
  auto pos = torch::arange(1, l + 1, torch::kInt32);  // (L,)
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < tokens.size(0); b += 4096) {
    auto chunk = tokens.slice(0, b, std::min(b + 4096, tokens.size(0)));  // (C, L)
    parts.push_back((chunk.ne(0).to(torch::kInt32) * pos).amax(1));       // (C,)
  }
  return torch::cat(parts);
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

void print_summary(const lra::TaskData& d, const std::string& out, double read_s, double write_s) {
  std::printf("\n%s: vocab %lld, classes %lld, max_length %lld\n", d.task.c_str(),
              static_cast<long long>(d.vocab_size), static_cast<long long>(d.num_classes),
              static_cast<long long>(d.max_length));
  for (const lra::Split* s : {&d.train, &d.val, &d.test}) {
    std::printf("  %-5s %8lld examples; classes:", s->name.c_str(),
                static_cast<long long>(s->size()));
    auto counts = torch::bincount(s->labels, {}, d.num_classes);
    for (int64_t c = 0; c < d.num_classes; ++c)
      std::printf(" %lld:%.1f%%", static_cast<long long>(c),
                  100.0 * counts[c].item<int64_t>() / static_cast<double>(s->size()));
    std::printf("\n");
    auto lengths = row_lengths(s->tokens);
    if (s->tokens2.defined()) lengths = torch::cat({lengths, row_lengths(s->tokens2)});
    const int64_t bins = 8, width = (d.max_length + bins - 1) / bins;
    auto hist =
        lengths.sub(1).clamp_min(0).div(width, "floor").clamp_max(bins - 1).to(torch::kInt64);
    auto h = torch::bincount(hist, {}, bins);
    std::printf("        lengths: mean %.1f, min %d, max %d; histogram",
                lengths.to(torch::kFloat64).mean().item<double>(), lengths.min().item<int>(),
                lengths.max().item<int>());
    for (int64_t b = 0; b < bins; ++b)
      std::printf(" [%lld,%lld]:%lld", static_cast<long long>(b * width + 1),
                  static_cast<long long>(std::min((b + 1) * width, d.max_length)),
                  static_cast<long long>(h[b].item<int64_t>()));
    std::printf("\n");
  }
  uintmax_t bytes = 0;
  for (const auto& e : fs::directory_iterator(out))
    if (e.is_regular_file()) bytes += e.file_size();
  std::printf("  output: %s (%s), read %.2f s, write %.2f s, total %.2f s\n", out.c_str(),
              human_bytes(static_cast<double>(bytes)).c_str(), read_s, write_s, read_s + write_s);
}

// Command-line flags of the generator, applied over the preset they select.
struct GenerateFlags {
  bool on = false;
  int resolution = 0;  // 0 = the subcommand's (pathfinder 32, pathx 128)
  int64_t images = 200000;
  std::vector<std::string> params;
  std::string raw_out;
  int64_t batch_size = 1000;
  int threads = 0;
};

int generate_set(const std::string& task, const lra::raw::PathfinderOptions& pf,
                 const GenerateFlags& g, const std::string& out, bool quiet,
                 lra::raw::Progress progress) {
  lra::pathfinder::SetOptions o =
      lra::pathfinder::preset_options(task, g.resolution, pf.difficulty, g.params);
  o.images = g.images;
  o.seed = pf.seed;
  o.pixel_offset = pf.pixel_offset;
  o.threads = g.threads;
  o.raw_dir = g.raw_out;
  o.batch_size = g.batch_size;
  const auto t0 = Clock::now();
  lra::pathfinder::write_set(o, out, progress, &g_stop);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!quiet) {
    std::printf(
        "\n%s: %lld generated %dx%d images (%s, seed %llu) in %.1f s, %.0f images/s on "
        "%d threads\n  output: %s (%s)\n",
        task.c_str(), static_cast<long long>(o.images), o.params.window, o.params.window,
        o.difficulty.c_str(), static_cast<unsigned long long>(o.seed), s,
        static_cast<double>(o.images) / s, lra::pathfinder::generator_threads(o.threads),
        out.c_str(), human_bytes(static_cast<double>(lra::tree_bytes(out))).c_str());
    if (!o.raw_dir.empty())
      std::printf("  raw layout: %s/%s (imgs/<batch>/sample_<i>.png, metadata/<batch>.npy)\n",
                  o.raw_dir.c_str(), o.difficulty.c_str());
  }
  return 0;
}

// The ListOps set lra_train generates for `config_path` (data.source: synthetic).
lra::TaskData generated_listops(const std::string& config_path) {
  const lra::Config config = lra::load_config(config_path);
  if (config.task != "listops" || config.data.source != "synthetic")
    throw std::invalid_argument(config_path +
                                ": --from-config needs task: listops and data.source: synthetic");
  return lra::load_task_data(config);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lra_prepare: raw LRA files -> prepared folders for lra_train (docs/data.md)"};
  app.require_subcommand(1);
  std::string input, out;
  bool quiet = false;
  lra::raw::ListOpsOptions listops;
  lra::raw::TextOptions text;
  lra::raw::RetrievalOptions retrieval;
  lra::raw::ImageOptions image;
  std::string image_format = "cifar";
  lra::raw::PathfinderOptions pathfinder, pathx;

  GenerateFlags gen;
  auto common = [&](CLI::App* sub, const std::string& input_help, bool input_required = true) {
    auto* in = sub->add_option("--input,-i", input, input_help);
    if (input_required) in->required();
    sub->add_option("--out,-o", out, "output folder (created; files in it are replaced)")
        ->required();
    sub->add_flag("--quiet,-q", quiet, "no progress output");
  };
  auto* c_listops = app.add_subcommand(
      "listops", "ListOps from basic_{train,val,test}.tsv, or the set lra_train generates");
  common(c_listops, "folder with basic_{train,val,test}.tsv (lra_release/listops-1000)", false);
  std::string listops_config;
  c_listops
      ->add_option("--from-config", listops_config,
                   "instead of --input: an lra_train config with data.source: synthetic; writes "
                   "the set lra_train generates for it (its seed, data.synthetic.*, "
                   "data.max_length), for another implementation to read")
      ->excludes("--input");
  c_listops
      ->add_option("--tokenization", listops.tokenization,
                   "fixed (official 2021: ']' kept) or peer (all brackets dropped)")
      ->check(CLI::IsMember({"fixed", "peer"}))
      ->capture_default_str();
  c_listops->add_option("--max-length", listops.max_length, "padded length")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  auto* c_text = app.add_subcommand("text", "IMDB byte-level from the aclImdb tree");
  common(c_text, "aclImdb/ (or the folder containing it)");
  c_text->add_option("--max-length", text.max_length, "bytes kept (official config 1000)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c_text->add_option("--seed", text.seed, "order of reviews within a split")->capture_default_str();

  auto* c_ret = app.add_subcommand("retrieval", "AAN from new_aan_pairs.{train,eval,test}.tsv");
  common(c_ret, "folder with new_aan_pairs.{train,eval,test}.tsv (lra_release/tsv_data)");
  c_ret->add_option("--max-length", retrieval.max_length, "per document")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c_ret->add_option("--max-bytes", retrieval.max_bytes, "text cut before encoding")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  auto* c_image = app.add_subcommand("image", "CIFAR-10 binary (grayscale) or IDX images");
  common(c_image, "cifar-10-batches-bin/ or a folder of IDX files");
  c_image->add_option("--format", image_format, "cifar or idx")
      ->check(CLI::IsMember({"cifar", "idx"}))
      ->capture_default_str();
  c_image
      ->add_option("--pixel-offset", image.pixel_offset,
                   "0: id = gray (peers, black masked); 1: id = gray + 1")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();

  auto pf_options = [&](CLI::App* sub, lra::raw::PathfinderOptions& o, const std::string& what) {
    common(sub, what + "/ (the folder with the difficulty folders) or one difficulty folder",
           false);
    sub->add_flag("--generate,-g", gen.on,
                  "generate the set with the built-in generator instead of reading --input "
                  "(no download; docs/pathfinder_generator.md)");
    sub->add_option("--images,-n", gen.images, "--generate: images (split 80/10/10)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    sub->add_option("--resolution", gen.resolution,
                    "--generate: preset 32, 64 or 128 (default: pathfinder 32, pathx 128)")
        ->check(CLI::IsMember({32, 64, 128}));
    sub->add_option("--param,-p", gen.params,
                    "--generate: override a preset parameter, key=value (repeatable; lists "
                    "comma separated). Keys (defaults of the 32 hard preset):\n" +
                        lra::pathfinder::param_help());
    sub->add_option("--raw-out", gen.raw_out,
                    "--generate: also write the release layout <dir>/<difficulty>/imgs/<batch>/"
                    "sample_<i>.png + metadata/<batch>.npy");
    sub->add_option("--batch-size", gen.batch_size, "--generate --raw-out: images per batch")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    sub->add_option("--threads,-j", gen.threads, "--generate: threads (0 = all cores)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    sub->add_option("--difficulty", o.difficulty,
                    "curv_baseline | curv_contour_length_9 | curv_contour_length_14")
        ->capture_default_str();
    sub->add_option("--pixel-offset", o.pixel_offset, "0 (peers) or 1")
        ->check(CLI::Range(0, 1))
        ->capture_default_str();
    sub->add_option("--seed", o.seed, "seed of the 80/10/10 split (--generate: and of the images)")
        ->capture_default_str();
    sub->add_option("--max-pixels", o.max_pixels,
                    "refuse a PNG whose header claims more pixels, before decoding it (every "
                    "image of the set is held in memory)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  };
  auto* c_pf =
      app.add_subcommand("pathfinder", "Pathfinder (32x32) from the PNG tree, or --generate");
  pf_options(c_pf, pathfinder, "lra_release/pathfinder32");
  auto* c_px = app.add_subcommand("pathx", "Path-X (128x128) from the PNG tree, or --generate");
  pf_options(c_px, pathx, "lra_release/pathfinder128");

  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(1);

  try {
    ProgressPrinter printer(quiet);
    lra::raw::Progress progress = [&](const std::string& s, int64_t d, int64_t t) {
      printer(s, d, t);
    };
    const std::string cmd = app.get_subcommands().front()->get_name();
    const bool pf_task = cmd == "pathfinder" || cmd == "pathx";
    if (pf_task && gen.on) {
      lra::handle_stop_signals(on_stop_signal);
      return generate_set(cmd, cmd == "pathx" ? pathx : pathfinder, gen, out, quiet, progress);
    }
    if (cmd == "listops" && !listops_config.empty()) {
      lra::write_prepared(out, generated_listops(listops_config),
                          {{"tool", "lra_prepare"}, {"generated_from", listops_config}});
      if (!quiet) std::cout << "wrote " << out << " (generated from " << listops_config << ")\n";
      return 0;
    }
    if (input.empty())
      throw std::invalid_argument(
          "--input is required (or --generate for pathfinder/pathx, --from-config for listops)");
    const auto t0 = Clock::now();
    lra::raw::Prepared p;
    if (cmd == "listops")
      p = lra::raw::prepare_listops(input, listops, progress);
    else if (cmd == "text")
      p = lra::raw::prepare_text(input, text, progress);
    else if (cmd == "retrieval")
      p = lra::raw::prepare_retrieval(input, retrieval, progress);
    else if (cmd == "image" && image_format == "cifar")
      p = lra::raw::prepare_image_cifar(input, image, progress);
    else if (cmd == "image")
      p = lra::raw::prepare_image_idx(input, image, progress);
    else if (cmd == "pathfinder")
      p = lra::raw::prepare_pathfinder(input, "pathfinder", pathfinder, progress);
    else
      p = lra::raw::prepare_pathfinder(input, "pathx", pathx, progress);
    const auto t1 = Clock::now();

    std::string command_line;
    for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
    char when[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    p.meta["tool"] = "lra_prepare";
    p.meta["tool_version"] = lra::raw::tool_version();
    p.meta["command"] = command_line;
    p.meta["created"] = when;
    lra::write_prepared(out, p.data, p.meta);
    const auto t2 = Clock::now();
    const auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
    print_summary(p.data, out, secs(t1 - t0), secs(t2 - t1));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nlra_prepare: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
