// The fuzz seed corpora and every input a fuzzer ever crashed on (fuzz/regressions/), replayed
// through the same readers in the regular build: each is accepted or rejected with the reader's
// own error type, never anything else.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <torch/torch.h>

#include "../../fuzz/tiny_listops.h"
#include "config/config.h"
#include "data/data_test_util.h"
#include "data/npy.h"
#include "data/prepared.h"
#include "data/raw/png.h"

namespace fs = std::filesystem;
using lra::test::read_text;
using lra::test::TempDir;
using lra::test::write_text;

namespace {

// Calls `check` on every file of fuzz/corpus/<name> and fuzz/regressions/<name>.
int replay(const std::string& name, const std::function<void(const std::string&)>& check) {
  int files = 0;
  for (const char* folder : {"/fuzz/corpus/", "/fuzz/regressions/"}) {
    const fs::path dir = std::string(LRA_SOURCE_DIR) + folder + name;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      SCOPED_TRACE(e.path().string());
      check(e.path().string());
      ++files;
    }
  }
  return files;
}

}  // namespace

TEST(FuzzCorpus, NpyFilesAreReadOrRejectedNamingTheFile) {
  const int n = replay("npy", [](const std::string& path) {
    try {
      const auto t = lra::npy::read(path);
      EXPECT_TRUE(t.dim() == 1 || t.dim() == 2);
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    }
  });
  EXPECT_GE(n, 10);
}

TEST(FuzzCorpus, PreparedMetaIsReadOrRejectedNamingTheFile) {
  TempDir dir;
  lra::write_prepared(dir.str(), lra::fuzz::tiny_listops(), nlohmann::json::object());
  const int n = replay("prepared_meta", [&dir](const std::string& path) {
    write_text(dir / "meta.json", read_text(path));
    // Seeds with sizes the arrays cannot back (huge_*, *_over_*, class_counts_*) are refused.
    const std::string name = fs::path(path).filename().string();
    const bool bad_size = name.rfind("huge_", 0) == 0 || name.find("_over_") != std::string::npos ||
                          name.rfind("class_counts_", 0) == 0;
    try {
      const lra::TaskData d = lra::load_prepared(dir.str());
      EXPECT_FALSE(bad_size) << "accepted num_classes " << d.num_classes << ", vocab_size "
                             << d.vocab_size;
      EXPECT_EQ(d.train.size(), 4);
      EXPECT_LE(d.num_classes, lra::kMaxClasses);
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(dir.str()), std::string::npos) << e.what();
    }
  });
  EXPECT_GE(n, 20);
}

TEST(FuzzCorpus, PngFilesAreDecodedOrRejectedNamingTheFile) {
  std::map<std::string, lra::raw::GrayImage> decoded;
  const int n = replay("png", [&decoded](const std::string& path) {
    const std::string name = fs::path(path).filename().string();
    try {
      auto img = lra::raw::decode_png_gray(read_text(path), path);
      EXPECT_GT(img.width, 0);
      EXPECT_EQ(static_cast<int64_t>(img.pixels.size()), img.width * img.height);
      EXPECT_LE(img.width * img.height, lra::raw::kMaxPngPixels);
      decoded[name] = std::move(img);
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
      if (name.rfind("huge_header", 0) == 0) {
        EXPECT_NE(std::string(e.what()).find("max_pixels"), std::string::npos) << e.what();
      }
    }
  });
  EXPECT_GE(n, 10);
  // The valid seeds decode to the size in their name, whatever their colour type and depth.
  for (const auto& [name, w, h] :
       std::vector<std::tuple<std::string, int64_t, int64_t>>{{"gray8_8x8.png", 8, 8},
                                                              {"gray1_16x4.png", 16, 4},
                                                              {"gray16_3x3.png", 3, 3},
                                                              {"palette4_trns_4x4.png", 4, 4},
                                                              {"rgba8_4x3.png", 4, 3},
                                                              {"rgb_9x7.png", 9, 7},
                                                              {"rgb_adam7_9x7.png", 9, 7},
                                                              {"ztxt_bomb_4x4.png", 4, 4}}) {
    ASSERT_EQ(decoded.count(name), 1u) << name << " was not decoded";
    EXPECT_EQ(decoded[name].width, w) << name;
    EXPECT_EQ(decoded[name].height, h) << name;
  }
  EXPECT_EQ(decoded["gray8_8x8.png"].pixels[3 * 8 + 5], (5 * 32 + 3 * 4) % 256);
  // Adam7 interlacing is undone: the interlaced copy of an image decodes to the same pixels.
  EXPECT_EQ(decoded["rgb_adam7_9x7.png"].pixels, decoded["rgb_9x7.png"].pixels);
}
