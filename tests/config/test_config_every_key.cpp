// Hostile values for every key of the schema: each is rejected with a message that starts with
// the key path and says what was expected.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "config/schema.h"

namespace {

std::string error_of_assignment(const std::string& assignment) {
  try {
    lra::load_config_text("", {assignment});
  } catch (const lra::ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string error_of_all(const std::vector<std::string>& assignments) {
  try {
    lra::load_config_text("", assignments);
  } catch (const lra::ConfigError& e) {
    return e.what();
  }
  return "";
}

// Values that no key of `kind` accepts (string keys accept any scalar; only a mapping fails).
std::vector<std::string> hostile_values(const lra::ConfigField& f) {
  std::vector<std::string> v = {"{a: 1}", "[1, 2]"};
  const bool choice = f.type.rfind("one of:", 0) == 0;
  if (f.kind == 'i') v.insert(v.end(), {"-1", "1.5", "ten", "99999999999999999999"});
  if (f.kind == 'f') v.insert(v.end(), {"-1e300", "nan", "inf", "fast", "1e999"});
  if (f.kind == 'b') v.insert(v.end(), {"2", "yes please"});
  if (choice) v.insert(v.end(), {"no_such_choice", "-1"});
  if (f.path == "threads") v.insert(v.end(), {"0", "-2", "many"});
  return v;
}

}  // namespace

TEST(ConfigEveryKey, HostileValuesAreRejectedNamingTheKey) {
  lra::Config defaults;
  int tried = 0;
  for (const auto& field : lra::config_schema(defaults)) {
    for (const auto& value : hostile_values(field)) {
      const std::string e = error_of_assignment(field.path + "=" + value);
      EXPECT_EQ(e.rfind(field.path + ": expected ", 0), 0u)
          << field.path << "=" << value << " gave: '" << e << "'";
      ++tried;
    }
  }
  EXPECT_GT(tried, 150);
  std::cout << "[ " << tried << " hostile key values rejected ]\n";
}

TEST(ConfigEveryKey, ZeroSizesAreRejected) {
  for (const char* key :
       {"model.dim", "model.heads", "model.layers", "model.mlp_dim", "model.head_hidden",
        "train.batch_size", "train.steps", "train.grad_accum", "train.log_every", "eval.every",
        "data.max_length", "data.synthetic.train_size"}) {
    const std::string e = error_of_assignment(std::string(key) + "=0");
    EXPECT_EQ(e.rfind(std::string(key) + ": expected an integer >= 1, got '0'", 0), 0u) << e;
  }
  // attention.features takes 0 (skyformer: sampling_factor * ln(max_length) landmarks); every
  // other backend that reads it refuses 0, naming the key.
  for (const char* type : {"favor", "favor_sharp", "schoenbat"}) {
    const std::string e =
        error_of_all({std::string("attention.type=") + type, "attention.features=0"});
    EXPECT_EQ(
        e.rfind("attention.features: 0 is set, but " + std::string(type) + " needs at least 1", 0),
        0u)
        << e;
  }
  EXPECT_EQ(error_of_all({"attention.type=skyformer", "attention.features=0"}), "");
}
