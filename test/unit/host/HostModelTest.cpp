//===- HostModelTest.cpp - compiled models run through their C API -------===//
//
// Each test writes a small model as MLIR (random weights), compiles it with
// kilnc to a .so, dlopens it and compares against a reference computed here.
//
//===----------------------------------------------------------------------===//
#include "CompiledModel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

using namespace kiln::test;

namespace {

std::vector<float> randomFloats(size_t count, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> values(count);
  for (float &v : values)
    v = dist(rng);
  return values;
}

/// y = relu(x W1ᵀ + b1) W2ᵀ + b2 with x [batch, K], batch in [1, 64].
struct Mlp {
  static constexpr int64_t K = 37, H = 64, N = 10;
  std::vector<float> w1 = randomFloats(H * K, 1, 0.3f), b1 = randomFloats(H, 2),
                     w2 = randomFloats(N * H, 3, 0.3f), b2 = randomFloats(N, 4);

  std::string mlir() const {
    std::ostringstream os;
    os << "func.func @main(%x: tensor<?x37xf32> {kiln.name = \"features\", kiln.dims = "
          "[\"batch\", \"\"], kiln.dtype = \"float\"})\n"
          "    -> (tensor<?x10xf32> {kiln.name = \"logits\", kiln.dims = [\"batch\", \"\"]})\n"
          "    attributes {kiln.dim_bounds = {batch = array<i64: 1, 64>}} {\n"
       << "  %w1 = " << f32Constant(w1, "64x37") << "  %b1 = " << f32Constant(b1, "64")
       << "  %w2 = " << f32Constant(w2, "10x64") << "  %b2 = " << f32Constant(b2, "10")
       << "  %h = kiln.linear %x, %w1 bias %b1 : (tensor<?x37xf32>, tensor<64x37xf32>, "
          "tensor<64xf32>) -> tensor<?x64xf32>\n"
          "  %c0 = arith.constant 0 : index\n"
          "  %n = tensor.dim %h, %c0 : tensor<?x64xf32>\n"
          "  %e = tensor.empty(%n) : tensor<?x64xf32>\n"
          "  %zero = arith.constant 0.0 : f32\n"
          "  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, "
          "affine_map<(i, j) -> (i, j)>], iterator_types = [\"parallel\", \"parallel\"]}\n"
          "      ins(%h : tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) {\n"
          "    ^bb0(%a: f32, %o: f32):\n"
          "      %m = arith.maximumf %a, %zero : f32\n"
          "      linalg.yield %m : f32\n"
          "  } -> tensor<?x64xf32>\n"
          "  %y = kiln.linear %r, %w2 bias %b2 : (tensor<?x64xf32>, tensor<10x64xf32>, "
          "tensor<10xf32>) -> tensor<?x10xf32>\n"
          "  return %y : tensor<?x10xf32>\n"
          "}\n";
    return os.str();
  }

  std::vector<float> reference(const std::vector<float> &x, int64_t batch) const {
    std::vector<float> y(batch * N);
    std::vector<double> h(H);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t j = 0; j < H; ++j) {
        double acc = b1[j];
        for (int64_t k = 0; k < K; ++k)
          acc += double(x[b * K + k]) * w1[j * K + k];
        h[j] = std::max(acc, 0.0);
      }
      for (int64_t n = 0; n < N; ++n) {
        double acc = b2[n];
        for (int64_t j = 0; j < H; ++j)
          acc += h[j] * w2[n * H + j];
        y[b * N + n] = float(acc);
      }
    }
    return y;
  }
};

class MlpTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { model = new CompiledModel(Mlp().mlir(), "mlp"); }
  static void TearDownTestSuite() {
    delete model;
    model = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(model->ok()) << model->error(); }

  /// Runs `compiled` (default: the embedded-weights model) on `batch` rows;
  /// returns the status.
  kiln_status run(void *handle, const std::vector<float> &x, int64_t batch,
                  std::vector<float> &y, const CompiledModel *compiled = nullptr) {
    y.assign(batch * Mlp::N, NAN);
    int64_t inShape[] = {batch, Mlp::K}, outShape[] = {batch, Mlp::N};
    kiln_tensor in = {KILN_DTYPE_F32, 2, inShape, const_cast<float *>(x.data()),
                      x.size() * sizeof(float)};
    kiln_tensor out = {KILN_DTYPE_F32, 2, outShape, y.data(), y.size() * sizeof(float)};
    return (compiled ? compiled : model)->api().run(handle, &in, 1, &out, 1);
  }

  /// Thread t runs `inputs[t]` (`batches[t]` rows) `runs` times on
  /// `handles[t % handles.size()]`, all threads at once; every result must
  /// equal `expected[t]` bit for bit.
  void expectIdenticalRunsInThreads(const std::vector<void *> &handles,
                                    const std::vector<std::vector<float>> &inputs,
                                    const std::vector<int64_t> &batches,
                                    const std::vector<std::vector<float>> &expected, int runs,
                                    const CompiledModel *compiled = nullptr) {
    size_t numThreads = inputs.size();
    std::vector<int> mismatches(numThreads, 0);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < numThreads; ++t)
      threads.emplace_back([&, t] {
        std::vector<float> y;
        for (int r = 0; r < runs; ++r)
          if (run(handles[t % handles.size()], inputs[t], batches[t], y, compiled) != KILN_OK ||
              std::memcmp(y.data(), expected[t].data(), y.size() * sizeof(float)) != 0)
            ++mismatches[t];
      });
    for (std::thread &thread : threads)
      thread.join();
    for (size_t t = 0; t < numThreads; ++t)
      EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  }

  static CompiledModel *model;
  Mlp mlp;
};
CompiledModel *MlpTest::model = nullptr;

void expectClose(const std::vector<float> &actual, const std::vector<float> &expected,
                 float tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_NEAR(actual[i], expected[i], tolerance * (1 + std::fabs(expected[i])))
        << "element " << i;
}

TEST_F(MlpTest, MatchesReferenceAtSeveralBatchSizes) {
  ModelHandle handle(model->api());
  ASSERT_EQ(handle.status, KILN_OK) << model->api().lastError();
  for (int64_t batch : {1, 5, 64}) {
    std::vector<float> x = randomFloats(batch * Mlp::K, 100 + batch), y;
    ASSERT_EQ(run(handle.handle, x, batch, y), KILN_OK) << model->api().lastError();
    expectClose(y, mlp.reference(x, batch), 1e-5f);
  }
}

TEST_F(MlpTest, DescribesItsSignature) {
  const ModelApi &api = model->api();
  EXPECT_EQ(api.abiVersion(), uint32_t(KILN_MODEL_ABI_VERSION));
  ASSERT_EQ(api.numInputs(), 1);
  ASSERT_EQ(api.numOutputs(), 1);
  kiln_tensor_info info;
  ASSERT_EQ(api.inputInfo(0, &info), KILN_OK);
  EXPECT_STREQ(info.name, "features");
  EXPECT_EQ(info.dtype, KILN_DTYPE_F32);
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.shape[0], -1);
  EXPECT_EQ(info.shape[1], Mlp::K);
  EXPECT_STREQ(info.dim_names[0], "batch");
  EXPECT_STREQ(info.dim_names[1], "");
  ASSERT_EQ(api.outputInfo(0, &info), KILN_OK);
  EXPECT_STREQ(info.name, "logits");
  EXPECT_EQ(info.shape[1], Mlp::N);
  EXPECT_EQ(api.outputInfo(1, &info), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(api.lastError()).find("index 1 is out of range"), std::string::npos);

  int64_t min = 0, max = 0;
  ASSERT_EQ(api.dimBounds("batch", &min, &max), KILN_OK);
  EXPECT_EQ(min, 1);
  EXPECT_EQ(max, 64);
  EXPECT_EQ(api.dimBounds("seq", &min, &max), KILN_ERROR_INVALID_ARGUMENT);

  std::string json = api.signatureJson();
  EXPECT_NE(json.find("\"name\": \"features\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"max\": 64"), std::string::npos) << json;

  int64_t inShape[] = {7, Mlp::K}, outShape[2] = {0, 0};
  kiln_tensor in = {KILN_DTYPE_F32, 2, inShape, nullptr, 0};
  ASSERT_EQ(api.outputShape(&in, 1, 0, outShape), KILN_OK) << api.lastError();
  EXPECT_EQ(outShape[0], 7);
  EXPECT_EQ(outShape[1], Mlp::N);
}

