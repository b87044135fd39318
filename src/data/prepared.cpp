#include "data/prepared.h"
#include "util/build_info.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>
#include <type_traits>

#include <torch/torch.h>

#include "config/tasks.h"
#include "data/npy.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace lra {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kSplitNames[] = {"train", "val", "test"};

// meta.json is a few kilobytes (a Pathfinder folder's list of skipped images the most of it):
// bounds for a file that is parsed whole before anything in it is checked.
constexpr int64_t kMaxMetaBytes = int64_t{16} << 20;
constexpr int kMaxMetaDepth = 32;

bool is_task(const std::string& name) {
  return find_task(name) != nullptr;
}

// Whether `task`'s examples are pairs of documents, stored as tokens and tokens2.
bool two_documents(const std::string& task) {
  const TaskSpec* spec = find_task(task);
  return spec && spec->two_tower;
}

std::string file_of(const std::string& dir, const std::string& split, const std::string& what) {
  return (fs::path(dir) / (split + "." + what + ".npy")).string();
}

std::string fix_hint(const std::string& dir, const std::string& task) {
  return "; regenerate the folder (lra_prepare " + (task.empty() ? std::string("<task>") : task) +
         " ... --out " + dir + ", or data_scripts/convert_peer_pickles.py; see docs/data.md)";
}

torch::ScalarType token_dtype_for(int64_t vocab_size) {
  if (vocab_size <= 256) return torch::kUInt8;
  if (vocab_size <= 32768) return torch::kInt16;
  return torch::kInt32;
}

// One pass over an (N, L) token matrix: checks every id is in [0, vocab) and returns each row's
// length (index after its last non-pad token). Returns -1 in `bad_row` when all ids are valid.
template <class T>
void scan_tokens(const T* p, int64_t n, int64_t l, int64_t vocab, int32_t* lengths,
                 int64_t& bad_row, int64_t& bad_col, int64_t& bad_value) {
  bad_row = -1;
  for (int64_t i = 0; i < n; ++i) {
    const T* row = p + i * l;
    int32_t last = 0;
    for (int64_t j = 0; j < l; ++j) {
      const int64_t v = static_cast<int64_t>(row[j]);
      if (v < 0 || v >= vocab) {
        bad_row = i, bad_col = j, bad_value = v;
        return;
      }
      if (v != 0) last = static_cast<int32_t>(j + 1);
    }
    lengths[i] = last;
  }
}

// (N,) int32 lengths of `tokens`; throws `where`: problem when an id is outside [0, vocab).
torch::Tensor scan(const torch::Tensor& tokens, int64_t vocab, const std::string& where,
                   const std::string& fix) {
  const int64_t n = tokens.size(0), l = tokens.size(1);
  auto lengths = torch::zeros({n}, torch::kInt32);  // (N,)
  int64_t row = -1, col = 0, value = 0;
  auto* len = lengths.data_ptr<int32_t>();
  switch (tokens.scalar_type()) {
    case torch::kUInt8:
      scan_tokens(tokens.data_ptr<uint8_t>(), n, l, vocab, len, row, col, value);
      break;
    case torch::kInt16:
      scan_tokens(tokens.data_ptr<int16_t>(), n, l, vocab, len, row, col, value);
      break;
    case torch::kInt32:
      scan_tokens(tokens.data_ptr<int32_t>(), n, l, vocab, len, row, col, value);
      break;
    case torch::kInt64:
      scan_tokens(tokens.data_ptr<int64_t>(), n, l, vocab, len, row, col, value);
      break;
    default:
      throw std::runtime_error(where + ": token dtype " + npy::dtype_name(tokens.scalar_type()) +
                               " is not an integer type" + fix);
  }
  if (row >= 0)
    throw std::runtime_error(where + ": token id " + std::to_string(value) + " at row " +
                             std::to_string(row) + ", position " + std::to_string(col) +
                             " is outside [0, vocab_size " + std::to_string(vocab) + ")" + fix);
  return lengths;
}

