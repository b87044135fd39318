#include "data/raw/png.h"

#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace lra::raw {
namespace {

// libpng reports errors by longjmp; no C++ object with a destructor is created between the
// setjmp and a possible longjmp in the functions below, and the message travels in this struct.
struct ErrorSink {
  char message[256] = {0};
  bool too_large = false;  // refused by the size limit, not corrupt
};

// libpng keeps ancillary chunks (text, ICC profiles) in memory; these bounds (Debian's
// defaults) are set explicitly because a libpng built without them has none, and a small file
// could then make it inflate gigabytes of compressed text.
constexpr png_alloc_size_t kMaxChunkBytes = 8000000;
constexpr png_uint_32 kMaxChunks = 1000;

void on_error(png_structp png, png_const_charp msg) {
  auto* sink = static_cast<ErrorSink*>(png_get_error_ptr(png));
  std::snprintf(sink->message, sizeof sink->message, "%s", msg);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

struct MemoryReader {
  const uint8_t* data;
  size_t size, pos;
};

void read_memory(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<MemoryReader*>(png_get_io_ptr(png));
  if (r->pos + n > r->size) png_error(png, "truncated PNG data");
  std::memcpy(out, r->data + r->pos, n);
  r->pos += n;
}

// Checks the size in the header against `max_pixels`, before libpng or this reader allocates a
// row: a 150-byte file can claim 100000x100000 pixels.
bool size_allowed(png_structp png, png_infop info, int64_t max_pixels, ErrorSink& sink) {
  const int64_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (w * h <= max_pixels) return true;  // each is below 2^31, so the product fits
  std::snprintf(sink.message, sizeof sink.message,
                "header says %lldx%lld = %lld pixels, more than the %lld this reader accepts "
                "(max_pixels, lra_prepare --max-pixels); not an image of this task?",
                static_cast<long long>(w), static_cast<long long>(h), static_cast<long long>(w * h),
                static_cast<long long>(max_pixels));
  sink.too_large = true;
  return false;
}

// Returns false with sink.message set on any libpng error.
bool decode(MemoryReader& reader, GrayImage& img, std::vector<png_bytep>& rows, int64_t max_pixels,
            ErrorSink& sink) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
  if (!png) return std::snprintf(sink.message, sizeof sink.message, "out of memory"), false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return std::snprintf(sink.message, sizeof sink.message, "out of memory"), false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &reader, read_memory);
  // libpng refuses a wider or taller IHDR itself; the pixel count is checked below.
  const auto side = static_cast<png_uint_32>(
      std::min<int64_t>(std::max<int64_t>(max_pixels, 1), PNG_UINT_31_MAX));
  png_set_user_limits(png, side, side);
  png_set_chunk_malloc_max(png, kMaxChunkBytes);
  png_set_chunk_cache_max(png, kMaxChunks);
  png_read_info(png, info);
  if (!size_allowed(png, info, max_pixels, sink)) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  const png_byte color = png_get_color_type(png, info);
  if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (color & PNG_COLOR_MASK_ALPHA || png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_strip_alpha(png);
  if (color & PNG_COLOR_MASK_COLOR || color == PNG_COLOR_TYPE_PALETTE)
    png_set_rgb_to_gray_fixed(png, 1, -1, -1);
  png_set_interlace_handling(png);  // png_read_image then undoes Adam7 interlacing
  png_read_update_info(png, info);
  img.width = png_get_image_width(png, info);
  img.height = png_get_image_height(png, info);
  if (png_get_rowbytes(png, info) != static_cast<size_t>(img.width))
    png_error(png, "unexpected row size after conversion to 8-bit gray");
  img.pixels.resize(static_cast<size_t>(img.width * img.height));
  rows.resize(static_cast<size_t>(img.height));
  for (int64_t y = 0; y < img.height; ++y) rows[y] = img.pixels.data() + y * img.width;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

GrayImage decode_png_gray(const std::string& bytes, const std::string& name, int64_t max_pixels) {
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8))
    throw std::runtime_error(name + ": not a PNG file (bad signature)");
  MemoryReader reader{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 0};
  GrayImage img;
  std::vector<png_bytep> rows;
  ErrorSink sink;
  if (!decode(reader, img, rows, max_pixels, sink))
    throw std::runtime_error(name + (sink.too_large ? ": PNG " : ": corrupt PNG: ") +
                             std::string(sink.message));
  return img;
}

void write_png_gray(const std::string& path, const GrayImage& img) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error(path + ": cannot open for writing");
  ErrorSink sink;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  std::vector<png_bytep> rows(static_cast<size_t>(img.height));
  for (int64_t y = 0; y < img.height; ++y)
    rows[y] = const_cast<png_bytep>(img.pixels.data() + y * img.width);
  volatile bool ok = false;  // read after a possible longjmp
  if (png && info) {
    if (setjmp(png_jmpbuf(png)) == 0) {
      png_init_io(png, f);
      png_set_IHDR(png, info, static_cast<png_uint_32>(img.width),
                   static_cast<png_uint_32>(img.height), 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                   PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
      png_write_info(png, info);
      png_write_image(png, rows.data());
      png_write_end(png, nullptr);
      ok = true;
    }
  }
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
  if (!ok) throw std::runtime_error(path + ": PNG write failed: " + std::string(sink.message));
}

}  // namespace lra::raw
