// 8-bit grayscale PNG decoding and encoding through libpng (Debian libpng-dev).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lra::raw {

struct GrayImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // row-major, width * height
};

// The most pixels decode_png_gray accepts by default: 4096x4096, 16 MiB of gray pixels. The
// LRA images are far smaller (CIFAR 32x32, Pathfinder up to 256x256, Path-X 128x128).
constexpr int64_t kMaxPngPixels = int64_t{4096} * 4096;

// Decodes a PNG from memory to 8-bit gray (palette and low bit depths expanded, 16-bit
// stripped, alpha dropped, color converted with libpng's default luma weights). An image whose
// header claims more than `max_pixels` pixels is refused before anything is allocated for it.
// Throws std::runtime_error "<name>: <problem>" on a corrupt or too large file.
GrayImage decode_png_gray(const std::string& bytes, const std::string& name,
                          int64_t max_pixels = kMaxPngPixels);

// Writes an 8-bit grayscale PNG (used by tests to build Pathfinder fixtures).
void write_png_gray(const std::string& path, const GrayImage& image);

}  // namespace lra::raw