void check_labels(const torch::Tensor& labels, int64_t num_classes, const std::string& where,
                  const std::string& fix) {
  const auto* p = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < labels.size(0); ++i)
    if (p[i] < 0 || p[i] >= num_classes)
      throw std::runtime_error(where + ": label " + std::to_string(p[i]) + " at row " +
                               std::to_string(i) + " is outside [0, num_classes " +
                               std::to_string(num_classes) + ")" + fix);
}

// Every id a token dtype can hold: a vocab_size beyond it cannot be what the token files store.
int64_t dtype_capacity(const std::string& token_dtype) {
  if (token_dtype == "uint8") return int64_t{1} << 8;
  if (token_dtype == "int16") return int64_t{1} << 15;
  if (token_dtype == "uint16") return int64_t{1} << 16;
  if (token_dtype == "int32") return int64_t{1} << 31;
  return 0;
}

std::vector<int64_t> class_counts(const torch::Tensor& labels, int64_t num_classes) {
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  const auto* p = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < labels.size(0); ++i) ++counts[static_cast<size_t>(p[i])];
  return counts;
}

const Split& split_of(const TaskData& d, int i) {
  return i == 0 ? d.train : i == 1 ? d.val : d.test;
}
Split& split_of(TaskData& d, int i) {
  return i == 0 ? d.train : i == 1 ? d.val : d.test;
}

// Reads `key` of meta.json as T, or throws naming meta.json and the key.
// npy::read with the fix appended to its message.
torch::Tensor read_array(const std::string& path, const std::string& fix) {
  try {
    return npy::read(path);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(e.what() + fix);
  }
}

// nlohmann converts a float or an out-of-range integer to an integer type with a plain cast
// (undefined behaviour, found by fuzz/fuzz_prepared_meta): integer fields must hold integers
// that fit.
template <class T>
bool fits_integer(const json& v) {
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned())
    return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  const int64_t x = v.get<int64_t>();
  return x >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
         x <= static_cast<int64_t>(std::numeric_limits<T>::max());
}

template <class T>
T get(const json& j, const std::string& key, const std::string& where, const std::string& fix) {
  if (!j.contains(key)) throw std::runtime_error(where + ": missing field '" + key + "'" + fix);
  if constexpr (std::is_integral_v<T>)
    if (!fits_integer<T>(j.at(key)))
      throw std::runtime_error(where + ": field '" + key +
                               "' has the wrong type (expected an integer, got " +
                               j.at(key).dump() + ")" + fix);
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw std::runtime_error(where + ": field '" + key + "' has the wrong type (" +
                             j.at(key).dump() + ")" + fix);
  }
}

// vocab_size and num_classes size the class-count vectors and the model's embedding and head
// before any array is read, so they are bounded here: vocab_size by the ids the token dtype can
// hold, num_classes by kMaxClasses.
void check_sizes(const TaskData& d, const std::string& token_dtype, const std::string& mpath,
                 const std::string& fix) {
  const int64_t capacity = dtype_capacity(token_dtype);
  if (capacity == 0)
    throw std::runtime_error(mpath + ": token_dtype '" + token_dtype +
                             "' is not one of uint8, int16, uint16, int32" + fix);
  if (d.vocab_size > capacity)
    throw std::runtime_error(mpath + ": vocab_size " + std::to_string(d.vocab_size) +
                             " does not fit token_dtype " + token_dtype + " (at most " +
                             std::to_string(capacity) + " ids)" + fix);
  if (d.num_classes > kMaxClasses)
    throw std::runtime_error(mpath + ": num_classes " + std::to_string(d.num_classes) +
                             " is more than the " + std::to_string(kMaxClasses) +
                             " classes lra_train accepts (the LRA tasks have 2 or 10)" + fix);
}

