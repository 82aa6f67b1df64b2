//===- OutputFile.h - writing kilnc's outputs safely ---------------------===//
#ifndef KILN_SUPPORT_OUTPUTFILE_H
#define KILN_SUPPORT_OUTPUTFILE_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace kiln {

/// Writes what `write` produces to `path`. A regular (or new) file is written
/// through a temporary file beside it, renamed into place once complete, so a
/// failure leaves nothing behind. Anything else that already exists
/// (/dev/null, a pipe) is written in place: renaming over it would replace a
/// device node with a plain file.
llvm::Error writeOutputFile(llvm::StringRef path,
                            llvm::function_ref<void(llvm::raw_ostream &)> write);

/// The same for bytes already in memory.
llvm::Error writeOutputFile(llvm::StringRef path, llvm::StringRef bytes);

/// Where to build an output that another tool writes (a linker): beside it,
/// or in the temporary folder when the output is an existing special file.
std::string stagingPathFor(llvm::StringRef outputPath);

/// Moves a finished staging file to `outputPath` (renamed into place, or
/// copied into a special file), removing the staging file.
llvm::Error commitStagedFile(llvm::StringRef stagingPath, llvm::StringRef outputPath);

} // namespace kiln

#endif // KILN_SUPPORT_OUTPUTFILE_H
