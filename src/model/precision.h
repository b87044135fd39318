// Mixed precision for the training and evaluation forward passes (train.precision).
#pragma once
#include <string>

#include <ATen/autocast_mode.h>
#include <c10/core/Device.h>

namespace lra {

// While alive, LibTorch's autocast runs eligible ops (matmuls, linear layers) of `device` in
// bfloat16 when precision == "bf16" (CUDA only: on the CPU bf16 matmuls are slower than fp32 on
// most machines, so "bf16" leaves the CPU in fp32); "fp32" changes nothing. Restores the previous
// state (and drops autocast's weight-cast cache) when it goes.
class AutocastGuard {
 public:
  AutocastGuard(const c10::Device& device, const std::string& precision)
      : type_(device.type()),
        active_(precision == "bf16" && device.is_cuda()),
        was_enabled_(active_ && at::autocast::is_autocast_enabled(type_)),
        was_dtype_(active_ ? at::autocast::get_autocast_dtype(type_) : at::kFloat) {
    if (!active_) return;
    at::autocast::set_autocast_enabled(type_, true);
    at::autocast::set_autocast_dtype(type_, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type_, was_enabled_);
    at::autocast::set_autocast_dtype(type_, was_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType type_;
  bool active_;
  bool was_enabled_;
  at::ScalarType was_dtype_;
};

// Turns autocast off for `device` while alive (the attention core: softmax normalisation,
// feature exponentials and linear-attention denominators need float32).
class AutocastOff {
 public:
  explicit AutocastOff(const c10::Device& device)
      : type_(device.type()), was_enabled_(at::autocast::is_autocast_enabled(type_)) {
    if (was_enabled_) at::autocast::set_autocast_enabled(type_, false);
  }
  ~AutocastOff() {
    if (was_enabled_) at::autocast::set_autocast_enabled(type_, true);
  }
  AutocastOff(const AutocastOff&) = delete;
  AutocastOff& operator=(const AutocastOff&) = delete;

 private:
  c10::DeviceType type_;
  bool was_enabled_;
};

}  // namespace lra