// A split's class_counts in meta.json (optional: older writers may lack it) must be the labels'
// own counts, class by class: a disagreement means meta.json belongs to other labels.
void check_class_counts(const json& entry, const torch::Tensor& labels, int64_t num_classes,
                        const std::string& mpath, const std::string& split,
                        const std::string& lpath, const std::string& fix) {
  if (!entry.contains("class_counts")) return;
  const json& stored = entry["class_counts"];
  const std::string field = "splits." + split + ".class_counts";
  if (!stored.is_array() || static_cast<int64_t>(stored.size()) != num_classes)
    throw std::runtime_error(
        mpath + ": " + field + " must be a list of num_classes " + std::to_string(num_classes) +
        " counts, got " +
        (stored.is_array() ? std::to_string(stored.size()) + " entries" : stored.type_name()) +
        fix);
  const std::vector<int64_t> counts = class_counts(labels, num_classes);
  for (int64_t c = 0; c < num_classes; ++c) {
    const json& v = stored[static_cast<size_t>(c)];
    if (!fits_integer<int64_t>(v) || v.get<int64_t>() != counts[static_cast<size_t>(c)])
      throw std::runtime_error(
          mpath + ": " + field + "[" + std::to_string(c) + "] is " + v.dump() + " but " + lpath +
          " has " + std::to_string(counts[static_cast<size_t>(c)]) + " labels of class " +
          std::to_string(c) + " in split '" + split + "'" + fix);
  }
}

}  // namespace

namespace {

// meta.json: the caller's fields, then the ones computed from the data (which always win).
void write_meta(const std::string& dir, json meta, const std::string& task, int64_t vocab_size,
                int64_t num_classes, int64_t max_length, torch::ScalarType dtype,
                const json& splits) {
  meta["format"] = kPreparedFormat;
  meta["format_version"] = kPreparedVersion;
  meta["task"] = task;
  meta["vocab_size"] = vocab_size;
  meta["pad_id"] = 0;
  meta["num_classes"] = num_classes;
  meta["max_length"] = max_length;
  meta["token_dtype"] = npy::dtype_name(dtype);
  meta["splits"] = splits;
  if (!meta.contains("variant")) meta["variant"] = json::object();
  if (!meta.contains("notes")) meta["notes"] = json::array();
  if (!meta.contains("sources")) meta["sources"] = json::array();
  if (!meta.contains("tool")) meta["tool"] = "lra::write_prepared";
  if (!meta.contains("tool_version"))
    meta["tool_version"] =
        std::string("lra_train ") + build_info::kVersion + " (git " + build_info::kGitCommit + ")";
  write_file_atomic((fs::path(dir) / "meta.json").string(), meta.dump(2) + "\n");
}

// meta.json's entry for one split: its files, size, class counts and mean length.
json split_entry(const std::string& name, const torch::Tensor& labels, const torch::Tensor& lengths,
                 int64_t num_classes) {
  return {{"count", labels.size(0)},
          {"tokens", name + ".tokens.npy"},
          {"labels", name + ".labels.npy"},
          {"lengths", name + ".lengths.npy"},
          {"class_counts", class_counts(labels, num_classes)},
          {"mean_length", lengths.to(torch::kFloat64).mean().item<double>()}};
}

// Creates `dir` and removes the meta.json of an earlier write: meta.json marks a complete
// folder, so it goes first and comes back last.
void start_folder(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create folder: " + ec.message());
  fs::remove(fs::path(dir) / "meta.json", ec);
}

}  // namespace

