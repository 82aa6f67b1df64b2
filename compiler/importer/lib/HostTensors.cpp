//===- HostTensors.cpp - tensor contents known at import time ------------===//
#include "HostTensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <cstring>

using namespace mlir;

namespace kiln::onnx_import {

bool HostTensor::allConstant() const {
  return llvm::all_of(ints, [](const SymInt &v) { return v.isConstant(); });
}

std::optional<std::vector<int64_t>> HostTensor::constantInts() const {
  std::vector<int64_t> result;
  result.reserve(size());
  if (isFloat()) {
    for (double v : reals)
      result.push_back(int64_t(v));
    return result;
  }
  for (const SymInt &v : ints) {
    if (!v.isConstant())
      return std::nullopt;
    result.push_back(v.constant);
  }
  return result;
}

static const llvm::fltSemantics *halfSemantics(int32_t dtype) {
  if (dtype == kFloat16)
    return &llvm::APFloat::IEEEhalf();
  if (dtype == kBFloat16)
    return &llvm::APFloat::BFloat();
  return nullptr;
}

std::optional<HostTensor> decodeHostTensor(llvm::ArrayRef<char> bytes, int32_t dtype,
                                           llvm::ArrayRef<int64_t> shape) {
  std::optional<unsigned> bits = storageBits(dtype);
  if (!bits || *bits < 8 || (!isFloatDType(dtype) && !isIntegerDType(dtype)))
    return std::nullopt;
  HostTensor tensor;
  tensor.shape.assign(shape.begin(), shape.end());
  tensor.dtype = dtype;
  size_t width = *bits / 8, count = bytes.size() / width;
  for (size_t i = 0; i < count; ++i) {
    uint64_t pattern = 0;
    for (size_t b = 0; b < width; ++b)
      pattern |= uint64_t(uint8_t(bytes[i * width + b])) << (8 * b);
    if (dtype == kFloat) {
      float f;
      uint32_t p = uint32_t(pattern);
      std::memcpy(&f, &p, 4);
      tensor.reals.push_back(f);
    } else if (dtype == kDouble) {
      double d;
      std::memcpy(&d, &pattern, 8);
      tensor.reals.push_back(d);
    } else if (const llvm::fltSemantics *sem = halfSemantics(dtype)) {
      llvm::APFloat value(*sem, llvm::APInt(16, pattern));
      bool lost;
      value.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven, &lost);
      tensor.reals.push_back(value.convertToDouble());
    } else if (isSignedIntDType(dtype)) {
      tensor.ints.push_back(SymInt::of(llvm::SignExtend64(pattern, *bits)));
    } else {
      tensor.ints.push_back(SymInt::of(int64_t(pattern)));
    }
  }
  return tensor;
}

std::vector<char> encodeHostTensor(const HostTensor &tensor) {
  unsigned width = *storageBits(tensor.dtype) / 8;
  std::vector<char> bytes(size_t(tensor.size()) * width);
  for (int64_t i = 0; i < tensor.size(); ++i) {
    uint64_t pattern;
    if (tensor.dtype == kFloat) {
      float f = float(tensor.reals[i]);
      uint32_t p;
      std::memcpy(&p, &f, 4);
      pattern = p;
    } else if (tensor.dtype == kDouble) {
      std::memcpy(&pattern, &tensor.reals[i], 8);
    } else if (const llvm::fltSemantics *sem = halfSemantics(tensor.dtype)) {
      llvm::APFloat value(tensor.reals[i]);
      bool lost;
      value.convert(*sem, llvm::APFloat::rmNearestTiesToEven, &lost);
      pattern = value.bitcastToAPInt().getZExtValue();
    } else {
      pattern = uint64_t(tensor.ints[i].constant);
    }
    for (unsigned b = 0; b < width; ++b)
      bytes[i * width + b] = char((pattern >> (8 * b)) & 0xff);
  }
  return bytes;
}

