// libFuzzer target: decode_png_gray on arbitrary bytes (the Pathfinder images of the release).
// The contract is a std::runtime_error naming the input for anything not decoded, and nothing
// allocated beyond the pixel limit: fuzz/run.sh's -malloc_limit_mb turns a header that makes
// the reader reserve gigabytes into a finding. Any other exception, crash or sanitizer report
// is a bug too.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "data/raw/png.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const lra::raw::GrayImage img = lra::raw::decode_png_gray(bytes, "input.png");
    const int64_t pixels = img.width * img.height;
    if (img.width <= 0 || img.height <= 0 || pixels > lra::raw::kMaxPngPixels ||
        static_cast<int64_t>(img.pixels.size()) != pixels)
      __builtin_trap();  // the reader promises width x height gray pixels within the limit
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).rfind("input.png: ", 0) != 0) __builtin_trap();
  }
  return 0;
}
