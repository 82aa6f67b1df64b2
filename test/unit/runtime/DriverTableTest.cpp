//===- DriverTableTest.cpp - resolving the X-macro symbol table -----------===//
#include "FakeDriver.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>
#include <string>

using namespace kiln::cuda;
using namespace kiln::cuda::testing;

namespace {

// Resolves from the fake table by base name, except the names in `absent`.
struct FakeLibrary {
  DriverTable fakes = fakeDriverTable();
  std::set<std::string> absent;
  std::map<std::string, std::pair<std::string, int>> asked; // name -> (exported, version)
};

void *resolveFake(void *context, const char *name, const char *exported, int abiVersion) {
  auto *library = static_cast<FakeLibrary *>(context);
  library->asked[name] = {exported, abiVersion};
  if (library->absent.count(exported))
    return nullptr;
#define KILN_FIND_FAKE(entry, entryExported, entryVersion, params)                        \
  if (strcmp(name, #entry) == 0)                                                          \
    return reinterpret_cast<void *>(library->fakes.entry);
  KILN_CUDA_DRIVER_SYMBOLS(KILN_FIND_FAKE)
#undef KILN_FIND_FAKE
  return nullptr;
}

TEST(DriverTableTest, ResolvesEveryEntryWithItsAbiVersion) {
  FakeLibrary library;
  DriverTable table;
  char missing[256];
  EXPECT_EQ(resolveDriverTable(resolveFake, &library, &table, missing, sizeof(missing)), 0u);
  EXPECT_STREQ(missing, "");
  EXPECT_EQ(table.cuMemAlloc, library.fakes.cuMemAlloc);
  EXPECT_EQ(table.cuGraphLaunch, library.fakes.cuGraphLaunch);
  // The versioned entry points the signatures were declared for.
  EXPECT_EQ(library.asked["cuMemAlloc"], std::make_pair(std::string("cuMemAlloc_v2"), 3020));
  EXPECT_EQ(library.asked["cuDevicePrimaryCtxRelease"],
            std::make_pair(std::string("cuDevicePrimaryCtxRelease_v2"), 11000));
  EXPECT_EQ(library.asked["cuStreamBeginCapture"],
            std::make_pair(std::string("cuStreamBeginCapture_v2"), 10010));
}

TEST(DriverTableTest, NamesMissingSymbols) {
  FakeLibrary library;
  library.absent = {"cuGraphInstantiateWithFlags", "cuStreamBeginCapture_v2"};
  DriverTable table;
  char missing[256];
  EXPECT_EQ(resolveDriverTable(resolveFake, &library, &table, missing, sizeof(missing)), 2u);
  EXPECT_STREQ(missing, "cuStreamBeginCapture_v2, cuGraphInstantiateWithFlags");
  EXPECT_EQ(table.cuGraphInstantiateWithFlags, nullptr);
  EXPECT_NE(table.cuInit, nullptr);
}

TEST(DriverTableTest, TruncatesALongMissingList) {
  FakeLibrary library;
  library.absent = {"cuInit", "cuDriverGetVersion", "cuGetErrorName", "cuGetErrorString"};
  DriverTable table;
  char missing[16];
  EXPECT_EQ(resolveDriverTable(resolveFake, &library, &table, missing, sizeof(missing)), 4u);
  EXPECT_LT(strlen(missing), sizeof(missing));
}

} // namespace
