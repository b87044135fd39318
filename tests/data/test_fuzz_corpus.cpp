// The fuzz seed corpora and every input a fuzzer ever crashed on (fuzz/regressions/), replayed
// through the same readers in the regular build: each is accepted or rejected with the reader's
// own error type, never anything else.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "../../fuzz/tiny_listops.h"
#include "config/config.h"
#include "data/data_test_util.h"
#include "data/npy.h"
#include "data/prepared.h"

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
    try {
      EXPECT_EQ(lra::load_prepared(dir.str()).train.size(), 4);
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(dir.str()), std::string::npos) << e.what();
    }
  });
  EXPECT_GE(n, 10);
}

TEST(FuzzCorpus, ConfigsAreReadOrRejectedWithAConfigError) {
  const int n = replay("config", [](const std::string& path) {
    try {
      lra::load_config(path);
    } catch (const lra::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  });
  EXPECT_GE(n, 5);
}
