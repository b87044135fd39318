#include "util/openmp_policy.h"

#include <cstdlib>

#include <unistd.h>

namespace lra {
namespace {

constexpr const char* kVariable = "OMP_WAIT_POLICY";
// Marks the re-executed process, so that a failed or repeated exec can never loop.
constexpr const char* kReexecuted = "LRA_OMP_WAIT_POLICY_DEFAULTED";

}  // namespace

void wait_passively_unless_set(char** argv) {
  if (std::getenv(kVariable) != nullptr || std::getenv(kReexecuted) != nullptr) return;
  setenv(kVariable, "PASSIVE", 1);
  setenv(kReexecuted, "1", 1);
  execv("/proc/self/exe", argv);
  // Still here: exec failed. The runtime keeps the default it read at load; say nothing was set.
  unsetenv(kVariable);
}

void default_passive_wait_for_children() {
  if (std::getenv(kVariable) == nullptr) setenv(kVariable, "PASSIVE", 1);
}

const char* openmp_wait_policy() {
  const char* value = std::getenv(kVariable);
  return value == nullptr ? "" : value;
}

}  // namespace lra