void write_prepared(const std::string& dir, const TaskData& data, const json& meta_extra) {
  const std::string where = "write_prepared(" + dir + ")";
  if (!is_task(data.task)) throw std::invalid_argument(where + ": unknown task " + data.task);
  if (data.vocab_size <= 0 || data.num_classes <= 0 || data.max_length <= 0)
    throw std::invalid_argument(where + ": vocab_size, num_classes and max_length must be > 0");
  const bool pairs = two_documents(data.task);
  start_folder(dir);
  std::error_code ec;
  if (!pairs)  // a folder of pairs prepared here before must not leave its second documents
    for (const char* name : kSplitNames)
      for (const char* what : {"tokens2", "lengths2"}) fs::remove(file_of(dir, name, what), ec);

  const json meta = meta_extra.is_object() ? meta_extra : json::object();
  const torch::ScalarType dtype = token_dtype_for(data.vocab_size);
  json splits = json::object();
  for (int s = 0; s < 3; ++s) {
    const Split& split = split_of(data, s);
    const std::string name = kSplitNames[s];
    const std::string at = where + " split " + name;
    if (!split.tokens.defined() || !split.labels.defined())
      throw std::invalid_argument(at + ": tokens or labels missing");
    if (split.tokens.dim() != 2 || split.tokens.size(1) != data.max_length)
      throw std::invalid_argument(at + ": tokens must be (N, " + std::to_string(data.max_length) +
                                  ")");
    const int64_t n = split.tokens.size(0);
    if (n == 0) throw std::invalid_argument(at + ": empty split");
    auto labels = split.labels.to(torch::kCPU, torch::kInt64).contiguous();  // (N,)
    if (labels.dim() != 1 || labels.size(0) != n)
      throw std::invalid_argument(at + ": labels must be (N,) with N = " + std::to_string(n));
    check_labels(labels, data.num_classes, at, "");
    auto tokens = split.tokens.to(torch::kCPU).contiguous();  // (N, L)
    auto lengths = scan(tokens, data.vocab_size, at, "");     // (N,) int32
    npy::write(file_of(dir, name, "tokens"), tokens.to(dtype));
    npy::write(file_of(dir, name, "labels"), labels);
    npy::write(file_of(dir, name, "lengths"), lengths);
    json entry = split_entry(name, labels, lengths, data.num_classes);
    if (pairs) {
      if (!split.tokens2.defined() || split.tokens2.sizes() != split.tokens.sizes())
        throw std::invalid_argument(at + ": retrieval needs tokens2 shaped like tokens");
      auto tokens2 = split.tokens2.to(torch::kCPU).contiguous();  // (N, L)
      auto lengths2 = scan(tokens2, data.vocab_size, at + " tokens2", "");
      npy::write(file_of(dir, name, "tokens2"), tokens2.to(dtype));
      npy::write(file_of(dir, name, "lengths2"), lengths2);
      entry["tokens2"] = name + ".tokens2.npy";
      entry["lengths2"] = name + ".lengths2.npy";
    }
    splits[name] = entry;
  }
  write_meta(dir, meta, data.task, data.vocab_size, data.num_classes, data.max_length, dtype,
             splits);
}

PreparedStreamWriter::PreparedStreamWriter(std::string dir, std::string task, int64_t vocab_size,
                                           int64_t num_classes, int64_t max_length)
    : dir_(std::move(dir)),
      task_(std::move(task)),
      vocab_size_(vocab_size),
      num_classes_(num_classes),
      max_length_(max_length),
      splits_(json::object()) {
  if (!is_task(task_) || two_documents(task_))
    throw std::invalid_argument("PreparedStreamWriter(" + dir_ + "): task " + task_ +
                                " cannot be streamed");
  start_folder(dir_);
}

PreparedStreamWriter::~PreparedStreamWriter() = default;

void PreparedStreamWriter::begin_split(const std::string& name, int64_t rows) {
  if (rows <= 0) throw std::invalid_argument(dir_ + " split " + name + ": empty split");
  split_ = name, rows_ = rows;
  tokens_ = std::make_unique<npy::RowWriter>(file_of(dir_, name, "tokens"),
                                             token_dtype_for(vocab_size_), rows, max_length_);
  labels_.clear(), lengths_.clear();
}

