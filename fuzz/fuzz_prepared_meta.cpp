// libFuzzer target: load_prepared on a prepared folder whose meta.json is the fuzz input and
// whose arrays are a valid small ListOps set. The contract is a std::runtime_error naming the
// file for anything not accepted; any other exception, crash or sanitizer report is a bug. What
// is accepted must have sizes the caller can allocate by: num_classes within kMaxClasses and
// vocab_size within the token dtype (the seeds named huge_* and *_over_* try both).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include <dirent.h>
#include <unistd.h>

#include <torch/torch.h>

#include "data/prepared.h"
#include "tiny_listops.h"

namespace {

// A folder with the valid arrays of tiny_listops(); removed
// when the fuzzer exits.
struct Fixture {
  std::string dir;
  ~Fixture() {
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') unlink((dir + "/" + e->d_name).c_str());
      closedir(d);
    }
    rmdir(dir.c_str());
  }
};

std::string make_fixture() {
  char tmpl[] = "/tmp/lra_fuzz_prepared_XXXXXX";
  if (!mkdtemp(tmpl)) __builtin_trap();
  lra::write_prepared(tmpl, lra::fuzz::tiny_listops(), nlohmann::json::object());
  return tmpl;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture fixture{make_fixture()};
  const std::string& dir = fixture.dir;
  {
    std::ofstream meta(dir + "/meta.json", std::ios::binary | std::ios::trunc);
    meta.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const lra::TaskData loaded = lra::load_prepared(dir);
    if (loaded.train.size() <= 0 || loaded.vocab_size < 2) __builtin_trap();
    if (loaded.num_classes > lra::kMaxClasses || loaded.vocab_size > (int64_t{1} << 31))
      __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
