#include "data/batch_prefetcher.h"

#include <numeric>

namespace lra {

BatchOrder::BatchOrder(int64_t size, uint64_t seed)
    : rng_(seed), order_(static_cast<size_t>(size)), pos_(order_.size()) {}

std::vector<int64_t> BatchOrder::next(int64_t batch_size) {
  const auto n = static_cast<size_t>(batch_size);
  if (pos_ + n > order_.size()) {
    std::iota(order_.begin(), order_.end(), 0);
    rng_.shuffle(order_);
    pos_ = 0;
  }
  std::vector<int64_t> batch(order_.begin() + static_cast<std::ptrdiff_t>(pos_),
                             order_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
  pos_ += n;
  return batch;
}

void BatchOrder::skip(int64_t batches, int64_t batch_size) {
  for (int64_t i = 0; i < batches; ++i) next(batch_size);
}

namespace {
BatchOrder positioned_order(int64_t size, uint64_t seed, int64_t batch_size, int64_t skip) {
  BatchOrder order(size, seed);
  order.skip(skip, batch_size);
  return order;
}
}  // namespace

BatchPrefetcher::BatchPrefetcher(const Split& split, int64_t batch_size, uint64_t seed,
                                 size_t depth, int64_t start_batch)
    : split_(split),
      batch_size_(batch_size),
      depth_(depth),
      order_(positioned_order(split.size(), seed, batch_size, start_batch)),
      thread_([this] { produce(); }) {}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void BatchPrefetcher::produce() {
  try {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return stop_ || ready_.size() < depth_; });
        if (stop_) return;
      }
      Batch batch = gather_batch(split_, order_.next(batch_size_));
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.push_back(std::move(batch));
      }
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
    changed_.notify_all();
  }
}

Batch BatchPrefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !ready_.empty() || error_; });
  if (ready_.empty()) std::rethrow_exception(error_);
  Batch batch = std::move(ready_.front());
  ready_.pop_front();
  lock.unlock();
  changed_.notify_all();
  return batch;
}

}  // namespace lra