TEST_F(MlpTest, ConcurrentRunsOnOneHandleAreBitIdentical) {
  ModelHandle handle(model->api());
  ASSERT_EQ(handle.status, KILN_OK);
  constexpr int kThreads = 8, kRuns = 25;
  std::vector<std::vector<float>> inputs, expected(kThreads);
  std::vector<int64_t> batches;
  for (int t = 0; t < kThreads; ++t) {
    batches.push_back(1 + 9 * t);
    inputs.push_back(randomFloats(batches[t] * Mlp::K, 1000 + t));
    ASSERT_EQ(run(handle.handle, inputs[t], batches[t], expected[t]), KILN_OK);
  }
  expectIdenticalRunsInThreads({handle.handle}, inputs, batches, expected, kRuns);
}

DLManagedTensorVersioned dlpackTensor(float *data, int64_t *shape, int32_t ndim) {
  DLManagedTensorVersioned tensor{};
  tensor.version = {1, 1};
  tensor.dl_tensor.data = data;
  tensor.dl_tensor.device = {kDLCPU, 0};
  tensor.dl_tensor.ndim = ndim;
  tensor.dl_tensor.dtype = {kDLFloat, 32, 1};
  tensor.dl_tensor.shape = shape;
  return tensor;
}

TEST_F(MlpTest, DlpackRunMatchesPlainRun) {
  ModelHandle handle(model->api());
  int64_t batch = 3;
  std::vector<float> x = randomFloats(batch * Mlp::K, 7), expected, y(batch * Mlp::N, NAN);
  ASSERT_EQ(run(handle.handle, x, batch, expected), KILN_OK);
  int64_t inShape[] = {batch, Mlp::K}, outShape[] = {batch, Mlp::N};
  int64_t inStrides[] = {Mlp::K, 1};
  DLManagedTensorVersioned in = dlpackTensor(x.data(), inShape, 2);
  in.dl_tensor.strides = inStrides;
  DLManagedTensorVersioned out = dlpackTensor(y.data(), outShape, 2);
  DLManagedTensorVersioned *ins[] = {&in}, *outs[] = {&out};
  ASSERT_EQ(model->api().runDlpack(handle.handle, ins, 1, outs, 1), KILN_OK)
      << model->api().lastError();
  EXPECT_EQ(std::memcmp(y.data(), expected.data(), y.size() * sizeof(float)), 0);

  // A read-only output, a transposed input, a GPU tensor and a wrong dtype.
  out.flags = DLPACK_FLAG_BITMASK_READ_ONLY;
  EXPECT_EQ(model->api().runDlpack(handle.handle, ins, 1, outs, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(model->api().lastError()).find("read-only"), std::string::npos);
  out.flags = 0;
  int64_t transposed[] = {1, batch};
  in.dl_tensor.strides = transposed;
  EXPECT_EQ(model->api().runDlpack(handle.handle, ins, 1, outs, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(model->api().lastError()).find("row-major"), std::string::npos);
  in.dl_tensor.strides = nullptr;
  in.dl_tensor.device.device_type = kDLCUDA;
  EXPECT_EQ(model->api().runDlpack(handle.handle, ins, 1, outs, 1), KILN_ERROR_INVALID_ARGUMENT);
  in.dl_tensor.device.device_type = kDLCPU;
  in.dl_tensor.dtype = {kDLFloat, 64, 1};
  EXPECT_EQ(model->api().runDlpack(handle.handle, ins, 1, outs, 1), KILN_ERROR_TYPE_MISMATCH);
  in.dl_tensor.dtype = {kDLFloat, 32, 1};
  DLManagedTensorVersioned *nullIns[] = {nullptr};
  EXPECT_EQ(model->api().runDlpack(handle.handle, nullIns, 1, outs, 1),
            KILN_ERROR_INVALID_ARGUMENT);
}

/// One bad call: what to break, and what the model must answer.
struct BadCase {
  const char *what;
  kiln_status status;
  const char *message;
};

TEST_F(MlpTest, RejectsBadInputWithAClearMessage) {
  const ModelApi &api = model->api();
  ModelHandle handle(api);
  int64_t batch = 4;
  std::vector<float> x = randomFloats(batch * Mlp::K, 9), y(batch * Mlp::N, 0.0f);
  const std::vector<float> untouched = y;
  const BadCase cases[] = {
      {"null handle", KILN_ERROR_INVALID_ARGUMENT, "handle is NULL"},
      {"null inputs", KILN_ERROR_INVALID_ARGUMENT, "inputs or outputs is NULL"},
      {"wrong count", KILN_ERROR_INVALID_ARGUMENT, "expected 1 inputs and 1 outputs"},
      {"wrong dtype", KILN_ERROR_TYPE_MISMATCH, "input 'features': expected element type float32, got int32"},
      {"wrong rank", KILN_ERROR_SHAPE_MISMATCH, "input 'features': expected rank 2, got 1"},
      {"wrong static dim", KILN_ERROR_SHAPE_MISMATCH, "input 'features': dimension 1 must be 37, got 36"},
      {"batch above bound", KILN_ERROR_SHAPE_MISMATCH, "dimension 0 ('batch') is 65, outside its bounds [1, 64]"},
      {"batch zero", KILN_ERROR_SHAPE_MISMATCH, "outside its bounds [1, 64]"},
      {"input too small", KILN_ERROR_BUFFER_TOO_SMALL, "input 'features': needs 592 bytes"},
      {"output too small", KILN_ERROR_BUFFER_TOO_SMALL, "output 'logits': needs 160 bytes"},
      {"output batch differs", KILN_ERROR_SHAPE_MISMATCH, "output 'logits': dimension 0 ('batch') is 3, but 'batch' is 4"},
      {"null data", KILN_ERROR_INVALID_ARGUMENT, "input 'features': data is NULL"},
      {"null shape", KILN_ERROR_INVALID_ARGUMENT, "input 'features': shape is NULL"},
  };
  for (const BadCase &bad : cases) {
    SCOPED_TRACE(bad.what);
    int64_t inShape[] = {batch, Mlp::K}, outShape[] = {batch, Mlp::N};
    kiln_tensor in = {KILN_DTYPE_F32, 2, inShape, x.data(), x.size() * sizeof(float)};
    kiln_tensor out = {KILN_DTYPE_F32, 2, outShape, y.data(), y.size() * sizeof(float)};
    void *target = handle.handle;
    const kiln_tensor *ins = &in;
    int32_t numInputs = 1;
    std::string what = bad.what;
    if (what == "null handle") target = nullptr;
    if (what == "null inputs") ins = nullptr;
    if (what == "wrong count") numInputs = 2;
    if (what == "wrong dtype") in.dtype = KILN_DTYPE_I32;
    if (what == "wrong rank") in.rank = 1;
    if (what == "wrong static dim") inShape[1] = 36;
    if (what == "batch above bound") inShape[0] = 65;
    if (what == "batch zero") inShape[0] = 0;
    if (what == "input too small") in.size_bytes -= 4;
    if (what == "output too small") out.size_bytes -= 1;
    if (what == "output batch differs") outShape[0] = 3;
    if (what == "null data") in.data = nullptr;
    if (what == "null shape") in.shape = nullptr;
    EXPECT_EQ(api.run(target, ins, numInputs, &out, 1), bad.status);
    EXPECT_NE(std::string(api.lastError()).find(bad.message), std::string::npos)
        << "message: " << api.lastError();
    EXPECT_EQ(std::memcmp(y.data(), untouched.data(), y.size() * sizeof(float)), 0)
        << "a failed run wrote its output";
  }
  // The handle still works after every error, and a success clears the message.
  std::vector<float> good;
  ASSERT_EQ(run(handle.handle, x, batch, good), KILN_OK);
  EXPECT_STREQ(api.lastError(), "");
  EXPECT_EQ(api.create(nullptr), KILN_ERROR_INVALID_ARGUMENT);
  api.destroy(nullptr);
}

/// Two inputs sharing a symbol, two outputs, libm and integer arithmetic.
const char *kElementwiseModel = R"mlir(
func.func @main(%a: tensor<?x3xf32> {kiln.name = "a", kiln.dims = ["rows", ""]},
                %b: tensor<?x3xf32> {kiln.name = "b", kiln.dims = ["rows", ""]},
                %c: tensor<4xi64> {kiln.name = "c", kiln.dtype = "int64"})
    -> (tensor<?x3xf32> {kiln.name = "mixed", kiln.dims = ["rows", ""]},
        tensor<4xi64> {kiln.name = "doubled"}) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?x3xf32>
  %e = tensor.empty(%n) : tensor<?x3xf32>
  %m = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<?x3xf32>, tensor<?x3xf32>) outs(%e : tensor<?x3xf32>) {
    ^bb0(%x: f32, %y: f32, %o: f32):
      %ex = math.exp %x : f32
      %th = math.tanh %y : f32
      %r = arith.mulf %ex, %th : f32
      linalg.yield %r : f32
  } -> tensor<?x3xf32>
  %ei = tensor.empty() : tensor<4xi64>
  %d = linalg.add ins(%c, %c : tensor<4xi64>, tensor<4xi64>) outs(%ei : tensor<4xi64>) -> tensor<4xi64>
  return %m, %d : tensor<?x3xf32>, tensor<4xi64>
}
)mlir";

