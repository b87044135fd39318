#include "train/rng_state.h"

#include <mutex>

#include <ATen/Context.h>
#include <ATen/core/Generator.h>

namespace lra {
namespace {

torch::Tensor get_state(at::Generator gen) {  // a handle: copies share it
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state().clone();
}

void set_state(at::Generator gen, const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state.to(torch::kCPU));
}

}  // namespace

RngState capture_rng_state(const c10::Device& device) {
  RngState s;
  s.cpu = get_state(at::globalContext().defaultGenerator(c10::Device(c10::kCPU)));
  if (device.is_cuda()) s.cuda = get_state(at::globalContext().defaultGenerator(device));
  return s;
}

void restore_rng_state(const RngState& state, const c10::Device& device) {
  if (state.cpu.defined())
    set_state(at::globalContext().defaultGenerator(c10::Device(c10::kCPU)), state.cpu);
  if (device.is_cuda() && state.cuda.defined())
    set_state(at::globalContext().defaultGenerator(device), state.cuda);
}

}  // namespace lra
