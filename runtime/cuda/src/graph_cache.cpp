//===- graph_cache.cpp - instantiated CUDA graphs keyed by the caller -----===//
#include "graph_cache.h"

#include <cstdlib>
#include <cstring>

namespace kiln::cuda {

CUgraphExec GraphCache::find(const void *key, size_t keySize) {
  for (Entry &entry : entries)
    if (entry.exec && entry.keySize == keySize && memcmp(entry.key, key, keySize) == 0) {
      entry.lastUse = ++useClock;
      return entry.exec;
    }
  return nullptr;
}

bool GraphCache::insert(const void *key, size_t keySize, CUgraphExec exec) {
  Entry *slot = &entries[0];
  for (Entry &entry : entries)
    if (!entry.exec || entry.lastUse < slot->lastUse)
      slot = &entry;
  unsigned char *copy = static_cast<unsigned char *>(malloc(keySize));
  if (!copy) {
    driver.cuGraphExecDestroy(exec);
    return false;
  }
  memcpy(copy, key, keySize);
  release(*slot);
  *slot = {copy, keySize, exec, ++useClock};
  return true;
}

void GraphCache::release(Entry &entry) {
  if (entry.exec)
    driver.cuGraphExecDestroy(entry.exec);
  free(entry.key);
  entry = Entry();
}

void GraphCache::clear() {
  for (Entry &entry : entries)
    release(entry);
}

size_t GraphCache::size() const {
  size_t count = 0;
  for (const Entry &entry : entries)
    count += entry.exec != nullptr;
  return count;
}

} // namespace kiln::cuda
