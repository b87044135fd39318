#include "data/npy.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include <torch/torch.h>

#include "util/atomic_file.h"

namespace lra::npy {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// NumPy aligns the data to 64 bytes so that a memory map of the file is aligned for any dtype.
constexpr size_t kAlign = 64;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error(path + ": " + problem);
}

bool little_endian_host() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return shape.empty() ? "scalar" : s;
}

// The header is a Python dict literal; only the subset NumPy writes is accepted.
class DictParser {
 public:
  DictParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  void parse(std::string& descr, bool& fortran_order, std::vector<int64_t>& shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        shape = parse_tuple();
        have_shape = true;
      } else {
        bad("unexpected key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') ++pos_;
    }
    skip_ws();
    if (pos_ != s_.size()) bad("text after the closing brace");
    if (!have_descr || !have_order || !have_shape)
      bad("the header dict needs the keys 'descr', 'fortran_order' and 'shape'");
  }

 private:
  [[noreturn]] void bad(const std::string& what) {
    fail(path_, "malformed .npy header (" + what + "): " + s_);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_ws();
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    const size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string::npos) bad("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    skip_ws();
    if (s_.compare(pos_, 4, "True") == 0) return pos_ += 4, true;
    if (s_.compare(pos_, 5, "False") == 0) return pos_ += 5, false;
    bad("expected True or False");
  }
  std::vector<int64_t> parse_tuple() {
    expect('(');
    std::vector<int64_t> out;
    while (true) {
      skip_ws();
      if (peek() == ')') {
        ++pos_;
        return out;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("expected a dimension");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (int64_t{1} << 50)) bad("dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (peek() == 'L') ++pos_;  // Python 2 longs
      out.push_back(v);
      skip_ws();
      if (peek() == ',')
        ++pos_;
      else if (peek() != ')')
        bad("expected ',' or ')' in shape");
    }
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
};

struct DtypeInfo {
  torch::ScalarType dtype;
  int64_t item_size;
};

DtypeInfo dtype_from_descr(const std::string& descr, const std::string& path) {
  if (descr.size() >= 2 && descr[0] == '>' && descr.substr(1) != "u1" && descr.substr(1) != "i1")
    fail(path, "big-endian dtype '" + descr + "' is not supported; save with a '<' dtype");
  const char order = descr.empty() ? '?' : descr[0];
  const std::string kind = descr.size() > 1 ? descr.substr(1) : "";
  if (order != '<' && order != '|' && order != '=' && order != '>')
    fail(path, "unsupported dtype '" + descr + "'");
  if (kind == "u1") return {torch::kUInt8, 1};
  if (kind == "i2") return {torch::kInt16, 2};
  if (kind == "u2") return {torch::kInt32, 2};  // widened on read: torch's uint16 is half-supported
  if (kind == "i4") return {torch::kInt32, 4};
  if (kind == "i8") return {torch::kInt64, 8};
  fail(path, "unsupported dtype '" + descr +
                 "'; expected one of uint8 (|u1), int16 (<i2), uint16 (<u2), int32 (<i4), "
                 "int64 (<i8)");
}

std::string descr_for(torch::ScalarType t) {
  switch (t) {
    case torch::kUInt8:
      return "|u1";
    case torch::kInt16:
      return "<i2";
    case torch::kInt32:
      return "<i4";
    case torch::kInt64:
      return "<i8";
    default:
      return "";
  }
}

}  // namespace

std::string dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kUInt8:
      return "uint8";
    case torch::kInt16:
      return "int16";
    case torch::kInt32:
      return "int32";
    case torch::kInt64:
      return "int64";
    default:
      return std::string(c10::toString(dtype));
  }
}

