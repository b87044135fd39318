#include "sweep/sweep_runner.h"

#include <sched.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "sweep/child_process.h"
#include "util/atomic_file.h"
#include "util/log.h"
#include "util/signals.h"

namespace lra {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int signal) {
  g_stop_signal = signal;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

struct Slot {
  std::vector<int> cpus;  // empty on GPU slots: the GPU, not the cores, is what is shared
  std::string device;     // GPU id, or empty for CPU
  int threads = 1;
};

std::vector<Slot> make_slots(const SweepOptions& options) {
  const auto cpus = allowed_cpus();
  const int jobs = std::max(1, options.jobs);
  const int threads = options.threads_per_job > 0
                          ? options.threads_per_job
                          : std::max<int>(1, static_cast<int>(cpus.size()) / jobs);
  std::vector<Slot> slots(jobs);
  for (int s = 0; s < jobs; ++s) {
    slots[s].threads = threads;
    if (!options.devices.empty()) {
      slots[s].device = options.devices[s % options.devices.size()];
      continue;
    }
    for (int t = 0; t < threads; ++t)
      slots[s].cpus.push_back(cpus[(s * threads + t) % cpus.size()]);
  }
  return slots;
}

std::string describe(const Slot& slot) {
  if (!slot.device.empty()) return "GPU " + slot.device;
  std::string text = slot.cpus.size() == 1 ? "core " : "cores ";
  for (size_t i = 0; i < slot.cpus.size(); ++i)
    text += (i ? "," : "") + std::to_string(slot.cpus[i]);
  return text;
}

struct Running {
  std::string name;
  int slot = 0;
  int lock_fd = -1;
  std::chrono::steady_clock::time_point start;
};

std::string elapsed(std::chrono::steady_clock::time_point start) {
  const auto s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
          .count();
  char text[32];
  std::snprintf(text, sizeof(text), "%ld:%02ld", static_cast<long>(s / 60),
                static_cast<long>(s % 60));
  return text;
}

std::string test_accuracy_text(const std::string& run_dir) {
  std::ifstream in(run_dir + "/report.json");
  const auto report = nlohmann::json::parse(in, nullptr, false);
  if (report.is_discarded() || !report.contains("test") || !report["test"].is_object()) return "";
  return lra::log::format(", test accuracy %.4f", report["test"].value("accuracy", 0.0));
}

}  // namespace

const char* to_string(RunState state) {
  switch (state) {
    case RunState::missing:
      return "missing";
    case RunState::completed:
      return "completed";
    case RunState::interrupted:
      return "interrupted";
    case RunState::failed:
      return "failed";
  }
  return "?";
}

RunState read_run_state(const std::string& run_dir) {
  std::ifstream in(run_dir + "/report.json");
  if (!in) return RunState::missing;
  const auto report = nlohmann::json::parse(in, nullptr, false);
  if (report.is_discarded()) return RunState::failed;  // a torn or foreign file: run again
  const std::string status = report.value("status", "");
  if (status == "completed") return RunState::completed;
  if (status == "interrupted") return RunState::interrupted;
  return RunState::failed;
}

std::vector<std::string> train_command(const SweepOptions& options, const SweepPoint& point) {
  std::vector<std::string> argv = {options.train_bin, "--config", options.config_path};
  for (const auto& o : options.base_overrides) argv.insert(argv.end(), {"--set", o});
  for (const auto& o : point.overrides) argv.insert(argv.end(), {"--set", o});
  argv.insert(argv.end(),
              {"--set", "output.dir=" + options.out_dir, "--set", "name=" + point.name});
  return argv;
}

std::string sweep_manifest_json(const SweepOptions& options, const std::vector<GridAxis>& axes,
                                const std::vector<SweepPoint>& points) {
  nlohmann::json manifest;
  manifest["format"] = "lra_sweep.manifest";
  manifest["version"] = 1;
  manifest["config"] = options.config_path;
  manifest["overrides"] = options.base_overrides;
  manifest["grid"] = nlohmann::json::array();
  for (const auto& axis : axes)
    manifest["grid"].push_back({{"key", axis.key}, {"values", axis.values}});
  manifest["runs"] = nlohmann::json::array();
  for (const auto& p : points)
    manifest["runs"].push_back({{"name", p.name}, {"seed", p.seed}, {"overrides", p.overrides}});
  return manifest.dump(1) + "\n";
}

