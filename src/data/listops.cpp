#include "data/listops.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "util/rng.h"

namespace lra::listops {
namespace {

constexpr uint8_t kOperators[] = {kMin, kMax, kMed, kSum};

int apply(uint8_t op, std::vector<int> args) {
  switch (op) {
    case kMin:
      return *std::min_element(args.begin(), args.end());
    case kMax:
      return *std::max_element(args.begin(), args.end());
    case kSum: {
      int s = 0;
      for (int a : args) s += a;
      return s % 10;
    }
    case kMed: {
      // int(np.median(args)): the mean of the two middle values for an even count, truncated.
      std::sort(args.begin(), args.end());
      const size_t n = args.size();
      return n % 2 ? args[n / 2] : (args[n / 2 - 1] + args[n / 2]) / 2;
    }
  }
  throw std::invalid_argument("listops: not an operator id " + std::to_string(op));
}

// generate_tree() of the official generator, writing tokens in prefix order. Returns the
// node's value, or -1 once the expression has reached max_length tokens (it will be rejected
// anyway, so generation stops early instead of growing a huge tree).
class TreeWriter {
 public:
  TreeWriter(const SyntheticListOpsConfig& c, Rng& rng) : c_(c), rng_(rng) {}

  int write(int64_t depth, std::vector<uint8_t>& out) {
    if (static_cast<int64_t>(out.size()) >= c_.max_length) return -1;
    const double r = depth < c_.max_depth ? rng_.uniform() : 1.0;
    if (r >= 1.0 - c_.leaf_prob) {
      const int value = static_cast<int>(rng_.randint(0, 9));
      out.push_back(static_cast<uint8_t>(kDigit0 + value));
      return value;
    }
    const size_t op_slot = out.size();
    out.push_back(kPad);  // the operator is drawn after its arguments, as in the official code
    const int64_t num_args = rng_.randint(2, c_.max_args);
    std::vector<int> args;
    for (int64_t i = 0; i < num_args; ++i) {
      const int v = write(depth + 1, out);
      if (v < 0) return -1;
      args.push_back(v);
    }
    const uint8_t op = kOperators[rng_.randint(0, 3)];
    out[op_slot] = op;
    out.push_back(kClose);
    return apply(op, std::move(args));
  }

 private:
  const SyntheticListOpsConfig& c_;
  Rng& rng_;
};

// Recursive-descent evaluation of a prefix token sequence starting at `pos`.
int eval_at(const std::vector<uint8_t>& t, size_t& pos) {
  if (pos >= t.size()) throw std::invalid_argument("listops: expression ends early");
  const uint8_t tok = t[pos++];
  if (tok >= kDigit0 && tok < kDigit0 + 10) return tok - kDigit0;
  if (tok < kMin || tok > kSum)
    throw std::invalid_argument("listops: unexpected token id " + std::to_string(tok) + " at " +
                                std::to_string(pos - 1));
  std::vector<int> args;
  while (pos < t.size() && t[pos] != kClose) args.push_back(eval_at(t, pos));
  if (pos >= t.size()) throw std::invalid_argument("listops: operator without closing ]");
  if (args.empty()) throw std::invalid_argument("listops: operator without arguments");
  ++pos;
  return apply(tok, std::move(args));
}

const char* token_text(uint8_t id) {
  static const char* digits[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  if (id >= kDigit0 && id < kDigit0 + 10) return digits[id - kDigit0];
  switch (id) {
    case kMin:
      return "[MIN";
    case kMax:
      return "[MAX";
    case kMed:
      return "[MED";
    case kSum:
      return "[SM";
    case kClose:
      return "]";
  }
  throw std::invalid_argument("listops: no text for token id " + std::to_string(id));
}

// The official string of the subtree at `pos`: an operator node with arguments a1..ak is the
// left-nested tuple ((((op, a1), a2), ..., ak), "]"), each tuple written "( left right )".
std::string render_at(const std::vector<uint8_t>& t, size_t& pos) {
  const uint8_t tok = t.at(pos++);
  if (tok < kMin || tok > kSum) return token_text(tok);
  std::string acc = token_text(tok);
  while (t.at(pos) != kClose) acc = "( " + acc + " " + render_at(t, pos) + " )";
  ++pos;
  return "( " + acc + " ] )";
}

}  // namespace

std::vector<Example> generate(const SyntheticListOpsConfig& c, uint64_t seed) {
  const size_t wanted = static_cast<size_t>(c.train_size + c.val_size + c.test_size);
  Rng rng(seed);
  TreeWriter writer(c, rng);
  std::unordered_set<std::string> seen;
  std::vector<Example> examples;
  examples.reserve(wanted);
  const uint64_t max_attempts = 1000 * static_cast<uint64_t>(wanted) + 1000000;
  std::vector<uint8_t> tokens;
  for (uint64_t attempt = 0; examples.size() < wanted; ++attempt) {
    if (attempt == max_attempts)
      throw std::runtime_error("listops: only " + std::to_string(examples.size()) + " of " +
                               std::to_string(wanted) +
                               " distinct expressions found; widen data.synthetic.min_length/"
                               "max_length or raise max_depth/max_args");
    tokens.clear();
    const int value = writer.write(1, tokens);
    const auto n = static_cast<int64_t>(tokens.size());
    if (value < 0 || n <= c.min_length || n >= c.max_length) continue;
    if (!seen.insert(std::string(tokens.begin(), tokens.end())).second) continue;
    examples.push_back({tokens, value});
  }
  return examples;
}

namespace {

// A word of a hostile file, fit for an error message: the first 40 bytes, control bytes as
// \xNN (a NUL would end the message's what(), and a whole 30 MB word would be the message).
std::string quoted_word(const std::string& word) {
  std::string out = "'";
  for (size_t i = 0; i < std::min<size_t>(word.size(), 40); ++i) {
    const auto u = static_cast<unsigned char>(word[i]);
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02X", u);
    out += u >= 0x20 && u != 0x7F ? std::string(1, word[i]) : std::string(hex);
  }
  return out + (word.size() > 40 ? "'... (" + std::to_string(word.size()) + " bytes)" : "'");
}

}  // namespace

std::vector<uint8_t> tokenize(const std::string& expression) {
  std::istringstream in(expression);
  std::vector<uint8_t> ids;
  std::string word;
  while (in >> word) {
    if (word == "(" || word == ")") continue;
    if (word.size() == 1 && word[0] >= '0' && word[0] <= '9')
      ids.push_back(kDigit0 + (word[0] - '0'));
    else if (word == "[MIN")
      ids.push_back(kMin);
    else if (word == "[MAX")
      ids.push_back(kMax);
    else if (word == "[MED")
      ids.push_back(kMed);
    else if (word == "[SM")
      ids.push_back(kSum);
    else if (word == "]")
      ids.push_back(kClose);
    else
      throw std::invalid_argument("listops: unknown token " + quoted_word(word));
  }
  return ids;
}

std::string to_official_string(const std::vector<uint8_t>& tokens) {
  size_t pos = 0;
  std::string s = render_at(tokens, pos);
  if (pos != tokens.size())
    throw std::invalid_argument("listops: trailing tokens after expression");
  return s;
}

int evaluate(const std::vector<uint8_t>& tokens) {
  size_t pos = 0;
  const int v = eval_at(tokens, pos);
  if (pos != tokens.size())
    throw std::invalid_argument("listops: trailing tokens after expression");
  return v;
}

int evaluate(const std::string& expression) {
  return evaluate(tokenize(expression));
}

}  // namespace lra::listops
