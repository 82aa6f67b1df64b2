//===- SharedLibraryLinker.cpp - lld as a library ------------------------===//
#include "HostTargetInternal.h"

#include "lld/Common/Driver.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>
#include <optional>

LLD_HAS_DRIVER(elf)

namespace kiln::host {

namespace {

/// Where Debian/Ubuntu and most x86-64 distributions keep libc.so.
constexpr const char *kLibraryDirs[] = {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
                                        "/usr/lib64", "/lib64", "/usr/lib"};

std::vector<std::string> findLibraryDirs() {
  std::vector<std::string> dirs;
  for (const char *dir : kLibraryDirs)
    if (llvm::sys::fs::exists(llvm::Twine(dir) + "/libc.so"))
      dirs.push_back(dir);
  return dirs;
}

/// compiler-rt's builtins (half/bfloat conversions and the like), linked
/// statically with their symbols hidden, so the .so needs no libgcc_s.
std::optional<std::string> findBuiltinsArchive() {
  if (llvm::sys::fs::exists(KILN_HOST_BUILTINS_ARCHIVE))
    return std::string(KILN_HOST_BUILTINS_ARCHIVE);
  return std::nullopt;
}

} // namespace

llvm::Error linkSharedLibrary(llvm::StringRef objectPath, llvm::StringRef outputPath,
                              llvm::StringRef soname, bool sanitizerRuntimeFromLoader) {
  std::vector<std::string> dirs = findLibraryDirs();
  if (dirs.empty())
    return llvm::createStringError("cannot find libc.so to link against (looked in "
                                   "/usr/lib/x86_64-linux-gnu and /lib64); install the C "
                                   "library's development files (libc6-dev)");
  std::vector<std::string> args = {"ld.lld", "-shared", "-o", outputPath.str(),
                                   "-soname", soname.str(), "--no-undefined",
                                   "-z", "now", "-z", "relro", "-z", "noexecstack",
                                   "--hash-style=gnu", "--build-id=sha1", "--gc-sections",
                                   "--as-needed", "--exclude-libs=ALL", objectPath.str()};
  if (sanitizerRuntimeFromLoader)
    llvm::erase(args, "--no-undefined");
  if (std::optional<std::string> builtins = findBuiltinsArchive())
    args.push_back(*builtins);
  for (const std::string &dir : dirs)
    args.push_back("-L" + dir);
  args.insert(args.end(), {"-lm", "-lc"});
  std::vector<const char *> argv;
  for (const std::string &arg : args)
    argv.push_back(arg.c_str());

  // lld keeps global state: one link at a time per process.
  static std::mutex linkMutex;
  std::lock_guard<std::mutex> lock(linkMutex);
  std::string messages;
  llvm::raw_string_ostream diagnostics(messages);
  lld::Result result =
      lld::lldMain(argv, diagnostics, diagnostics, {{lld::Gnu, &lld::elf::link}});
  if (result.retCode != 0)
    return llvm::createStringError("linking " + outputPath + " failed:\n" + messages);
  return llvm::Error::success();
}

} // namespace kiln::host