/// The same MLP compiled with --weights=external.
class ExternalWeightsTest : public MlpTest {
protected:
  static void SetUpTestSuite() {
    MlpTest::SetUpTestSuite();
    external = new CompiledModel(Mlp().mlir(), "mlpx", "--weights=external");
  }
  static void TearDownTestSuite() {
    delete external;
    external = nullptr;
    MlpTest::TearDownTestSuite();
  }
  void SetUp() override {
    MlpTest::SetUp();
    ASSERT_TRUE(external->ok()) << external->error();
  }
  std::string weightsPath() const { return external->directory() + "/mlpx.safetensors"; }

  static CompiledModel *external;
};
CompiledModel *ExternalWeightsTest::external = nullptr;

TEST_F(ExternalWeightsTest, MatchesEmbeddedWeightsBitForBit) {
  ModelHandle embedded(model->api()), mapped(external->api());
  ASSERT_EQ(embedded.status, KILN_OK);
  ASSERT_EQ(mapped.status, KILN_OK) << external->api().lastError();
  for (int64_t batch : {1, 5, 64}) {
    std::vector<float> x = randomFloats(batch * Mlp::K, 77 + batch), fromLibrary, fromFile;
    ASSERT_EQ(run(embedded.handle, x, batch, fromLibrary), KILN_OK);
    ASSERT_EQ(run(mapped.handle, x, batch, fromFile, external), KILN_OK);
    EXPECT_EQ(std::memcmp(fromLibrary.data(), fromFile.data(), fromFile.size() * sizeof(float)),
              0)
        << "batch " << batch;
    expectClose(fromFile, mlp.reference(x, batch), 1e-4f);
  }
  // Embedded weights take no file.
  void *handle = nullptr;
  EXPECT_EQ(model->api().createWithWeights(weightsPath().c_str(), &handle),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(handle, nullptr);
  EXPECT_NE(std::string(model->api().lastError()).find("embedded"), std::string::npos);
}

/// Handles mapping different copies of the file, run from several threads
/// at once: every run sees its own handle's weights.
TEST_F(ExternalWeightsTest, HandlesWithTheirOwnFilesRunConcurrently) {
  std::string copy = external->directory() + "/copy.safetensors";
  ASSERT_EQ(std::system(("cp " + weightsPath() + " " + copy).c_str()), 0);
  void *first = nullptr, *second = nullptr;
  ASSERT_EQ(external->api().create(&first), KILN_OK) << external->api().lastError();
  ASSERT_EQ(external->api().createWithWeights(copy.c_str(), &second), KILN_OK)
      << external->api().lastError();
  ASSERT_EQ(std::remove(copy.c_str()), 0); // the mapping keeps the data alive
  constexpr int kThreads = 8, kRuns = 20;
  std::vector<std::vector<float>> inputs(kThreads, randomFloats(7 * Mlp::K, 5)), expected(kThreads);
  ASSERT_EQ(run(first, inputs[0], 7, expected[0], external), KILN_OK);
  expected.assign(kThreads, expected[0]);
  expectIdenticalRunsInThreads({first, second}, inputs, std::vector<int64_t>(kThreads, 7),
                               expected, kRuns, external);
  external->api().destroy(first);
  external->api().destroy(second);
}

TEST_F(ExternalWeightsTest, MissingFileNamesTheFileAndTheWayOut) {
  std::string moved = external->directory() + "/moved.safetensors";
  ASSERT_EQ(std::rename(weightsPath().c_str(), moved.c_str()), 0);
  void *handle = reinterpret_cast<void *>(1);
  kiln_status status = external->api().create(&handle);
  std::string message = external->api().lastError();
  ASSERT_EQ(std::rename(moved.c_str(), weightsPath().c_str()), 0);
  EXPECT_EQ(status, KILN_ERROR_WEIGHTS);
  EXPECT_EQ(handle, nullptr);
  EXPECT_NE(message.find("weights file '" + weightsPath() + "': cannot open it"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("mlpx_create_with_weights"), std::string::npos) << message;
  ModelHandle again(external->api());
  EXPECT_EQ(again.status, KILN_OK) << external->api().lastError();
}

TEST(HostModel, ElementwiseWithSharedSymbolAndIntegers) {
  CompiledModel model(kElementwiseModel, "elementwise");
  ASSERT_TRUE(model.ok()) << model.error();
  const ModelApi &api = model.api();
  ModelHandle handle(api);
  int64_t rows = 5;
  std::vector<float> a = randomFloats(rows * 3, 11, 2.0f), b = randomFloats(rows * 3, 12, 2.0f);
  std::vector<float> mixed(rows * 3);
  std::vector<int64_t> c = {1, -2, 1LL << 40, 7}, doubled(4);
  int64_t abShape[] = {rows, 3}, cShape[] = {4};
  kiln_tensor ins[] = {{KILN_DTYPE_F32, 2, abShape, a.data(), a.size() * 4},
                       {KILN_DTYPE_F32, 2, abShape, b.data(), b.size() * 4},
                       {KILN_DTYPE_I64, 1, cShape, c.data(), c.size() * 8}};
  kiln_tensor outs[] = {{KILN_DTYPE_F32, 2, nullptr, mixed.data(), mixed.size() * 4},
                        {KILN_DTYPE_I64, 1, cShape, doubled.data(), doubled.size() * 8}};
  ASSERT_EQ(api.run(handle.handle, ins, 3, outs, 2), KILN_OK) << api.lastError();
  for (size_t i = 0; i < mixed.size(); ++i)
    EXPECT_NEAR(mixed[i], std::exp(a[i]) * std::tanh(b[i]), 1e-5 * (1 + std::fabs(mixed[i])));
  for (size_t i = 0; i < c.size(); ++i)
    EXPECT_EQ(doubled[i], 2 * c[i]);

  // The second input disagrees with the first on 'rows'.
  int64_t otherShape[] = {rows - 1, 3};
  ins[1].shape = otherShape;
  EXPECT_EQ(api.run(handle.handle, ins, 3, outs, 2), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(api.lastError()).find("input 'b': dimension 0 ('rows') is 4, but 'rows' is 5"),
            std::string::npos)
      << api.lastError();
}

TEST(HostModel, TwoModelsLiveInOneProcess) {
  CompiledModel first(Mlp().mlir(), "first"), second(kElementwiseModel, "second");
  ASSERT_TRUE(first.ok()) << first.error();
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(first.api().numInputs(), 1);
  EXPECT_EQ(second.api().numInputs(), 3);
  ModelHandle handle(first.api());
  EXPECT_EQ(second.api().run(handle.handle, nullptr, 0, nullptr, 0),
            KILN_ERROR_INVALID_ARGUMENT);
  // Errors are per model: the first model's message is untouched.
  EXPECT_STREQ(first.api().lastError(), "");
}

} // namespace
