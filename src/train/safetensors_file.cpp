#include "train/safetensors_file.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "util/atomic_file.h"

namespace lra {
namespace {

using Json = nlohmann::json;

// The header is JSON of at most this size (the format's own limit is 100 MB; a model's header
// is kilobytes), checked before it is read.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const std::vector<std::pair<std::string, torch::ScalarType>>& dtype_names() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> names = {
      {"F32", torch::kFloat}, {"F64", torch::kDouble}, {"BF16", torch::kBFloat16},
      {"F16", torch::kHalf},  {"I64", torch::kLong},   {"I32", torch::kInt},
      {"I16", torch::kShort}, {"U8", torch::kByte},    {"BOOL", torch::kBool}};
  return names;
}

std::string dtype_name(torch::ScalarType t) {
  for (const auto& [name, type] : dtype_names())
    if (type == t) return name;
  throw std::runtime_error(std::string("safetensors: cannot write dtype ") + c10::toString(t));
}

uint64_t little_endian_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string read_whole(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error(path + ": not found or not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return bytes;
}

struct Stored {
  uint64_t begin = 0;  // where its bytes start in the data
  std::string name;
  torch::Tensor tensor;
};

// One entry of the header: its dtype, shape and byte range, checked against the data size.
Stored read_tensor(const std::string& path, const std::string& name, const Json& entry,
                   const char* data, uint64_t data_bytes) {
  const std::string at = path + ": tensor '" + name + "'";
  if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
      !entry.contains("data_offsets"))
    throw std::runtime_error(at + ": expected {dtype, shape, data_offsets}");
  torch::ScalarType type = torch::kFloat;
  bool known = false;
  for (const auto& [n, t] : dtype_names())
    if (entry["dtype"].is_string() && entry["dtype"].get<std::string>() == n)
      type = t, known = true;
  if (!known) throw std::runtime_error(at + ": unsupported dtype " + entry["dtype"].dump());
  std::vector<int64_t> shape;
  uint64_t numel = 1;
  for (const auto& d : entry["shape"]) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > data_bytes)
      throw std::runtime_error(at + ": bad shape " + entry["shape"].dump());
    shape.push_back(d.get<int64_t>());
    numel *= d.get<uint64_t>();
    if (numel > data_bytes) throw std::runtime_error(at + ": shape larger than the file's data");
  }
  const Json& off = entry["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned())
    throw std::runtime_error(at + ": data_offsets must be [begin, end]");
  const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
  const uint64_t expected = numel * c10::elementSize(type);
  if (begin > end || end > data_bytes || end - begin != expected)
    throw std::runtime_error(at + ": data_offsets [" + std::to_string(begin) + ", " +
                             std::to_string(end) + "] do not hold its " + std::to_string(expected) +
                             " bytes within the " + std::to_string(data_bytes) + " bytes of data");
  auto t = torch::empty(shape, torch::TensorOptions().dtype(type));
  if (expected > 0) std::memcpy(t.data_ptr(), data + begin, expected);
  return {begin, name, t};
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors) {
  Json header = Json::object();
  std::vector<torch::Tensor> parts;
  uint64_t offset = 0;
  for (const auto& item : tensors) {
    auto t = item.value().detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[item.key()] = {{"dtype", dtype_name(t.scalar_type())},
                          {"shape", t.sizes().vec()},
                          {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    parts.push_back(t);
  }
  header["__metadata__"] = {{"format", "pt"}, {"writer", "lra_train"}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  out += text;
  out.reserve(out.size() + offset);
  for (const auto& t : parts)
    out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, out);
}

NamedTensors load_safetensors(const std::string& path) {
  const std::string bytes = read_whole(path);
  if (bytes.size() < 8) throw std::runtime_error(path + ": not a safetensors file (too short)");
  const uint64_t header_bytes = little_endian_u64(bytes.data());
  if (header_bytes > kMaxHeaderBytes || header_bytes > bytes.size() - 8)
    throw std::runtime_error(path + ": not a safetensors file (its header length " +
                             std::to_string(header_bytes) + " exceeds the file)");
  const Json header = Json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_bytes, nullptr,
                                  /*allow_exceptions=*/false);
  if (!header.is_object())
    throw std::runtime_error(path + ": not a safetensors file (its header is not a JSON object)");
  const char* data = bytes.data() + 8 + header_bytes;
  const uint64_t data_bytes = bytes.size() - 8 - header_bytes;
  std::vector<Stored> stored;
  for (const auto& [name, entry] : header.items())
    if (name != "__metadata__") stored.push_back(read_tensor(path, name, entry, data, data_bytes));
  // In the order of their data, so that overlapping ranges can be found.
  std::sort(stored.begin(), stored.end(), [](const Stored& a, const Stored& b) {
    return std::tie(a.begin, a.name) < std::tie(b.begin, b.name);
  });
  NamedTensors tensors;
  uint64_t covered = 0;
  for (const auto& [begin, name, t] : stored) {
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    if (bytes > 0 && begin < covered)  // an empty tensor holds no bytes to share
      throw std::runtime_error(path + ": tensor '" + name + "' overlaps the one before it");
    covered = std::max(covered, begin + bytes);
    tensors.insert(name, t);
  }
  return tensors;
}

}  // namespace lra