void PreparedStreamWriter::append(const torch::Tensor& tokens, const torch::Tensor& labels) {
  const std::string at = dir_ + " split " + split_;
  auto t = tokens.to(torch::kCPU).contiguous();                 // (r, L)
  auto l = labels.to(torch::kCPU, torch::kInt64).contiguous();  // (r,)
  if (t.dim() != 2 || t.size(1) != max_length_ || l.dim() != 1 || l.size(0) != t.size(0))
    throw std::invalid_argument(at + ": blocks must be (r, " + std::to_string(max_length_) +
                                ") tokens and (r,) labels");
  check_labels(l, num_classes_, at, "");
  auto len = scan(t, vocab_size_, at, "");  // (r,) int32
  tokens_->append(t);
  labels_.push_back(l), lengths_.push_back(len);
}

void PreparedStreamWriter::end_split() {
  tokens_->close();
  tokens_.reset();
  auto labels = torch::cat(labels_), lengths = torch::cat(lengths_);  // (N,), (N,)
  if (labels.size(0) != rows_)
    throw std::logic_error(dir_ + " split " + split_ + ": row count mismatch");
  npy::write(file_of(dir_, split_, "labels"), labels);
  npy::write(file_of(dir_, split_, "lengths"), lengths);
  splits_[split_] = split_entry(split_, labels, lengths, num_classes_);
}

void PreparedStreamWriter::finish(const json& meta_extra) {
  for (const char* name : kSplitNames)
    if (!splits_.contains(name))
      throw std::logic_error(dir_ + ": split " + std::string(name) + " was never written");
  write_meta(dir_, meta_extra.is_object() ? meta_extra : json::object(), task_, vocab_size_,
             num_classes_, max_length_, token_dtype_for(vocab_size_), splits_);
}

json read_prepared_meta(const std::string& dir) {
  const std::string path = (fs::path(dir) / "meta.json").string();
  const std::string fix = fix_hint(dir, "");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error(dir +
                             ": prepared data folder not found; create it with lra_prepare "
                             "(see docs/data.md and data_scripts/README.md)");
  if (!fs::exists(path, ec))
    throw std::runtime_error(path +
                             ": not found (not a prepared folder, or lra_prepare did not "
                             "finish)" +
                             fix);
  if (!fs::is_regular_file(path, ec)) throw std::runtime_error(path + ": not a regular file" + fix);
  const auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) throw std::runtime_error(path + ": cannot stat: " + ec.message() + fix);
  if (bytes > kMaxMetaBytes)
    throw std::runtime_error(path + ": " + std::to_string(bytes) + " bytes, more than the " +
                             std::to_string(kMaxMetaBytes) +
                             " a meta.json may have (lra_prepare writes a few kilobytes)" + fix);
  std::ifstream in(path);
  json meta;
  try {
    // Parsed JSON costs tens of bytes per byte of deeply nested input ("[[[[...": 3.9 GiB for
    // 50 MB), so nesting is bounded as it is read.
    meta = json::parse(in, [&](int depth, json::parse_event_t, json&) {
      if (depth > kMaxMetaDepth)
        throw std::runtime_error(path + ": nested deeper than " + std::to_string(kMaxMetaDepth) +
                                 " levels; not a meta.json written by lra_prepare" + fix);
      return true;
    });
  } catch (const json::exception& e) {
    throw std::runtime_error(path + ": not valid JSON (" + e.what() + ")" + fix);
  }
  if (!meta.is_object()) throw std::runtime_error(path + ": not a JSON object" + fix);
  return meta;
}

