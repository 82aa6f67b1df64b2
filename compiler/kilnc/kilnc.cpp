//===- kilnc.cpp - the Kiln model compiler driver ------------------------===//
//
// kilnc model.onnx [--quantize=int4 --group-size=128] [--emit=...] -o OUT
//
// Stages: import (ONNX -> kiln + upstream dialects), compression, and code
// generation for the chosen target. Each stage's output can be emitted.
//
//===----------------------------------------------------------------------===//
#include "kiln/Dialect/KilnDialect.h"
#include "kiln/Driver/Driver.h"
#include "kiln/Lowering/Passes.h"
#include "kiln/Lowering/Progress.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;

static cl::OptionCategory kilncCategory("kilnc options");

static cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx>"),
                                      cl::Required, cl::cat(kilncCategory));
static cl::opt<std::string> outputPath("o", cl::desc("output file ('-' for stdout)"),
                                       cl::value_desc("path"), cl::init("-"),
                                       cl::cat(kilncCategory));
static cl::opt<kiln::EmitKind> emitKind(
    "emit", cl::desc("what to produce"), cl::init(kiln::EmitKind::KilnIR),
    cl::values(clEnumValN(kiln::EmitKind::ImportedIR, "imported",
                          "the IR right after import, before compression"),
               clEnumValN(kiln::EmitKind::KilnIR, "kiln",
                          "the compressed kiln IR (default without --target)"),
               clEnumValN(kiln::EmitKind::LLVMIR, "llvm", "optimized LLVM IR (--target=host)"),
               clEnumValN(kiln::EmitKind::Object, "obj", "an ELF object (--target=host)"),
               clEnumValN(kiln::EmitKind::SharedLibrary, "so",
                          "lib<name>.so plus <name>.h and <name>.json beside it "
                          "(default with --target=host)")),
    cl::cat(kilncCategory));
static cl::opt<kiln::Target> target(
    "target", cl::desc("code generation target"), cl::init(kiln::Target::None),
    cl::values(clEnumValN(kiln::Target::Host, "host",
                          "an x86-64 Linux shared library with a C API"),
               clEnumValN(kiln::Target::Cuda, "cuda",
                          "the same C API, running on an NVIDIA GPU (static shapes)")),
    cl::cat(kilncCategory));
static cl::opt<std::string> modelName("name",
                                      cl::desc("C symbol prefix of the model's API (--target=host)"),
                                      cl::init("model"), cl::cat(kilncCategory));
static cl::opt<std::string> cpu("cpu",
                                cl::desc("x86-64 CPU to compile for (default x86-64-v3)"),
                                cl::init(""), cl::cat(kilncCategory));
enum class WeightsPlacement { Embedded, External };
static cl::opt<WeightsPlacement> weights(
    "weights", cl::desc("where a compiled model keeps its constant tensors (--target=host)"),
    cl::init(WeightsPlacement::Embedded),
    cl::values(clEnumValN(WeightsPlacement::Embedded, "embedded", "inside lib<name>.so"),
               clEnumValN(WeightsPlacement::External, "external",
                          "in <name>.safetensors beside it, mapped at create time")),
    cl::cat(kilncCategory));
static cl::opt<bool> sanitizedGlue(
    "sanitized-glue",
    cl::desc("--target=host: link the ASan/UBSan build of the model's C glue; the library "
             "must then be loaded by a program built with -fsanitize=address,undefined"),
    cl::init(false), cl::Hidden, cl::cat(kilncCategory));
static cl::opt<std::string> gpuArchs("gpu-arch",
                                     cl::desc("--target=cuda: comma-separated architectures, "
                                              "one cubin each plus PTX (default sm_90a,sm_80)"),
                                     cl::init(""), cl::cat(kilncCategory));
static cl::opt<kiln::Precision> precision(
    "precision", cl::desc("--target=cuda: what activations and weights are stored as"),
    cl::init(kiln::Precision::F32),
    cl::values(clEnumValN(kiln::Precision::F32, "f32", "f32 (default)"),
               clEnumValN(kiln::Precision::F16, "f16",
                          "f16, with f32 arithmetic and accumulation; inputs and outputs "
                          "keep the model's types")),
    cl::cat(kilncCategory));
static cl::opt<bool> libraryKernels(
    "library-kernels",
    cl::desc("--target=cuda: run linear layers on the generated GEMV/GEMM kernels (f16 "
             "activations) and attention on the fused attention kernel (default on); "
             "=false keeps them on the generic f32 kernels"),
    cl::init(true), cl::cat(kilncCategory));
static cl::opt<bool> wgmma(
    "wgmma",
    cl::desc("--target=cuda with sm_90a in --gpu-arch: the sm_90a image runs linear layers "
             "with M >= 128 on the TMA + wgmma GEMM (default on); other images keep the "
             "mma.sync GEMM"),
    cl::init(true), cl::cat(kilncCategory));
