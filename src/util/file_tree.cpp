#include "util/file_tree.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

namespace lra {
namespace {

// Calls visit(child path, lstat of it) for each entry of folder `dir`.
void each_entry(const std::string& dir,
                const std::function<void(const std::string&, const struct stat&)>& visit) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string child = dir + "/" + name;
    struct stat st {};
    if (lstat(child.c_str(), &st) == 0) visit(child, st);
  }
  closedir(d);
}

}  // namespace

void remove_tree(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    each_entry(path, [](const std::string& child, const struct stat&) { remove_tree(child); });
    rmdir(path.c_str());
  } else {
    std::remove(path.c_str());
  }
}

uint64_t tree_bytes(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return 0;
  if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  uint64_t total = 0;
  if (S_ISDIR(st.st_mode))
    each_entry(path,
               [&](const std::string& child, const struct stat&) { total += tree_bytes(child); });
  return total;
}

}  // namespace lra
