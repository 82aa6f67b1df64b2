//===- OutputFile.cpp - writing kilnc's outputs safely -------------------===//
#include "kiln/Support/OutputFile.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

namespace kiln {

static bool isExistingSpecialFile(llvm::StringRef path) {
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(path, status))
    return false; // does not exist (or cannot be inspected): create it
  return status.type() != llvm::sys::fs::file_type::regular_file &&
         status.type() != llvm::sys::fs::file_type::file_not_found;
}

static llvm::Error writeInPlace(llvm::StringRef path,
                                llvm::function_ref<void(llvm::raw_ostream &)> write) {
  std::error_code error;
  llvm::raw_fd_ostream os(path, error);
  if (error)
    return llvm::createStringError(path + ": cannot open for writing: " + error.message());
  write(os);
  os.flush();
  if (os.has_error())
    return llvm::createStringError(path + ": write failed: " + os.error().message());
  return llvm::Error::success();
}

llvm::Error writeOutputFile(llvm::StringRef path,
                            llvm::function_ref<void(llvm::raw_ostream &)> write) {
  if (isExistingSpecialFile(path))
    return writeInPlace(path, write);
  llvm::SmallString<256> model(path);
  model += ".tmp-%%%%%%";
  llvm::Expected<llvm::sys::fs::TempFile> temp = llvm::sys::fs::TempFile::create(model);
  if (!temp)
    return llvm::createStringError(path + ": cannot create output: " +
                                   llvm::toString(temp.takeError()));
  {
    llvm::raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
    write(os);
    os.flush();
    if (os.has_error()) {
      llvm::consumeError(temp->discard());
      return llvm::createStringError(path + ": write failed: " + os.error().message());
    }
  }
  if (llvm::Error error = temp->keep(path))
    return llvm::createStringError(path + ": cannot write output: " +
                                   llvm::toString(std::move(error)));
  return llvm::Error::success();
}

llvm::Error writeOutputFile(llvm::StringRef path, llvm::StringRef bytes) {
  return writeOutputFile(path, [&](llvm::raw_ostream &os) { os << bytes; });
}

std::string stagingPathFor(llvm::StringRef outputPath) {
  llvm::SmallString<256> path;
  if (isExistingSpecialFile(outputPath)) {
    llvm::sys::path::system_temp_directory(/*erasedOnReboot=*/true, path);
    llvm::sys::path::append(path, "kiln-output-%%%%%%");
    llvm::sys::fs::createUniquePath(path, path, /*MakeAbsolute=*/false);
    return std::string(path);
  }
  path = outputPath;
  path += ".tmp-link";
  return std::string(path);
}

llvm::Error commitStagedFile(llvm::StringRef stagingPath, llvm::StringRef outputPath) {
  if (!isExistingSpecialFile(outputPath)) {
    if (std::error_code error = llvm::sys::fs::rename(stagingPath, outputPath))
      return llvm::createStringError(outputPath + ": cannot write output: " + error.message());
    return llvm::Error::success();
  }
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> staged =
      llvm::MemoryBuffer::getFile(stagingPath, /*IsText=*/false);
  if (!staged)
    return llvm::createStringError(stagingPath + ": cannot read: " + staged.getError().message());
  llvm::sys::fs::remove(stagingPath);
  return writeInPlace(outputPath, [&](llvm::raw_ostream &os) { os << (*staged)->getBuffer(); });
}

} // namespace kiln
