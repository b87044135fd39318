// Helpers for the data tests: a temporary folder per test and small fixture writers.
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

namespace lra::test {

// std::filesystem::remove_all is not used: libtorch.so exports its own copy, which calls weak
// recursive_directory_iterator symbols that resolve to null in this process (SIGSEGV).
inline void remove_tree(const std::filesystem::path& p) {
  std::error_code ec;
  if (std::filesystem::is_directory(std::filesystem::symlink_status(p, ec)))
    for (const auto& e : std::filesystem::directory_iterator(p, ec)) remove_tree(e.path());
  std::filesystem::remove(p, ec);
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? info->name() : "x";
    // A parameterised test's name holds a '/', which would make path_ a sub-folder of a folder
    // that nothing removes.
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = std::filesystem::temp_directory_path() / ("lra_data_" + std::to_string(::getpid()) +
                                                      "_" + std::to_string(counter++) + "_" + name);
    remove_tree(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { remove_tree(path_); }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `test` and checks it throws an exception whose message contains every `parts` string.
template <class F>
void expect_error(F&& test, std::initializer_list<std::string> parts) {
  try {
    test();
    ADD_FAILURE() << "expected an exception mentioning '" << *parts.begin() << "'";
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) {
      EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
    }
  }
}

}  // namespace lra::test
