// lra_prepare: turns the raw LRA files (release archive, IMDB, CIFAR-10, IDX) into the prepared
// format that lra_train reads (docs/data.md), one subcommand per registered task, each declared
// by its task (src/data/tasks/<name>.cpp) and run by lra::prepare::run.
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "data/prepare_command.h"
#include "data/task_registry.h"

namespace {

CLI::Validator one_of(const lra::prepare::Option& o) {
  if (std::holds_alternative<std::string*>(o.target)) return CLI::IsMember(o.check.choices);
  std::vector<int64_t> numbers;
  for (const auto& choice : o.check.choices) numbers.push_back(std::stoll(choice));
  return CLI::IsMember(numbers);
}

CLI::Validator check_of(const lra::prepare::Option& o) {
  switch (o.check.kind) {
    case lra::prepare::Check::kPositive:
      return CLI::PositiveNumber;
    case lra::prepare::Check::kNonNegative:
      return CLI::NonNegativeNumber;
    case lra::prepare::Check::kRange:
      return CLI::Range(o.check.lo, o.check.hi);
    case lra::prepare::Check::kOneOf:
      return one_of(o);
    case lra::prepare::Check::kNone:
      break;
  }
  return CLI::Validator();
}

void add_option(CLI::App* sub, const lra::prepare::Option& o) {
  CLI::Option* option = std::visit(
      [&](auto* target) {
        if constexpr (std::is_same_v<decltype(target), bool*>)
          return sub->add_flag(o.names, *target, o.help);
        else
          return sub->add_option(o.names, *target, o.help);
      },
      o.target);
  if (o.check.kind != lra::prepare::Check::kNone) option->check(check_of(o));
  if (o.show_default) option->capture_default_str();
  if (!o.excludes.empty()) option->excludes(o.excludes);
}

CLI::App* add_subcommand(CLI::App& app, const std::string& name,
                         const lra::prepare::Command& command, lra::prepare::Request& request) {
  CLI::App* sub = app.add_subcommand(name, command.description);
  auto* input = sub->add_option("--input,-i", request.input, command.input_help);
  if (command.input_required) input->required();
  sub->add_option("--out,-o", request.out, "output folder (created; files in it are replaced)")
      ->required();
  sub->add_flag("--quiet,-q", request.quiet, "no progress output");
  for (const auto& option : command.options) add_option(sub, option);
  return sub;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lra_prepare: raw LRA files -> prepared folders for lra_train (docs/data.md)"};
  app.require_subcommand(1);
  lra::prepare::Request request;
  std::vector<std::pair<CLI::App*, lra::prepare::Command>> commands;
  for (const auto& task : lra::task_implementations()) {
    lra::prepare::Command command = task.prepare_command();
    CLI::App* sub = add_subcommand(app, task.spec->name, command, request);
    commands.emplace_back(sub, std::move(command));
  }
  CLI11_PARSE(app, argc, argv);
  for (int i = 0; i < argc; ++i) request.command_line += (i ? " " : "") + std::string(argv[i]);

  try {
    for (const auto& [sub, command] : commands)
      if (sub->parsed()) lra::prepare::run(command, request);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nlra_prepare: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
