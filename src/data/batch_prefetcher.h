// Training batches prepared off the training thread: an endless, seeded, reshuffled pass over
// a split, gathered a few batches ahead by one background thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "util/rng.h"

namespace lra {

// The order alone: one permutation per epoch, the partial last batch of an epoch dropped.
class BatchOrder {
 public:
  BatchOrder(int64_t size, uint64_t seed);
  std::vector<int64_t> next(int64_t batch_size);
  // Moves past `batches` batches as next() would: a resumed run continues the same order.
  void skip(int64_t batches, int64_t batch_size);

 private:
  Rng rng_;
  std::vector<int64_t> order_;
  size_t pos_;
};

class BatchPrefetcher {
 public:
  // `start_batch` batches of the order are skipped first (resuming after that many steps).
  BatchPrefetcher(const Split& split, int64_t batch_size, uint64_t seed, size_t depth = 4,
                  int64_t start_batch = 0);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;
  // The next batch in the seeded order (the same sequence as a single-threaded loop).
  Batch next();

 private:
  void produce();
  const Split& split_;
  int64_t batch_size_;
  size_t depth_;
  BatchOrder order_;
  std::deque<Batch> ready_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace lra