static cl::opt<kiln::InputFormat> inputFormat(
    "input-format", cl::desc("input format (default: by file extension)"),
    cl::init(kiln::InputFormat::Auto),
    cl::values(clEnumValN(kiln::InputFormat::Onnx, "onnx", "an ONNX model"),
               clEnumValN(kiln::InputFormat::Mlir, "mlir",
                          "MLIR following docs/ir-contract.md")),
    cl::cat(kilncCategory));
static cl::opt<bool> timeStages("time-stages", cl::desc("print each stage's wall time"),
                                cl::init(false), cl::cat(kilncCategory));
static cl::opt<std::string> quantize(
    "quantize", cl::desc("weight-only quantization: none, int8, int4, int3, int2"),
    cl::init("none"), cl::cat(kilncCategory));
static cl::opt<int64_t> groupSize("group-size",
                                  cl::desc("quantization group size along K (0: per channel)"),
                                  cl::init(0), cl::cat(kilncCategory));
static cl::opt<bool> asymmetric("asymmetric", cl::desc("asymmetric (zero-point) codes"),
                                cl::init(false), cl::cat(kilncCategory));
static cl::opt<std::string> recipePath(
    "recipe", cl::desc("JSON compression recipe with per-layer stages (docs/compression.md)"),
    cl::value_desc("path"), cl::init(""), cl::cat(kilncCategory));
static cl::opt<bool> distill(
    "distill", cl::desc("refit compressed layers to the uncompressed model's outputs"),
    cl::init(false), cl::cat(kilncCategory));
static cl::opt<std::string> calibPath(
    "calib", cl::desc("calibration inputs: an .npz, an .npy, or a folder of .npy or ONNX "
                      "TensorProto .pb files, one array per model input (default: synthetic "
                      "normal inputs)"),
    cl::value_desc("path"), cl::init(""), cl::cat(kilncCategory));
static cl::opt<std::string> reportPath(
    "report", cl::desc("print a per-layer compression table and write it as JSON to this file"),
    cl::value_desc("report.json"), cl::init(""), cl::cat(kilncCategory));
static cl::opt<std::string> evalPath(
    "eval", cl::desc("inputs the --report evaluates on (default: the --calib inputs)"),
    cl::value_desc("path"), cl::init(""), cl::cat(kilncCategory));
static cl::opt<bool> progress(
    "progress",
    cl::desc("progress bars for calibration, GPTQ and distillation on stderr (default: only "
             "when stderr is a terminal; --progress=false never)"),
    cl::init(false), cl::cat(kilncCategory));
static cl::list<std::string> dims("dim",
                                  cl::desc("pin or bound a symbolic dimension: NAME=VALUE "
                                           "or NAME=MIN..MAX"),
                                  cl::value_desc("binding"), cl::cat(kilncCategory));

static FailureOr<unsigned> parseQuantizeBits(StringRef value) {
  if (value == "none")
    return 0u;
  unsigned bits;
  if (value.consume_front("int") && !value.getAsInteger(10, bits) && bits >= 2 && bits <= 8)
    return bits;
  return failure();
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // --mlir-print-debuginfo and friends, so tests can see node locations.
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions(kilncCategory);
  cl::ParseCommandLineOptions(argc, argv, "Kiln model compiler\n");

  if (progress.getNumOccurrences() > 0)
    kiln::setProgressMode(progress ? kiln::ProgressMode::Always : kiln::ProgressMode::Never);
  kiln::DriverOptions options;
  options.inputPath = inputPath;
  options.outputPath = outputPath;
  options.emit = emitKind;
  options.target = target;
  options.gpuArchs = gpuArchs;
  options.precision = precision;
  options.libraryKernels = libraryKernels;
  options.wgmma = wgmma;
  if (target != kiln::Target::None && emitKind.getNumOccurrences() == 0)
    options.emit = kiln::EmitKind::SharedLibrary;
  options.modelName = modelName;
  options.cpu = cpu;
  options.externalWeights = weights == WeightsPlacement::External;
  options.sanitizedGlue = sanitizedGlue;
  options.inputFormat = inputFormat;
  options.timeStages = timeStages;
  options.dimBindings.assign(dims.begin(), dims.end());
  FailureOr<unsigned> bits = parseQuantizeBits(quantize);
  if (failed(bits)) {
    WithColor::error(errs(), "kilnc") << "--quantize must be none or int2..int8, got '"
                                      << quantize << "'\n";
    return 2;
  }
  options.compression.weightBits = *bits;
  options.compression.perGroup = groupSize > 0;
  options.compression.groupSize = groupSize > 0 ? int64_t(groupSize) : 128;
  options.compression.symmetric = !asymmetric;
  options.compression.recipePath = recipePath;
  options.compression.distill = distill;
  options.compression.calibPath = calibPath;
  options.compression.reportPath = reportPath;
  options.compression.evalPath = evalPath;
  return kiln::runDriver(options);
}
