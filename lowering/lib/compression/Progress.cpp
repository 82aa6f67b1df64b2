//===- Progress.cpp - a progress bar on stderr ----------------------------===//
#include "kiln/Lowering/Progress.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <atomic>

namespace kiln {

namespace {

std::atomic<ProgressMode> progressMode{ProgressMode::Auto};

constexpr int kBarWidth = 24;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

std::string seconds(double value) {
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%.1f s", value);
  return text;
}

} // namespace

void setProgressMode(ProgressMode mode) { progressMode = mode; }

Progress::Progress(llvm::StringRef label, int64_t total)
    : label(label.str()), total(std::max<int64_t>(total, 0)), start(Clock::now()),
      lastDraw(start) {
  ProgressMode mode = progressMode;
  enabled = mode == ProgressMode::Always ||
            (mode == ProgressMode::Auto && llvm::errs().is_displayed());
}

Progress::~Progress() {
  if (!enabled)
    return;
  if (!drawn || done != total)
    draw();
  llvm::errs() << "\n";
}

void Progress::advance(int64_t steps) {
  done = std::min(total, done + steps);
  if (!enabled)
    return;
  Clock::time_point now = Clock::now();
  if (done == total || now - lastDraw >= kRedrawInterval) {
    lastDraw = now;
    draw();
  }
}

void Progress::draw() {
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  llvm::errs() << "\r" << render(label, done, total, elapsed);
  llvm::errs().flush();
  drawn = true;
}

std::string Progress::render(llvm::StringRef label, int64_t done, int64_t total,
                             double elapsedSeconds) {
  int filled = total > 0 ? int(done * kBarWidth / total) : kBarWidth;
  std::string bar(size_t(filled), '=');
  if (filled < kBarWidth)
    bar += '>' + std::string(size_t(kBarWidth - filled - 1), ' ');
  std::string line;
  llvm::raw_string_ostream os(line);
  os << "kiln: " << label << " [" << bar << "] " << done << "/" << total << "  "
     << seconds(elapsedSeconds);
  if (done > 0 && done < total)
    os << ", ETA " << seconds(elapsedSeconds / double(done) * double(total - done));
  return line;
}

} // namespace kiln
