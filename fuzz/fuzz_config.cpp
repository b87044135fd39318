// libFuzzer target: the config reader (YAML text, --set overrides, schema and cross-field
// checks). Its contract is a ConfigError for any input it does not accept; any other exception,
// crash or sanitizer report is a bug. A first line "#set key=value" is also applied as a
// --set override, so that the override parser is fuzzed too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  if (text.rfind("#set ", 0) == 0) overrides.push_back(text.substr(5, text.find('\n') - 5));
  try {
    const lra::Config config = lra::load_config_text(text, overrides);
    // What was accepted must print and read back to the same config.
    if (lra::to_yaml(lra::load_config_text(lra::to_yaml(config))) != lra::to_yaml(config))
      __builtin_trap();
  } catch (const lra::ConfigError&) {
  }
  return 0;
}
