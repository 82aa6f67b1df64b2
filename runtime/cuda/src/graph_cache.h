//===- graph_cache.h - instantiated CUDA graphs keyed by the caller -------===//
#ifndef KILN_RUNTIME_CUDA_GRAPH_CACHE_H
#define KILN_RUNTIME_CUDA_GRAPH_CACHE_H

#include "driver.h"

namespace kiln::cuda {

// A few executable graphs, least recently used evicted first. Keys are
// compared byte for byte, so a key never stands for the wrong launches.
class GraphCache {
public:
  static constexpr size_t kCapacity = 8;

  explicit GraphCache(const DriverTable &driver) : driver(driver) {}
  GraphCache(const GraphCache &) = delete;
  GraphCache &operator=(const GraphCache &) = delete;
  ~GraphCache() { clear(); }

  CUgraphExec find(const void *key, size_t keySize);
  // Takes ownership of `exec` (destroyed on failure); false if out of host memory.
  bool insert(const void *key, size_t keySize, CUgraphExec exec);
  void clear();
  size_t size() const;

private:
  struct Entry {
    unsigned char *key = nullptr;
    size_t keySize = 0;
    CUgraphExec exec = nullptr;
    unsigned long long lastUse = 0;
  };
  void release(Entry &entry);

  const DriverTable &driver;
  Entry entries[kCapacity];
  unsigned long long useClock = 0;
};

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_GRAPH_CACHE_H
