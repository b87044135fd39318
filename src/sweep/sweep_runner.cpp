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

// The sweep's slots and the runs that hold them.
struct Workers {
  std::vector<Slot> slots;
  std::vector<int> free_slots;  // the next run takes the back one
  std::map<pid_t, Running> running;
};

Workers make_workers(const SweepOptions& options) {
  Workers workers;
  workers.slots = make_slots(options);
  for (int s = static_cast<int>(workers.slots.size()) - 1; s >= 0; --s)
    workers.free_slots.push_back(s);
  return workers;
}

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

namespace {

std::string run_dir(const SweepOptions& options, const std::string& name) {
  return options.out_dir + "/" + name;
}

std::vector<const SweepPoint*> runs_not_completed(const SweepOptions& options,
                                                  const std::vector<SweepPoint>& points,
                                                  int& completed_before) {
  std::vector<const SweepPoint*> todo;
  for (const auto& p : points) {
    if (read_run_state(run_dir(options, p.name)) == RunState::completed)
      ++completed_before;
    else
      todo.push_back(&p);
  }
  return todo;
}

// The run's lock, held until it exits so that two sweeps over one folder never run it twice;
// -1 when another sweep completed it while this one waited for the lock.
int claim_run(const SweepOptions& options, const SweepPoint& p) {
  const std::string lock_path = options.out_dir + "/logs/" + p.name + ".lock";
  int lock_fd = lock_file(lock_path, false);
  if (lock_fd < 0) {
    lra::log::warn("sweep: " + p.name + " is still running in another process; waiting");
    lock_fd = lock_file(lock_path, true);
  }
  if (read_run_state(run_dir(options, p.name)) == RunState::completed) {
    close(lock_fd);
    return -1;
  }
  return lock_fd;
}

ChildSpec child_spec(const SweepOptions& options, const SweepPoint& p, const Slot& slot,
                     int lock_fd) {
  ChildSpec spec;
  spec.argv = train_command(options, p);
  // A run stopped by a signal or a crash continues from its checkpoint instead of restarting;
  // one that failed before its first checkpoint starts over in its folder (the sweep owns it,
  // and the run is not completed).
  spec.argv.push_back(std::filesystem::exists(run_dir(options, p.name) + "/checkpoint.pt")
                          ? "--resume"
                          : "--overwrite");
  spec.argv.insert(spec.argv.end(), {"--set", "threads=" + std::to_string(slot.threads)});
  if (!slot.device.empty()) {
    spec.argv.insert(spec.argv.end(), {"--set", "device=cuda"});
    spec.env.push_back({"CUDA_VISIBLE_DEVICES", slot.device});
  }
  spec.cpus = slot.cpus;
  spec.log_path = options.out_dir + "/logs/" + p.name + ".log";
  spec.inherit_fd = lock_fd;
  return spec;
}

// Returns the slot the run took.
int start_run(const SweepOptions& options, const SweepPoint& p, int lock_fd, Workers& workers) {
  const int s = workers.free_slots.back();
  workers.free_slots.pop_back();
  const pid_t pid = start_child(child_spec(options, p, workers.slots[s], lock_fd));
  workers.running[pid] = {p.name, s, lock_fd, std::chrono::steady_clock::now()};
  return s;
}

void forward_stop_signal(const Workers& workers, SweepResult& result) {
  result.stop_signal = g_stop_signal;
  lra::log::warn(
      lra::log::format("sweep: signal %d; passing it to %zu running runs and starting no more",
                       result.stop_signal, workers.running.size()));
  for (const auto& [pid, run] : workers.running) kill(-pid, result.stop_signal);
}

// Counts a child that exited, if it is one of the sweep's runs, and frees its slot.
void finish_run(const SweepOptions& options, const ChildExit& exit, Workers& workers,
                SweepResult& result) {
  auto it = workers.running.find(exit.pid);
  if (it == workers.running.end()) return;
  const Running run = it->second;
  workers.running.erase(it);
  close(run.lock_fd);
  workers.free_slots.push_back(run.slot);
  const RunState state = read_run_state(run_dir(options, run.name));
  if (exit.exit_code == 0 && state == RunState::completed) {
    ++result.completed;
    lra::log::info("done  " + run.name + " in " + elapsed(run.start) +
                   test_accuracy_text(run_dir(options, run.name)));
    return;
  }
  ++result.failed;
  lra::log::warn(lra::log::format("%s %s (exit %d) after %s; log: %s/logs/%s.log", to_string(state),
                                  run.name.c_str(), exit.exit_code, elapsed(run.start).c_str(),
                                  options.out_dir.c_str(), run.name.c_str()));
}

}  // namespace

SweepResult run_sweep(const SweepOptions& options, const std::vector<SweepPoint>& points) {
  std::filesystem::create_directories(options.out_dir + "/logs");
  SweepResult result;
  const auto todo = runs_not_completed(options, points, result.skipped);
  lra::log::info(lra::log::format("sweep: %zu runs, %d already completed, %zu to run",
                                  points.size(), result.skipped, todo.size()));
  handle_stop_signals(on_stop_signal);  // interrupts waitpid, so the signal is forwarded at once
  Workers workers = make_workers(options);
  size_t next = 0, started = 0;
  while (next < todo.size() || !workers.running.empty()) {
    while (!g_stop_signal && next < todo.size() && !workers.free_slots.empty()) {
      const SweepPoint& p = *todo[next++];
      const int lock_fd = claim_run(options, p);
      if (lock_fd < 0) {
        ++result.skipped;
        continue;
      }
      const int slot = start_run(options, p, lock_fd, workers);
      lra::log::info(lra::log::format("[%zu/%zu] start %s on %s", ++started, todo.size(),
                                      p.name.c_str(), describe(workers.slots[slot]).c_str()));
    }
    if (g_stop_signal && !result.stop_signal) forward_stop_signal(workers, result);
    if (workers.running.empty()) break;
    const ChildExit exit = wait_any_child();
    if (exit.pid >= 0) finish_run(options, exit, workers, result);  // < 0: a signal, see above
  }
  if (g_stop_signal && !result.stop_signal) result.stop_signal = g_stop_signal;
  return result;
}

}  // namespace lra
