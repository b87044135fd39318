#include <filesystem>
#include <stdexcept>

#include <torch/torch.h>

#include "config/tasks.h"
#include "data/raw/image.h"

namespace lra::raw {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kPixels = 1024;
constexpr int64_t kRecord = 1 + 3 * kPixels;  // label byte, then the R, G and B planes

// Appends the records of one batch file as gray rows and labels.
void read_batch(const std::string& path, std::vector<uint8_t>& gray, std::vector<int64_t>& labels,
                const Progress& progress) {
  require_file(path,
               "expected the CIFAR-10 binary version (cifar-10-binary.tar.gz) with "
               "data_batch_{1..5}.bin and test_batch.bin");
  const std::string raw = read_file(path);
  if (raw.empty() || raw.size() % kRecord != 0)
    throw std::runtime_error(path + ": size " + std::to_string(raw.size()) +
                             " is not a positive multiple of " + std::to_string(kRecord) +
                             " (1 label byte + 3072 pixel bytes per image); truncated or not a "
                             "CIFAR-10 binary batch");
  const int64_t n = static_cast<int64_t>(raw.size()) / kRecord;
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* rec = p + i * kRecord;
    if (rec[0] > 9)
      throw std::runtime_error(path + ": image " + std::to_string(i) + " has label " +
                               std::to_string(rec[0]) +
                               " (CIFAR-10 labels are 0-9); is this "
                               "CIFAR-100?");
    labels.push_back(rec[0]);
    for (int64_t k = 0; k < kPixels; ++k)
      gray.push_back(cifar_gray(rec[1 + k], rec[1 + kPixels + k], rec[1 + 2 * kPixels + k]));
  }
  if (progress) progress(path, n, n);
}

}  // namespace

uint8_t cifar_gray(uint8_t r, uint8_t g, uint8_t b) {
  const float scale = static_cast<float>(1. / 255);
  const float y = static_cast<float>(r) * scale * 0.2989f +
                  static_cast<float>(g) * scale * 0.5870f + static_cast<float>(b) * scale * 0.1140f;
  const float v = y * 255.5f;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

void split_train_val(Prepared& p, const torch::Tensor& tokens, const torch::Tensor& labels) {
  const int64_t n = tokens.size(0), n_train = n * 9 / 10;
  if (n_train < 1 || n_train == n)
    throw std::runtime_error("image: " + std::to_string(n) +
                             " training images are too few for a 90/10 train/val split");
  p.data.train = {
      "train", tokens.slice(0, 0, n_train).clone(), {}, labels.slice(0, 0, n_train).clone()};
  p.data.val = {"val", tokens.slice(0, n_train).clone(), {}, labels.slice(0, n_train).clone()};
}

Prepared prepare_image_cifar(const std::string& dir, const ImageOptions& o,
                             const Progress& progress) {
  if (o.pixel_offset != 0 && o.pixel_offset != 1)
    throw std::invalid_argument("pixel_offset must be 0 or 1");
  fs::path root(dir);
  if (fs::is_directory(root / "cifar-10-batches-bin")) root /= "cifar-10-batches-bin";
  require_dir(root.string(), "pass the extracted cifar-10-batches-bin/ folder");
  Prepared p;
  p.data.task = "image";
  p.data.vocab_size = task_spec("image").vocab_size + o.pixel_offset;
  p.data.num_classes = task_spec("image").num_classes;
  p.data.max_length = kPixels;
  nlohmann::json sources = nlohmann::json::array();
  auto make = [&](const std::vector<std::string>& files, torch::Tensor& tokens,
                  torch::Tensor& labels) {
    std::vector<uint8_t> gray;
    std::vector<int64_t> lab;
    for (const auto& f : files) {
      const std::string path = (root / f).string();
      read_batch(path, gray, lab, progress);
      sources.push_back(source_file(path));
    }
    const auto n = static_cast<int64_t>(lab.size());
    tokens = torch::from_blob(gray.data(), {n, kPixels}, torch::kUInt8)  // (N, 1024)
                 .to(o.pixel_offset ? torch::kInt16 : torch::kUInt8)
                 .add(o.pixel_offset)
                 .clone();
    labels = torch::tensor(lab, torch::kInt64);  // (N,)
  };
  torch::Tensor train_tokens, train_labels;
  make({"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
        "data_batch_5.bin"},
       train_tokens, train_labels);
  make({"test_batch.bin"}, p.data.test.tokens, p.data.test.labels);
  p.data.test.name = "test";
  split_train_val(p, train_tokens, train_labels);
  p.meta["variant"] = {{"source", "cifar10"},
                       {"pixel_offset", o.pixel_offset},
                       {"grayscale", "tf.image.rgb_to_grayscale"}};
  p.meta["sources"] = sources;
  p.meta["notes"] = nlohmann::json::array(
      {"gray = trunc(255.5 * (0.2989 R + 0.5870 G + 0.1140 B) / 255) in float32, as "
       "tf.image.rgb_to_grayscale + convert_image_dtype",
       "train = data_batch_1..5 [:90%], val = [90%:], test = test_batch",
       o.pixel_offset
           ? "pixel_offset 1: id = gray + 1, nothing is masked"
           : "pixel_offset 0 (peers): id = gray, black pixels equal pad and are masked"});
  return p;
}

}  // namespace lra::raw
