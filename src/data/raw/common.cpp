#include "data/raw/common.h"
#include "util/build_info.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <torch/torch.h>

#include "data/raw/sha256.h"

namespace lra::raw {
namespace fs = std::filesystem;

std::string tool_version() {
  return std::string("lra_prepare ") + build_info::kVersion + " (git " + build_info::kGitCommit +
         ")";
}

nlohmann::json source_file(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return {{"path", fs::absolute(path, ec).lexically_normal().string()},
          {"bytes", ec ? 0 : static_cast<int64_t>(size)},
          {"sha256", sha256_file(path)}};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": read error");
  return s.str();
}

void require_file(const std::string& path, const std::string& hint) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw std::runtime_error(path + ": not found; " + hint);
}

void require_dir(const std::string& path, const std::string& hint) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throw std::runtime_error(path + ": folder not found; " + hint);
}

namespace {

// Whether the normalised absolute `p` is `root` or below it.
bool path_within(fs::path root, const fs::path& p) {
  if (root.filename().empty()) root = root.parent_path();  // "in/" -> "in"
  const fs::path rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

std::string path_escape(const std::string& boundary, const std::string& base,
                        const std::string& rel) {
  const fs::path r(rel);
  if (r.empty()) return "empty path";
  // The operating system would read the path only up to the NUL: another file than written.
  if (rel.find('\0') != std::string::npos) return "path with a NUL byte";
  if (r.has_root_name() || r.has_root_directory())
    return "absolute path '" + rel + "' (paths in data files are relative to their folder)";
  std::error_code ec;
  const fs::path root = fs::absolute(boundary, ec).lexically_normal();
  const fs::path p = (fs::absolute(base, ec) / r).lexically_normal();
  if (!path_within(root, p))
    return "path '" + rel + "' leads outside the input folder " + root.string();
  // Symbolic links are followed only when both ends resolve: a missing file is reported later.
  std::error_code ec_root, ec_p;
  const fs::path real_root = fs::weakly_canonical(root, ec_root);
  const fs::path real = fs::weakly_canonical(p, ec_p);
  if (!ec_root && !ec_p && !path_within(real_root, real))
    return "path '" + rel + "' leads outside the input folder " + root.string() +
           " through a symbolic link (to " + real.string() + ")";
  return "";
}

torch::Tensor encode_bytes(const std::vector<std::string>& texts, int64_t max_length) {
  const auto n = static_cast<int64_t>(texts.size());
  auto out = torch::zeros({n, max_length}, torch::kInt16);  // (N, L), ids 1..256, 0 = pad
  auto* p = out.data_ptr<int16_t>();
  for (int64_t i = 0; i < n; ++i) {
    const std::string& t = texts[static_cast<size_t>(i)];
    const int64_t len = std::min<int64_t>(max_length, static_cast<int64_t>(t.size()));
    for (int64_t j = 0; j < len; ++j)
      p[i * max_length + j] = static_cast<int16_t>(static_cast<uint8_t>(t[j]) + 1);
  }
  return out;
}

torch::Tensor take_rows(const torch::Tensor& t, const std::vector<int64_t>& index) {
  return t.index_select(0, torch::tensor(index, torch::kInt64)).contiguous();
}

}  // namespace lra::raw