Value materializeHostTensor(OpBuilder &builder, Location loc, const HostTensor &tensor,
                            RankedTensorType type, MakeElementsFn makeElements) {
  if (tensor.isFloat() || tensor.allConstant())
    return arith::ConstantOp::create(builder, loc, type,
                                     cast<TypedAttr>(makeElements(type, encodeHostTensor(tensor))));
  llvm::SmallVector<Value> elements;
  for (const SymInt &v : tensor.ints) {
    Value index = v.dynamic ? v.dynamic
                            : Value(arith::ConstantIndexOp::create(builder, loc, v.constant));
    elements.push_back(arith::IndexCastOp::create(builder, loc, type.getElementType(), index));
  }
  return tensor::FromElementsOp::create(builder, loc, type, elements);
}

std::vector<int64_t> rowMajorStrides(llvm::ArrayRef<int64_t> shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

int64_t elementCount(llvm::ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  return count;
}

/// Calls `fn` with every multi-index of `shape` in row-major order.
static void forEachIndex(llvm::ArrayRef<int64_t> shape,
                         llvm::function_ref<void(llvm::ArrayRef<int64_t>)> fn) {
  int64_t count = elementCount(shape);
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t flat = 0; flat < count; ++flat) {
    fn(index);
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
}

HostTensor rearrangeHost(const HostTensor &input, llvm::ArrayRef<int64_t> shape,
                         llvm::function_ref<int64_t(llvm::ArrayRef<int64_t>)> source) {
  HostTensor result;
  result.dtype = input.dtype;
  result.shape.assign(shape.begin(), shape.end());
  forEachIndex(shape, [&](llvm::ArrayRef<int64_t> index) {
    int64_t from = source(index);
    if (input.isFloat())
      result.reals.push_back(input.reals[from]);
    else
      result.ints.push_back(input.ints[from]);
  });
  return result;
}

std::optional<HostTensor> foldIntElementwise(llvm::ArrayRef<const HostTensor *> inputs,
                                             int32_t resultDType, IntFold fn) {
  size_t rank = 0;
  for (const HostTensor *input : inputs) {
    if (!input || input->isFloat())
      return std::nullopt;
    rank = std::max(rank, input->shape.size());
  }
  std::vector<int64_t> shape(rank, 1);
  for (const HostTensor *input : inputs)
    for (size_t i = 0; i < input->shape.size(); ++i) {
      int64_t &size = shape[i + rank - input->shape.size()];
      int64_t dim = input->shape[i];
      if (dim != 1 && size != 1 && dim != size)
        return std::nullopt;
      if (dim != 1)
        size = dim;
    }
  if (elementCount(shape) > kMaxHostElements)
    return std::nullopt;
  HostTensor result;
  result.dtype = resultDType;
  result.shape.assign(shape.begin(), shape.end());
  bool ok = true;
  forEachIndex(shape, [&](llvm::ArrayRef<int64_t> index) {
    if (!ok)
      return;
    llvm::SmallVector<SymInt> args;
    for (const HostTensor *input : inputs) {
      std::vector<int64_t> strides = rowMajorStrides(input->shape);
      int64_t flat = 0, offset = rank - input->shape.size();
      for (size_t i = 0; i < input->shape.size(); ++i)
        flat += (input->shape[i] == 1 ? 0 : index[i + offset]) * strides[i];
      args.push_back(input->ints[flat]);
    }
    std::optional<SymInt> value = fn(args);
    if (!value)
      ok = false;
    else
      result.ints.push_back(*value);
  });
  if (!ok)
    return std::nullopt;
  return result;
}

double castReal(double value, int32_t dtype) {
  if (dtype == kFloat)
    return double(float(value));
  if (const llvm::fltSemantics *sem = halfSemantics(dtype)) {
    llvm::APFloat v(value);
    bool lost;
    v.convert(*sem, llvm::APFloat::rmNearestTiesToEven, &lost);
    v.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven, &lost);
    return v.convertToDouble();
  }
  return value;
}

int64_t castInt(int64_t value, int32_t dtype) {
  switch (dtype) {
  case kBool: return value != 0;
  case kInt8: return int8_t(value);
  case kUInt8: return uint8_t(value);
  case kInt16: return int16_t(value);
  case kUInt16: return uint16_t(value);
  case kInt32: return int32_t(value);
  case kUInt32: return uint32_t(value);
  default: return value;
  }
}

} // namespace kiln::onnx_import
