// Image: lra_prepare image reads CIFAR-10's binary batches (src/data/raw/cifar.cpp) or, where
// CIFAR is absent, IDX files such as Fashion-MNIST (src/data/raw/idx.cpp).
#include <memory>

#include "data/raw/image.h"
#include "data/task_registry.h"

namespace lra::tasks::image {

prepare::Command prepare_command() {
  struct State {
    raw::ImageOptions options;
    std::string format = "cifar";
  };
  auto s = std::make_shared<State>();
  prepare::Command c;
  c.description = "CIFAR-10 binary (grayscale) or IDX images";
  c.input_help = "cifar-10-batches-bin/ or a folder of IDX files";
  c.options = {
      {"--format", &s->format, "cifar or idx", prepare::one_of({"cifar", "idx"})},
      {"--pixel-offset", &s->options.pixel_offset,
       "0: id = gray (peers, black masked); 1: id = gray + 1", prepare::in_range(0, 1)},
  };
  c.run = [s](const prepare::Request& request) -> std::optional<raw::Prepared> {
    const std::string& input = prepare::require_input(request);
    if (s->format == "cifar") return raw::prepare_image_cifar(input, s->options, request.progress);
    return raw::prepare_image_idx(input, s->options, request.progress);
  };
  return c;
}

}  // namespace lra::tasks::image