SweepResult run_sweep(const SweepOptions& options, const std::vector<SweepPoint>& points) {
  namespace fs = std::filesystem;
  fs::create_directories(options.out_dir + "/logs");
  SweepResult result;
  std::vector<const SweepPoint*> todo;
  for (const auto& p : points) {
    if (read_run_state(options.out_dir + "/" + p.name) == RunState::completed) {
      ++result.skipped;
      continue;
    }
    todo.push_back(&p);
  }
  lra::log::info(lra::log::format("sweep: %zu runs, %d already completed, %zu to run",
                                  points.size(), result.skipped, todo.size()));
  handle_stop_signals(on_stop_signal);  // interrupts waitpid, so the signal is forwarded at once
  auto slots = make_slots(options);
  std::vector<int> free_slots;
  for (int s = static_cast<int>(slots.size()) - 1; s >= 0; --s) free_slots.push_back(s);
  std::map<pid_t, Running> running;
  size_t next = 0, started = 0;
  while (next < todo.size() || !running.empty()) {
    while (!g_stop_signal && next < todo.size() && !free_slots.empty()) {
      const SweepPoint& p = *todo[next++];
      const std::string lock_path = options.out_dir + "/logs/" + p.name + ".lock";
      int lock_fd = lock_file(lock_path, false);
      if (lock_fd < 0) {
        lra::log::warn("sweep: " + p.name + " is still running in another process; waiting");
        lock_fd = lock_file(lock_path, true);
      }
      if (read_run_state(options.out_dir + "/" + p.name) == RunState::completed) {
        close(lock_fd);  // another sweep finished it while we waited
        ++result.skipped;
        continue;
      }
      const int s = free_slots.back();
      free_slots.pop_back();
      ChildSpec spec;
      spec.argv = train_command(options, p);
      // A run stopped by a signal or a crash continues from its checkpoint instead of restarting;
      // one that failed before its first checkpoint starts over in its folder (the sweep owns
      // it, and the run is not completed).
      spec.argv.push_back(std::filesystem::exists(options.out_dir + "/" + p.name + "/checkpoint.pt")
                              ? "--resume"
                              : "--overwrite");
      spec.argv.insert(spec.argv.end(), {"--set", "threads=" + std::to_string(slots[s].threads)});
      if (!slots[s].device.empty()) {
        spec.argv.insert(spec.argv.end(), {"--set", "device=cuda"});
        spec.env.push_back({"CUDA_VISIBLE_DEVICES", slots[s].device});
      }
      spec.cpus = slots[s].cpus;
      spec.log_path = options.out_dir + "/logs/" + p.name + ".log";
      spec.inherit_fd = lock_fd;
      const pid_t pid = start_child(spec);
      running[pid] = {p.name, s, lock_fd, std::chrono::steady_clock::now()};
      lra::log::info(lra::log::format("[%zu/%zu] start %s on %s", ++started, todo.size(),
                                      p.name.c_str(), describe(slots[s]).c_str()));
    }
    if (g_stop_signal && !result.stop_signal) {
      result.stop_signal = g_stop_signal;
      lra::log::warn(
          lra::log::format("sweep: signal %d; passing it to %zu running runs and starting no more",
                           result.stop_signal, running.size()));
      for (const auto& [pid, run] : running) kill(-pid, result.stop_signal);
    }
    if (running.empty()) break;
    const ChildExit exit = wait_any_child();
    if (exit.pid < 0) continue;  // a signal: forwarded at the top of the loop
    auto it = running.find(exit.pid);
    if (it == running.end()) continue;
    const Running run = it->second;
    running.erase(it);
    close(run.lock_fd);
    free_slots.push_back(run.slot);
    const std::string run_dir = options.out_dir + "/" + run.name;
    const RunState state = read_run_state(run_dir);
    if (exit.exit_code == 0 && state == RunState::completed) {
      ++result.completed;
      lra::log::info("done  " + run.name + " in " + elapsed(run.start) +
                     test_accuracy_text(run_dir));
    } else {
      ++result.failed;
      lra::log::warn(lra::log::format(
          "%s %s (exit %d) after %s; log: %s/logs/%s.log", to_string(state), run.name.c_str(),
          exit.exit_code, elapsed(run.start).c_str(), options.out_dir.c_str(), run.name.c_str()));
    }
  }
  if (g_stop_signal && !result.stop_signal) result.stop_signal = g_stop_signal;
  return result;
}

}  // namespace lra
