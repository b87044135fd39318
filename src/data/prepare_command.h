// One lra_prepare subcommand as a task declares it (src/data/tasks/<name>.cpp): its options,
// bound to the variables they set, and what it does with them. lra_prepare turns the options
// into its command line, so the task files declare their subcommand without the parser.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "data/raw/common.h"

namespace lra::prepare {

// What an option's value must be; the parser refuses anything else before the command runs.
struct Check {
  enum Kind { kNone, kPositive, kNonNegative, kRange, kOneOf } kind = kNone;
  int64_t lo = 0, hi = 0;            // kRange, both included
  std::vector<std::string> choices;  // kOneOf (numbers written as text for a number option)
};
inline Check check_of_kind(Check::Kind kind) {
  Check check;
  check.kind = kind;
  return check;
}
inline Check positive() {
  return check_of_kind(Check::kPositive);
}
inline Check non_negative() {
  return check_of_kind(Check::kNonNegative);
}
inline Check in_range(int64_t lo, int64_t hi) {
  Check check = check_of_kind(Check::kRange);
  check.lo = lo, check.hi = hi;
  return check;
}
inline Check one_of(std::vector<std::string> choices) {
  Check check = check_of_kind(Check::kOneOf);
  check.choices = std::move(choices);
  return check;
}

struct Option {
  using Target =
      std::variant<bool*, int*, int64_t*, uint64_t*, std::string*, std::vector<std::string>*>;
  Option(std::string names, Target target, std::string help, Check check = {},
         bool show_default = true, std::string excludes = {})
      : names(std::move(names)),
        target(target),
        help(std::move(help)),
        check(std::move(check)),
        show_default(show_default),
        excludes(std::move(excludes)) {}

  std::string names;  // "--images,-n"; a bool target makes a flag
  Target target;      // points into the command's own options, which `run` reads
  std::string help;
  Check check;
  bool show_default;
  std::string excludes;  // an option that may not be given with this one
};

// The options every subcommand shares, and what lra_prepare adds.
struct Request {
  std::string input;  // --input; empty when not given
  std::string out;    // --out
  bool quiet = false;
  std::string command_line;  // recorded in meta.json
  raw::Progress progress;    // filled in by run()
};

struct Command {
  std::string description;  // one line, for --help
  std::string input_help;
  bool input_required = true;
  std::vector<Option> options;  // after --input, --out and --quiet
  // A set read from the raw files of request.input, for run() to write; or nothing when the
  // command wrote request.out itself (a generated set).
  std::function<std::optional<raw::Prepared>(const Request& request)> run;
};

// Runs `command` as lra_prepare does: progress on stderr unless request.quiet; a set it returns
// gets lra_prepare's fields in meta.json (tool, version, command line, time), is written to
// request.out and summarised on stdout. Errors throw.
void run(const Command& command, Request request);

// request.input, or std::invalid_argument when it was not given.
const std::string& require_input(const Request& request);

// A flag that SIGINT or SIGTERM sets from now on, for a long command to stop cleanly.
const std::atomic<bool>* stop_on_signals();

}  // namespace lra::prepare
