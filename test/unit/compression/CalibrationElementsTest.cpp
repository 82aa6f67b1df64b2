//===- CalibrationElementsTest.cpp - conversions of calibration inputs ---===//
#include "CalibrationElements.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

using namespace kiln::compression;

namespace {

template <typename T> std::vector<uint8_t> bytesOf(std::vector<T> values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

template <typename T> std::vector<T> valuesOf(const std::vector<uint8_t> &bytes) {
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

std::string errorOf(llvm::Expected<std::vector<uint8_t>> converted) {
  EXPECT_FALSE(bool(converted));
  return converted ? std::string() : llvm::toString(converted.takeError());
}

TEST(CalibrationElements, IntegersWidenAndNarrowWhenEveryValueFits) {
  auto wide = convertElements(bytesOf<int32_t>({-70000, 0, 50256}), ElementKind::I32,
                              ElementKind::I64);
  ASSERT_TRUE(bool(wide));
  EXPECT_EQ(valuesOf<int64_t>(*wide), (std::vector<int64_t>{-70000, 0, 50256}));
  // int8 -1 is sign-extended, not read as 255.
  auto signedByte = convertElements(bytesOf<int8_t>({-1, 127}), ElementKind::I8, ElementKind::I16);
  ASSERT_TRUE(bool(signedByte));
  EXPECT_EQ(valuesOf<int16_t>(*signedByte), (std::vector<int16_t>{-1, 127}));
  auto mask = convertElements(bytesOf<int64_t>({1, 0, 1}), ElementKind::I64, ElementKind::Bool);
  ASSERT_TRUE(bool(mask));
  EXPECT_EQ(*mask, (std::vector<uint8_t>{1, 0, 1}));
}

TEST(CalibrationElements, ValuesThatDoNotFitAreNamed) {
  EXPECT_EQ(errorOf(convertElements(bytesOf<int64_t>({3, -1}), ElementKind::I64, ElementKind::U8)),
            "element 1 is -1, which uint8 cannot hold");
  EXPECT_EQ(errorOf(convertElements(bytesOf<int32_t>({128}), ElementKind::I32, ElementKind::I8)),
            "element 0 is 128, which int8 cannot hold");
  EXPECT_EQ(errorOf(convertElements(bytesOf<uint64_t>({std::numeric_limits<uint64_t>::max()}),
                                    ElementKind::U64, ElementKind::I64)),
            "element 0 is 18446744073709551615, which int64 cannot hold");
  EXPECT_EQ(errorOf(convertElements(bytesOf<float>({1.0f}), ElementKind::F32, ElementKind::I64)),
            "holds float32 values but the input takes int64; save the array as int64");
  EXPECT_EQ(errorOf(convertElements(bytesOf<int64_t>({1}), ElementKind::I64, ElementKind::F32)),
            "holds int64 values but the input takes float32; save the array as float32");
}

TEST(CalibrationElements, FloatsRoundToTheInputsWidth) {
  // 1 + 2^-11 is halfway between two float16 values: ties to even gives 1.
  auto half = convertElements(bytesOf<double>({1.0 + 1.0 / 2048, -2.5, 65504.0}),
                              ElementKind::F64, ElementKind::F16);
  ASSERT_TRUE(bool(half));
  EXPECT_EQ(valuesOf<uint16_t>(*half), (std::vector<uint16_t>{0x3C00, 0xC100, 0x7BFF}));
  EXPECT_EQ(elementsAsFloats(*half, ElementKind::F16), (std::vector<float>{1.0f, -2.5f, 65504.0f}));
  // bfloat16 keeps float32's exponent: 3.0 is 0x4040.
  std::vector<uint8_t> brain = floatsAsElements({3.0f, -0.5f}, ElementKind::BF16);
  EXPECT_EQ(valuesOf<uint16_t>(brain), (std::vector<uint16_t>{0x4040, 0xBF00}));
}

TEST(CalibrationElements, NpyAndOnnxNamesMapToKinds) {
  EXPECT_EQ(elementKindFromNpyDescr("<i8"), ElementKind::I64);
  EXPECT_EQ(elementKindFromNpyDescr("|b1"), ElementKind::Bool);
  EXPECT_EQ(elementKindFromNpyDescr("|u1"), ElementKind::U8);
  EXPECT_EQ(elementKindFromNpyDescr("<f2"), ElementKind::F16);
  EXPECT_EQ(elementKindFromNpyDescr(">f4"), std::nullopt); // big-endian
  EXPECT_EQ(elementKindFromNpyDescr("<U5"), std::nullopt); // strings
  EXPECT_EQ(elementKindFromOnnx(7), ElementKind::I64);
  EXPECT_EQ(elementKindFromOnnx(9), ElementKind::Bool);
  EXPECT_EQ(elementKindFromOnnx(16), ElementKind::BF16);
  EXPECT_EQ(elementKindFromOnnx(8), std::nullopt); // STRING
}

} // namespace