namespace {

void check_format(const json& meta, const std::string& mpath, const std::string& fix) {
  if (get<std::string>(meta, "format", mpath, fix) != kPreparedFormat)
    throw std::runtime_error(mpath + ": format is '" + meta["format"].dump() + "', expected '" +
                             kPreparedFormat + "'" + fix);
  const int version = get<int>(meta, "format_version", mpath, fix);
  if (version > kPreparedVersion)
    throw std::runtime_error(mpath + ": format_version " + std::to_string(version) +
                             " is newer than this lra_train reads (" +
                             std::to_string(kPreparedVersion) + "); update lra_train");
  if (version < 1)
    throw std::runtime_error(mpath + ": invalid format_version " + std::to_string(version) + fix);
}

// The task and its sizes from meta.json, before any array is read (no splits yet).
TaskData read_meta_header(const json& meta, const std::string& dir, const std::string& mpath) {
  TaskData data;
  data.task = get<std::string>(meta, "task", mpath, fix_hint(dir, ""));
  const std::string fix = fix_hint(dir, data.task);
  if (!is_task(data.task))
    throw std::runtime_error(mpath + ": unknown task '" + data.task + "' (" +
                             join(task_names(), ", ") + ")" + fix_hint(dir, ""));
  data.vocab_size = get<int64_t>(meta, "vocab_size", mpath, fix);
  data.num_classes = get<int64_t>(meta, "num_classes", mpath, fix);
  data.max_length = get<int64_t>(meta, "max_length", mpath, fix);
  if (data.vocab_size < 2 || data.num_classes < 2 || data.max_length < 1)
    throw std::runtime_error(mpath +
                             ": vocab_size and num_classes must be >= 2 and max_length "
                             ">= 1" +
                             fix);
  if (get<int64_t>(meta, "pad_id", mpath, fix) != 0)
    throw std::runtime_error(mpath + ": pad_id must be 0" + fix);
  return data;
}

// What every file of a prepared folder is checked against.
struct FolderFacts {
  const std::string& dir;
  const std::string& mpath;  // its meta.json
  const std::string& fix;    // the end of every message: how to regenerate the folder
  const std::string& token_dtype;
  const TaskData& header;  // vocab_size, num_classes, max_length
};

// <split>.lengths.npy (or lengths2) must hold the lengths the tokens have, row by row.
void check_stored_lengths(const FolderFacts& f, const std::string& lpath, int64_t count,
                          const torch::Tensor& lengths) {
  auto stored = read_array(lpath, f.fix);  // (N,)
  if (stored.dim() != 1 || stored.size(0) != count ||
      (stored.scalar_type() != torch::kInt32 && stored.scalar_type() != torch::kInt64))
    throw std::runtime_error(lpath + ": expected (" + std::to_string(count) + ",) int32 lengths" +
                             f.fix);
  auto diff = stored.to(torch::kInt32).ne(lengths).nonzero();  // (D, 1)
  if (diff.size(0) == 0) return;
  const int64_t row = diff[0][0].item<int64_t>();
  throw std::runtime_error(lpath + ": length " + std::to_string(stored[row].item<int64_t>()) +
                           " at row " + std::to_string(row) + " disagrees with the tokens (" +
                           std::to_string(lengths[row].item<int>()) + ")" + f.fix);
}

// <split>.<what>.npy: an (N, L) token matrix of meta.json's dtype, count and max_length, every
// id in the vocabulary, and the stored lengths (when the split lists them) its own.
torch::Tensor read_token_file(const FolderFacts& f, const json& entry, const std::string& split,
                              const std::string& what, int64_t count) {
  const std::string path = file_of(f.dir, split, what);
  auto t = read_array(path, f.fix);  // (N, L)
  if (t.dim() != 2)
    throw std::runtime_error(path + ": expected a 2-D (N, L) token matrix, got " +
                             std::to_string(t.dim()) + "-D" + f.fix);
  const auto st = t.scalar_type();
  if (st != torch::kUInt8 && st != torch::kInt16 && st != torch::kInt32)
    throw std::runtime_error(path + ": token dtype " + npy::dtype_name(st) +
                             " not allowed (uint8, int16, uint16 or int32)" + f.fix);
  const bool same =
      npy::dtype_name(st) == f.token_dtype || (f.token_dtype == "uint16" && st == torch::kInt32);
  if (!same)
    throw std::runtime_error(path + ": dtype " + npy::dtype_name(st) +
                             " disagrees with meta.json token_dtype " + f.token_dtype + f.fix);
  if (t.size(0) != count)
    throw std::runtime_error(path + ": has " + std::to_string(t.size(0)) +
                             " rows but meta.json says count " + std::to_string(count) + f.fix);
  if (t.size(1) != f.header.max_length)
    throw std::runtime_error(path + ": rows have length " + std::to_string(t.size(1)) +
                             " but meta.json says max_length " +
                             std::to_string(f.header.max_length) + f.fix);
  auto lengths = scan(t, f.header.vocab_size, path, f.fix);  // (N,)
  const std::string len_key = what == "tokens" ? "lengths" : "lengths2";
  if (entry.contains(len_key))
    check_stored_lengths(f, file_of(f.dir, split, len_key), count, lengths);
  return t;
}

// The second documents of a task of pairs; any other task must not list them.
torch::Tensor read_second_documents(const FolderFacts& f, const json& entry,
                                    const std::string& split, int64_t count) {
  if (two_documents(f.header.task)) {
    const std::string t2 = file_of(f.dir, split, "tokens2");
    std::error_code ec;
    if (!fs::exists(t2, ec))
      throw std::runtime_error(t2 +
                               ": not found; retrieval needs the second document of each "
                               "pair" +
                               f.fix);
    return read_token_file(f, entry, split, "tokens2", count);  // (N, L)
  }
  if (entry.contains("tokens2"))
    throw std::runtime_error(f.mpath + ": split '" + split +
                             "' lists tokens2, which only the "
                             "retrieval task has (task is " +
                             f.header.task + ")" + f.fix);
  return {};
}

torch::Tensor read_label_file(const FolderFacts& f, const json& entry, const std::string& split,
                              int64_t count) {
  const std::string lpath = file_of(f.dir, split, "labels");
  auto labels = read_array(lpath, f.fix);  // (N,) int64
  if (labels.dim() != 1 || labels.scalar_type() != torch::kInt64)
    throw std::runtime_error(lpath + ": expected a 1-D int64 label vector, got " +
                             std::to_string(labels.dim()) + "-D " +
                             npy::dtype_name(labels.scalar_type()) + f.fix);
  if (labels.size(0) != count)
    throw std::runtime_error(lpath + ": has " + std::to_string(labels.size(0)) +
                             " labels but meta.json says count " + std::to_string(count) + f.fix);
  check_labels(labels, f.header.num_classes, lpath, f.fix);
  check_class_counts(entry, labels, f.header.num_classes, f.mpath, split, lpath, f.fix);
  return labels;
}

Split read_prepared_split(const FolderFacts& f, const json& splits, const std::string& name) {
  if (!splits.contains(name))
    throw std::runtime_error(f.mpath + ": splits has no '" + name + "'" + f.fix);
  const json& entry = splits[name];
  const int64_t count = get<int64_t>(entry, "count", f.mpath + " splits." + name, f.fix);
  if (count <= 0)
    throw std::runtime_error(f.mpath + ": split '" + name + "' is empty (count " +
                             std::to_string(count) + ")" + f.fix);
  Split split;
  split.name = name;
  split.tokens = read_token_file(f, entry, name, "tokens", count);  // (N, L)
  split.tokens2 = read_second_documents(f, entry, name, count);     // (N, L) or undefined
  split.labels = read_label_file(f, entry, name, count);            // (N,)
  return split;
}

}  // namespace

TaskData load_prepared(const std::string& dir) {
  const json meta = read_prepared_meta(dir);
  const std::string mpath = (fs::path(dir) / "meta.json").string();
  check_format(meta, mpath, fix_hint(dir, ""));
  TaskData data = read_meta_header(meta, dir, mpath);
  const std::string fix = fix_hint(dir, data.task);
  const std::string token_dtype = get<std::string>(meta, "token_dtype", mpath, fix);
  check_sizes(data, token_dtype, mpath, fix);
  if (!meta.contains("splits") || !meta["splits"].is_object())
    throw std::runtime_error(mpath + ": missing object 'splits'" + fix);
  const FolderFacts facts{dir, mpath, fix, token_dtype, data};
  for (int s = 0; s < 3; ++s)
    split_of(data, s) = read_prepared_split(facts, meta["splits"], kSplitNames[s]);
  return data;
}

}  // namespace lra
