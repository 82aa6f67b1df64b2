//===- PruneAllocate.cpp - per-layer sparsity from calibration sensitivity -===//
#include "Calibration.h"
#include "CompressionUtils.h"
#include "Numerics.h"
#include "Sparsify.h"

#include "kiln/Lowering/CompressionPasses.h"

namespace kiln {
#define GEN_PASS_DEF_PRUNEALLOCATE
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

constexpr int kLevels = 10; // densities 1.0, 0.9, ..., 0.1

struct Candidate {
  LinearOp linear;
  DenseWeight weight;
  std::vector<double> error; // relative squared output error per level
  int level = 0;
  double density() const { return 1.0 - 0.1 * level; }
};

struct PruneAllocatePass : kiln::impl::PruneAllocateBase<PruneAllocatePass> {
  using PruneAllocateBase::PruneAllocateBase;

  void runOnOperation() override {
    if (!(density > 0.0 && density <= 1.0)) {
      getOperation()->emitError() << getArgument() << ": density must lie in (0, 1]";
      return signalPassFailure();
    }
    std::vector<Candidate> candidates;
    if (failed(forEachCalibratedLayer(
            getOperation(), layers, getArgument(), {calib, calibSamples, calibSeed},
            /*lastFirst=*/false, [&](LinearOp linear, DenseWeight &weight, CalibrationData &data) {
              candidates.push_back(measure(linear, weight, data));
              return success();
            })))
      return signalPassFailure();
    allocate(candidates);
    for (Candidate &candidate : candidates) {
      if (candidate.level == 0)
        continue;
      OpBuilder builder(candidate.linear);
      WeightOp op = createUnstructuredWeight(builder, candidate.linear, candidate.weight,
                                             candidate.density(), resourceThreshold);
      if (commitIfSmaller(candidate.linear, candidate.weight, op.getResult(), getArgument()))
        candidate.linear.emitRemark()
            << getArgument() << ": layer '" << layerName(candidate.linear) << "': density "
            << candidate.density() << ", relative squared output error "
            << candidate.error[candidate.level];
    }
  }

  Candidate measure(LinearOp linear, DenseWeight &weight, CalibrationData &data) {
    const std::vector<float> &x = data.inputs[linear.getOperation()];
    std::vector<double> h = numerics::gram(x.data(), data.rows(linear), weight.cols);
    std::vector<float> zero(weight.values.size(), 0.0f);
    double norm = std::max(
        numerics::outputErrorSquared(weight.values.data(), zero.data(), weight.rows, weight.cols, h),
        1e-30);
    Candidate candidate{linear, weight, {}, 0};
    for (int level = 0; level < kLevels; ++level) {
      std::vector<float> pruned = magnitudePruned(weight, 1.0 - 0.1 * level);
      candidate.error.push_back(numerics::outputErrorSquared(weight.values.data(), pruned.data(),
                                                             weight.rows, weight.cols, h) / norm);
    }
    return candidate;
  }

  /// Lowers densities one step at a time where the error grows least per
  /// weight removed, until the kept total meets the target.
  void allocate(std::vector<Candidate> &candidates) const {
    double total = 0, kept = 0;
    for (const Candidate &c : candidates)
      total += double(c.weight.values.size());
    kept = total;
    while (kept > density * total + 0.5) {
      Candidate *best = nullptr;
      double bestCost = 0;
      for (Candidate &c : candidates) {
        if (c.level + 1 >= kLevels)
          continue;
        double cost = (c.error[c.level + 1] - c.error[c.level]) / double(c.weight.values.size());
        if (!best || cost < bestCost) {
          best = &c;
          bestCost = cost;
        }
      }
      if (!best)
        break;
      ++best->level;
      kept -= 0.1 * double(best->weight.values.size());
    }
  }
};

} // namespace
