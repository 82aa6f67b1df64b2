//===- TileAndVectorize.cpp - vector tiles of every linalg op ------------===//
#include "kiln/Lowering/HostPasses.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_TILEANDVECTORIZE
#include "kiln/Lowering/HostPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// A tile size that divides `extent` evenly, so that every tile has a
/// static shape and needs no masks: the whole loop when it is short,
/// otherwise the largest divisor not above `target`.
int64_t evenTile(int64_t extent, int64_t target) {
  if (ShapedType::isDynamic(extent))
    return 1;
  if (extent <= 2 * target)
    return std::max<int64_t>(1, extent);
  for (int64_t tile = target; tile > 1; --tile)
    if (extent % tile == 0)
      return tile;
  return 1;
}

/// Whether `expr` only grows with its loops (dims and symbols added,
/// scaled or divided by non-negative constants).
bool isNonDecreasing(AffineExpr expr) {
  switch (expr.getKind()) {
  case AffineExprKind::DimId:
  case AffineExprKind::SymbolId:
  case AffineExprKind::Constant:
    return true;
  case AffineExprKind::Add: {
    auto sum = cast<AffineBinaryOpExpr>(expr);
    return isNonDecreasing(sum.getLHS()) && isNonDecreasing(sum.getRHS());
  }
  case AffineExprKind::Mul:
  case AffineExprKind::FloorDiv:
  case AffineExprKind::CeilDiv: {
    // Affine products and divisions have their constant on the right.
    auto scaled = cast<AffineBinaryOpExpr>(expr);
    auto factor = dyn_cast<AffineConstantExpr>(scaled.getRHS());
    return factor && factor.getValue() >= 0 && isNonDecreasing(scaled.getLHS());
  }
  default:
    return false;
  }
}

/// Whether some operand is indexed through an expression that does not
/// grow with its loops, such as ConvTranspose's flipped kernel (-d + K - 1).
/// Tiling computes each operand's slice from the indices of a tile's first
/// and last iteration (for untiled loops too: they become one whole tile),
/// which is only right when indices grow with the loops; such ops are left
/// to the scalar loops of linalg-to-loops.
bool hasDecreasingIndex(linalg::LinalgOp op) {
  return llvm::any_of(op.getIndexingMapsArray(), [](AffineMap map) {
    return !llvm::all_of(map.getResults(), isNonDecreasing);
  });
}

/// Tile sizes per loop: about `innerTile` on the innermost loop and
/// `parallelTile` on the innermost parallel loop, 1 elsewhere.
SmallVector<int64_t> chooseTileSizes(linalg::LinalgOp op, int64_t innerTile,
                                     int64_t parallelTile) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<int64_t> tiles(numLoops, 1);
  if (numLoops == 0)
    return tiles;
  // The innermost loop; when it is short (the codes in one byte of a packed
  // weight, say), the loops around it of the same kind fill the vector.
  int64_t inner = int64_t(numLoops) - 1;
  int64_t lanes = 1;
  for (int64_t d = inner; d >= 0 && lanes < innerTile && iterators[d] == iterators[inner]; --d) {
    tiles[d] = evenTile(ranges[d], std::max<int64_t>(1, innerTile / lanes));
    lanes *= tiles[d];
    if (tiles[d] != ranges[d])
      break; // an outer loop would make the tile non-contiguous
  }
  for (int64_t d = inner - 1; d >= 0; --d)
    if (iterators[d] == utils::IteratorType::parallel && tiles[d] == 1) {
      tiles[d] = evenTile(ranges[d], parallelTile);
      break;
    }
  return tiles;
}

/// Vectors of i1 are bit-packed in memory while tensors of i1 keep a byte
/// per element: such ops keep scalar tiles.
bool hasBooleanOperand(linalg::LinalgOp op) {
  return llvm::any_of(op->getOperandTypes(), [](Type type) {
    auto shaped = dyn_cast<ShapedType>(type);
    return getElementTypeOrSelf(type).isInteger(1) && (shaped || type.isInteger(1));
  });
}

/// Windows such as a convolution's (d3 + d6) read overlapping slices; the
/// vectorizer's transfer reads assume projected permutations.
bool hasPermutationMaps(linalg::LinalgOp op) {
  return llvm::all_of(op.getIndexingMapsArray(), [](AffineMap map) {
    return map.isProjectedPermutation(/*allowZeroInResults=*/true);
  });
}

struct TileAndVectorizePass : kiln::impl::TileAndVectorizeBase<TileAndVectorizePass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && op.getNumLoops() > 0)
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops)
      tileAndVectorize(rewriter, op);
  }

  void tileAndVectorize(IRRewriter &rewriter, linalg::LinalgOp op) {
    if (hasDecreasingIndex(op))
      return; // the op stays as it is: still correct
    bool vectorizable = !hasBooleanOperand(op) && hasPermutationMaps(op);
    SmallVector<int64_t> tiles = chooseTileSizes(op, innerTile, parallelTile);
    scf::SCFTilingOptions options;
    options.setTileSizes(getAsIndexOpFoldResult(&getContext(), tiles));
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> tiled =
        scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return; // the op stays as it is: still correct
    rewriter.replaceOp(op, tiled->replacements);
    if (!vectorizable)
      return;
    for (Operation *tile : tiled->tiledOps) {
      // Tiles are static (evenTile), so no vector sizes or masks are needed.
      if (failed(linalg::vectorizeOpPrecondition(tile)))
        continue;
      rewriter.setInsertionPoint(tile);
      FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(rewriter, tile);
      if (succeeded(vectorized))
        rewriter.replaceOp(tile, vectorized->replacements);
    }
  }
};

} // namespace