namespace {

// Magic, version, header length and the dict, padded so that the data starts 64-aligned.
std::string header_bytes(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dims = "(" + std::to_string(shape[0]) + ",";
  if (shape.size() == 2) dims += " " + std::to_string(shape[1]);
  dims += ")";
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + dims + ", }";
  // Version 1.0 stores the header length in 2 bytes; 2.0 in 4 (only for huge headers).
  const bool v1 = dict.size() + kAlign < 65535;
  const size_t prefix = kMagicSize + 2 + (v1 ? 2 : 4);
  const size_t total = (prefix + dict.size() + 1 + kAlign - 1) / kAlign * kAlign;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');

  std::string head(kMagic, kMagicSize);
  head.push_back(static_cast<char>(v1 ? 1 : 2));
  head.push_back(0);
  const uint32_t len = static_cast<uint32_t>(dict.size());
  for (size_t i = 0; i < (v1 ? 2u : 4u); ++i)
    head.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  return head + dict;
}

std::string checked_descr(const std::string& path, torch::ScalarType dtype) {
  if (!little_endian_host()) fail(path, "writing .npy needs a little-endian host");
  const std::string descr = descr_for(dtype);
  if (descr.empty())
    fail(path, "cannot write dtype " + dtype_name(dtype) + " (uint8, int16, int32, int64 only)");
  return descr;
}

}  // namespace

void write(const std::string& path, const torch::Tensor& array) {
  if (!array.defined()) fail(path, "cannot write an undefined tensor");
  const std::string descr = checked_descr(path, array.scalar_type());
  if (array.dim() != 1 && array.dim() != 2)
    fail(path, "cannot write a " + std::to_string(array.dim()) + "-D array (1-D or 2-D only)");
  const torch::Tensor data = array.to(torch::kCPU).contiguous();
  const std::string head = header_bytes(descr, data.sizes().vec());
  write_path_atomic(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot open for writing: " + std::string(std::strerror(errno)));
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    out.write(static_cast<const char*>(data.data_ptr()),
              static_cast<std::streamsize>(data.numel() * data.element_size()));
    out.flush();
    if (!out) fail(path, "write failed (disk full?)");
  });
}

RowWriter::RowWriter(std::string path, torch::ScalarType dtype, int64_t rows, int64_t cols)
    : path_(std::move(path)),
      tmp_(atomic_temp_name(path_)),
      dtype_(dtype),
      rows_(rows),
      cols_(cols) {
  const std::string descr = checked_descr(path_, dtype);
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) fail(path_, "cannot open for writing: " + std::string(std::strerror(errno)));
  const std::string head = header_bytes(descr, {rows, cols});
  out_.write(head.data(), static_cast<std::streamsize>(head.size()));
}

