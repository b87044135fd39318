// A valid prepared ListOps set: 3 splits of 4 rows, length 6, vocab 16, 10 classes. The fuzz
// target for meta.json and the corpus replay test write it next to the meta.json they try.
#pragma once
#include <torch/torch.h>

#include "data/dataset.h"

namespace lra::fuzz {

inline TaskData tiny_listops() {
  TaskData data;
  data.task = "listops";
  data.vocab_size = 16;
  data.num_classes = 10;
  data.max_length = 6;
  for (Split* s : {&data.train, &data.val, &data.test}) {
    s->tokens =
        torch::tensor({1, 2, 15, 0, 0, 0, 11, 3, 4, 15, 0, 0, 5, 0, 0, 0, 0, 0, 12, 6, 7, 8, 15, 0},
                      torch::kUInt8)
            .view({4, 6});
    s->labels = torch::tensor({1, 4, 5, 8}, torch::kInt64);
  }
  return data;
}

}  // namespace lra::fuzz
