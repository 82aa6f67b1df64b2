//===- WeightsFileTest.cpp - the weights file reader on hostile headers --===//
//
// runtime/host/kiln_weights.c (compiled natively here, so sanitizer builds
// check it) against file images written by hand: well-formed variants are
// accepted, every kind of malformed or mismatched header is refused with
// KILN_ERROR_WEIGHTS and a message that says what is wrong.
//
//===----------------------------------------------------------------------===//
extern "C" {
#include "kiln_checksum.h"
#include "kiln_weights.h"
}

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace {

const int64_t kShapeA[] = {2, 3};
const int64_t kShapeB[] = {5};
/// What a library would expect: "a" F32 [2, 3] then "b" I8 [5].
const kiln_weight_desc kTensors[] = {{"a", "F32", 2, kShapeA, 0, 24},
                                     {"b", "I8", 1, kShapeB, 24, 29}};

std::string tensorData() {
  std::string data(29, '\0');
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = char(i * 7 + 1);
  return data;
}

kiln_weights_desc expectedWeights() {
  std::string data = tensorData();
  uint64_t checksum =
      kiln_weights_checksum(reinterpret_cast<const unsigned char *>(data.data()), data.size());
  return {1, 2, kTensors, data.size(), checksum, "m.safetensors", "m"};
}

std::string checksumText() {
  char text[64];
  std::snprintf(text, sizeof text, "fnv1a64x4:%016llx",
                (unsigned long long)expectedWeights().checksum);
  return text;
}

std::string goodHeader() {
  return R"({"__metadata__":{"format":"kiln","kiln.model":"m","kiln.checksum":")" +
         checksumText() +
         R"("},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
         R"("b":{"dtype":"I8","shape":[5],"data_offsets":[24,29]}})";
}

/// A file image: the header's length, the header, the data.
std::string rawFile(const std::string &header, const std::string &data) {
  std::string file(8, '\0');
  uint64_t length = header.size();
  for (int b = 0; b < 8; ++b)
    file[b] = char((length >> (8 * b)) & 0xff);
  return file + header + data;
}

/// The same with the header padded so that "a" stays 4-byte aligned.
std::string fileWith(std::string header, const std::string &data = tensorData()) {
  header.append((8 - (8 + header.size()) % 8) % 8, ' ');
  return rawFile(header, data);
}

/// Checks `file`; returns "" on success, else the message.
std::string check(const std::string &file, kiln_status expected = KILN_ERROR_WEIGHTS) {
  // An exactly sized heap copy: reads past the end show up under ASan.
  auto *copy = new unsigned char[file.size() ? file.size() : 1];
  std::memcpy(copy, file.data(), file.size());
  kiln_weights_desc weights = expectedWeights();
  const unsigned char *data = nullptr;
  char error[1024] = "";
  kiln_status status =
      kiln_weights_check(&weights, copy, file.size(), "w.safetensors", &data, error, sizeof error);
  EXPECT_EQ(status, expected) << error;
  if (status == KILN_OK)
    EXPECT_EQ(data, copy + file.size() - 29);
  delete[] copy;
  return error;
}

#define EXPECT_REFUSED(file, text)                                                            \
  do {                                                                                       \
    std::string message = check(file);                                                       \
    EXPECT_NE(message.find("weights file 'w.safetensors': "), std::string::npos) << message; \
    EXPECT_NE(message.find(text), std::string::npos) << message;                             \
  } while (0)