RowWriter::~RowWriter() {
  if (!closed_) {
    out_.close();
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

void RowWriter::append(const torch::Tensor& block) {
  if (block.dim() != 2 || block.size(1) != cols_ || written_ + block.size(0) > rows_)
    fail(path_, "row block of shape " + shape_string(block.sizes().vec()) + " does not fit " +
                    std::to_string(rows_) + "x" + std::to_string(cols_) + " after " +
                    std::to_string(written_) + " rows");
  const torch::Tensor data = block.to(torch::kCPU, dtype_).contiguous();
  out_.write(static_cast<const char*>(data.data_ptr()),
             static_cast<std::streamsize>(data.numel() * data.element_size()));
  if (!out_) fail(path_, "write failed (disk full?)");
  written_ += block.size(0);
}

void RowWriter::close() {
  if (written_ != rows_)
    fail(path_,
         "closed after " + std::to_string(written_) + " of " + std::to_string(rows_) + " rows");
  out_.flush();
  out_.close();
  if (!out_) fail(path_, "write failed (disk full?)");
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) fail(path_, "cannot rename the finished file into place: " + ec.message());
  closed_ = true;
}

Header read_header(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, "file not found");
  if (!std::filesystem::is_regular_file(path, ec)) fail(path, "not a regular file");
  Header h;
  h.file_size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  if (ec) fail(path, "cannot stat: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: " + std::string(std::strerror(errno)));

  char pre[12];
  in.read(pre, 10);
  if (in.gcount() < 10 || std::memcmp(pre, kMagic, kMagicSize) != 0)
    fail(path, "not a .npy file (bad magic; expected \\x93NUMPY)");
  const int major = static_cast<uint8_t>(pre[6]);
  uint64_t header_len = 0;
  size_t prefix = 10;
  if (major == 1) {
    header_len = static_cast<uint8_t>(pre[8]) | (static_cast<uint8_t>(pre[9]) << 8);
  } else if (major == 2 || major == 3) {
    in.read(pre + 10, 2);
    if (in.gcount() < 2) fail(path, "truncated: file ends inside the .npy preamble");
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(pre[8 + i]);
    prefix = 12;
  } else {
    fail(path, "unsupported .npy format version " + std::to_string(major) + "." +
                   std::to_string(static_cast<uint8_t>(pre[7])) + " (1.0, 2.0 and 3.0 only)");
  }
  if (static_cast<int64_t>(prefix + header_len) > h.file_size)
    fail(path,
         "truncated: file ends inside the .npy header (" + std::to_string(h.file_size) + " bytes)");
  std::string dict(header_len, '\0');
  in.read(dict.data(), static_cast<std::streamsize>(header_len));
  if (static_cast<uint64_t>(in.gcount()) != header_len) fail(path, "truncated: short header");

  std::string descr;
  bool fortran = false;
  DictParser(dict, path).parse(descr, fortran, h.shape);
  h.descr = descr;
  const DtypeInfo info = dtype_from_descr(descr, path);
  h.dtype = info.dtype;
  h.item_size = info.item_size;
  if (fortran && h.shape.size() > 1)
    fail(path,
         "fortran_order arrays are not supported; save a C-ordered array "
         "(np.ascontiguousarray)");
  if (h.shape.size() != 1 && h.shape.size() != 2)
    fail(path, "expected a 1-D or 2-D array, got shape " + shape_string(h.shape));
  h.data_offset = static_cast<int64_t>(prefix + header_len);

  // Dimensions are bounded by the parser (< 2^51), so the product is checked step by step.
  int64_t expected = h.item_size;
  for (int64_t d : h.shape) {
    if (d != 0 && expected > std::numeric_limits<int64_t>::max() / d)
      fail(path, "shape " + shape_string(h.shape) + " is too large");
    expected *= d;
  }
  const int64_t have = h.file_size - h.data_offset;
  const std::string what = "header says " + shape_string(h.shape) + " " + dtype_name(h.dtype) +
                           (descr.substr(1) == "u2" ? " (uint16)" : "") + " = " +
                           std::to_string(expected) + " bytes of data, file has " +
                           std::to_string(have);
  if (have < expected) fail(path, "truncated: " + what);
  if (have > expected) fail(path, "trailing garbage: " + what);
  return h;
}

torch::Tensor read(const std::string& path) {
  if (!little_endian_host()) fail(path, "reading .npy needs a little-endian host");
  const Header h = read_header(path);
  const bool widen_u16 = h.descr.substr(1) == "u2";
  const torch::ScalarType disk_type = widen_u16 ? torch::kInt16 : h.dtype;
  auto out = torch::empty(h.shape, torch::TensorOptions().dtype(disk_type));  // as on disk
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: " + std::string(std::strerror(errno)));
  in.seekg(h.data_offset);
  const int64_t nbytes = out.numel() * h.item_size;
  in.read(static_cast<char*>(out.data_ptr()), static_cast<std::streamsize>(nbytes));
  if (in.gcount() != nbytes)
    fail(path, "truncated: read " + std::to_string(in.gcount()) + " of " + std::to_string(nbytes) +
                   " data bytes");
  if (widen_u16) out = out.to(torch::kInt32).bitwise_and(0xFFFF);  // reinterpret as unsigned
  return out;
}

}  // namespace lra::npy
