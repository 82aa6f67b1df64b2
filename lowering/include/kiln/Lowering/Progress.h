//===- Progress.h - a progress bar on stderr for long compression steps --===//
#ifndef KILN_LOWERING_PROGRESS_H
#define KILN_LOWERING_PROGRESS_H

#include "llvm/ADT/StringRef.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace kiln {

/// Auto: draw only when stderr is a terminal (tests and logs stay clean).
enum class ProgressMode { Auto, Always, Never };

/// Process-wide; kilnc sets it from --progress / --no-progress.
void setProgressMode(ProgressMode mode);

/// "<label> [=====>    ] 12/64  3.1 s, ETA 9.4 s" on stderr, redrawn in
/// place at most ten times a second; a last line and a newline when it ends.
class Progress {
public:
  Progress(llvm::StringRef label, int64_t total);
  ~Progress();
  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;

  void advance(int64_t steps = 1);

  /// The line drawn for `done` of `total` after `elapsedSeconds` (for tests).
  static std::string render(llvm::StringRef label, int64_t done, int64_t total,
                            double elapsedSeconds);

private:
  using Clock = std::chrono::steady_clock;
  void draw();

  std::string label;
  int64_t total, done = 0;
  bool enabled, drawn = false;
  Clock::time_point start, lastDraw;
};

} // namespace kiln

#endif // KILN_LOWERING_PROGRESS_H