std::string replaced(std::string text, const std::string &from, const std::string &to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(WeightsFile, AcceptsWellFormedVariants) {
  check(fileWith(goodHeader()), KILN_OK);
  // Other key order, whitespace, escapes, extra metadata.
  check(fileWith("{ \"b\" : {\"shape\": [ 5 ], \"data_offsets\": [24, 29], \"dtype\": \"I8\"},\n"
                 "  \"\\u0061\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, "
                 "24]},\n  \"__metadata__\": {\"note\": \"caf\\u00e9 \\ud83d\\ude00\", "
                 "\"kiln.checksum\": \"" +
                 checksumText() + "\", \"kiln.model\": \"m\"}}\t\r\n"),
        KILN_OK);
}

TEST(WeightsFile, RefusesFilesThatAreNotSafetensors) {
  EXPECT_REFUSED(std::string("abc"), "too short");
  std::string huge = fileWith(goodHeader());
  std::memset(&huge[0], 0xff, 8); // header length 2^64 - 1
  EXPECT_REFUSED(huge, "does not fit in the file");
  EXPECT_REFUSED(fileWith(goodHeader()).substr(0, 100), "does not fit in the file");
  EXPECT_REFUSED(fileWith(goodHeader(), tensorData().substr(0, 20)),
                 "it has 20 bytes of tensor data, this model expects 29");
  EXPECT_REFUSED(fileWith("[1, 2]"), "expected '{' (the header object)");
  EXPECT_REFUSED(fileWith(goodHeader().substr(0, 40)), "not valid safetensors JSON");
  EXPECT_REFUSED(fileWith(goodHeader() + "x"), "expected the end of the header");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"kiln\"", "\"k\\qln\"")),
                 "a valid escape sequence");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"kiln\"", "\"\\ud800x\"")),
                 "surrogate pair");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"kiln\"", "\"\\u12\"")), "four hex digits");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"kiln\"", "\"a\nb\"")),
                 "escaped control character");
}

TEST(WeightsFile, RefusesBadNumbersAndOverflow) {
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "[0,24]", "[0,-24]")),
                 "a non-negative integer");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "[0,24]", "[0,24.0]")), "not a fraction");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "[0,24]", "[0,18446744073709551640]")),
                 "an integer below 2^63");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "[0,24]", "[24,0]")),
                 "data_offsets [24, 0] do not lie within the 29 data bytes");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "[0,24]", "[0,4000]")),
                 "do not lie within the 29 data bytes");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "[2,3]", "[4294967296,4294967296,16]")),
                 "the byte size of its shape overflows");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "[0,24]", "[0,1,2]")),
                 "at most 32 dimensions and 2 data offsets");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "[2,3]", "[2,2]")),
                 "its F32 shape needs 16 bytes, its data_offsets span 24");
}

TEST(WeightsFile, RefusesHeadersThatDoNotMatchTheLibrary) {
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"F32\",\"shape\":[2,3]", "\"I32\",\"shape\":[2,3]")),
                 "tensor 'a' has dtype I32, this model expects F32");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "[2,3]", "[3,2]")),
                 "tensor 'a' has shape [3, 2], this model expects [2, 3]");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"F32\"", "\"F99\"")),
                 "unknown dtype 'F99'");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"a\":", "\"z\":")),
                 "it holds tensor 'z', which this model does not have");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), ",\"b\":{\"dtype\":\"I8\",\"shape\":[5],"
                                                 "\"data_offsets\":[24,29]}",
                                   "")),
                 "it lacks tensor 'b'");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "}}", "},\"a\":{}}")),
                 "tensor 'a' is listed twice");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"dtype\":\"I8\",", "")),
                 "tensor 'b' lacks its dtype, shape or data_offsets");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"dtype\":\"I8\"", "\"dtype\":\"I8\",\"x\":1")),
                 "tensor 'b': unexpected or repeated field 'x'");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), "\"kiln.model\":\"m\"", "\"kiln.model\":\"n\"")),
                 "it was written for model 'n', this library is model 'm'");
  EXPECT_REFUSED(fileWith(replaced(goodHeader(), checksumText(), "fnv1a64x4:0000000000000000")),
                 "it was written by another build of model 'm'");
  // A file whose data is 1-aligned for an F32 tensor cannot be used in place.
  std::string header = goodHeader();
  header.append((8 - (8 + header.size()) % 8) % 8 + 1, ' ');
  EXPECT_REFUSED(rawFile(header, tensorData()), "not aligned");
  std::string corrupt = tensorData();
  corrupt[3] ^= 0x10;
  EXPECT_REFUSED(fileWith(goodHeader(), corrupt), "its tensor data is corrupt");
}

TEST(WeightsFile, ChecksumSeesEveryWord) {
  std::string data(100, '\0');
  const auto *bytes = reinterpret_cast<const unsigned char *>(data.data());
  uint64_t base = kiln_weights_checksum(bytes, data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = 1;
    EXPECT_NE(kiln_weights_checksum(bytes, data.size()), base) << "byte " << i;
    data[i] = 0;
  }
  EXPECT_NE(kiln_weights_checksum(bytes, 99), base); // the length counts
}

} // namespace
