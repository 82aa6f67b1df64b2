//===- kiln-kernelgen.cpp - write generated GPU kernels as MLIR/PTX/cubin -===//
//
//   kiln-kernelgen --kernel=int4:m1:n4096:k4096:g128 --kernel=f16:m16:n4096:k4096
//                  --gpu-arch=sm_90a --emit=ptx -o kernels.ptx
//                  [--manifest=kernels.json]
//
// All kernels land in one gpu.module, hence one PTX/cubin file. The manifest
// lists each kernel's symbol, shapes, parameter order and launch shape so a
// loader (the benchmark, tests) needs no knowledge of the generator.
//
//===----------------------------------------------------------------------===//
#include "kiln/Kernels/Gemv.h"
#include "kiln/Targets/GPU/PtxEmitter.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace kiln;

namespace {

llvm::cl::list<std::string> kernelSpecs(
    "kernel",
    llvm::cl::desc("kernel to generate: FORMAT[:tc]:mM:nN:kK[:gGROUP][:rROWS][:wWARPS][:uCHUNKS][:sKSPLIT][:pBLOCKS], "
                   "FORMAT = f16 | int8 | int4; tc = tensor cores (repeatable)"),
    llvm::cl::OneOrMore);
llvm::cl::opt<std::string> gpuArch("gpu-arch", llvm::cl::desc("sm_80 | sm_90a | ..."),
                                   llvm::cl::init("sm_90a"));
enum class Emit { Mlir, Ptx, Cubin };
llvm::cl::opt<Emit> emitKind(
    "emit", llvm::cl::desc("what to write"), llvm::cl::init(Emit::Ptx),
    llvm::cl::values(clEnumValN(Emit::Mlir, "mlir", "kernel IR before lowering"),
                     clEnumValN(Emit::Ptx, "ptx", "PTX"),
                     clEnumValN(Emit::Cubin, "cubin", "cubin through ptxas")));
llvm::cl::opt<std::string> outputPath("o", llvm::cl::desc("output file"),
                                      llvm::cl::init("-"));
llvm::cl::opt<std::string> manifestPath("manifest",
                                        llvm::cl::desc("write a JSON kernel manifest here"));

llvm::Error parseError(llvm::StringRef spec, const llvm::Twine &why) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "--kernel=" + spec + ": " + why);
}

llvm::Expected<kernels::GemvSpec> parseKernelSpec(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> fields;
  text.split(fields, ':');
  kernels::GemvSpec spec;
  std::optional<kernels::WeightFormat> format = kernels::parseWeightFormat(fields[0]);
  if (!format)
    return parseError(text, "unknown weight format '" + fields[0] +
                                "' (expected f16, int8 or int4)");
  spec.format = *format;
  if (fields.size() > 1 && fields[1] == "tc") {
    spec.method = kernels::GemvMethod::MmaSync;
    fields.erase(fields.begin() + 1);
  }
  bool sawM = false, sawN = false, sawK = false;
  for (llvm::StringRef field : llvm::ArrayRef(fields).drop_front()) {
    int64_t value = 0;
    if (field.size() < 2 || field.drop_front().getAsInteger(10, value))
      return parseError(text, "field '" + field + "' is not a letter followed by a number");
    switch (field.front()) {
    case 'm': spec.m = value; sawM = true; break;
    case 'n': spec.n = value; sawN = true; break;
    case 'k': spec.k = value; sawK = true; break;
    case 'g': spec.groupSize = value; break;
    case 'r': spec.rowsPerWarp = value; break;
    case 'w': spec.warpsPerBlock = value; break;
    case 'u': spec.chunksInFlight = value; break;
    case 's': spec.kSplit = value; break;
    case 'p': spec.persistentBlocks = value; break;
    default:
      return parseError(text, "unknown field '" + field + "'");
    }
  }
  if (!sawM || !sawN || !sawK)
    return parseError(text, "m, n and k are required");
  auto resolved = kernels::resolveGemvSpec(spec);
  if (!resolved)
    return parseError(text, llvm::toString(resolved.takeError()));
  return *resolved;
}

llvm::json::Object manifestEntry(const kernels::GemvSpec &spec) {
  kernels::LaunchShape launch = kernels::gemvLaunchShape(spec);
  llvm::json::Array params;
  params.push_back("x");
  params.push_back("w");
  if (spec.format != kernels::WeightFormat::F16)
    params.push_back("scales");
  params.push_back("y");
  return llvm::json::Object{
      {"name", kernels::gemvKernelName(spec)},
      {"op", "gemv"},
      {"method", spec.method == kernels::GemvMethod::MmaSync ? "mma_sync" : "simt"},
      {"format", kernels::weightFormatName(spec.format)},
      {"m", spec.m},
      {"n", spec.n},
      {"k", spec.k},
      {"group_size", spec.groupSize},
      {"rows_per_warp", spec.rowsPerWarp},
      {"chunks_in_flight", spec.chunksInFlight},
      {"k_split", spec.kSplit},
      {"persistent_blocks", spec.persistentBlocks},
      {"params", std::move(params)},
      {"grid", llvm::json::Array{launch.gridX, 1, 1}},
      {"block", llvm::json::Array{launch.blockX, 1, 1}}};
}

int fail(const llvm::Twine &message) {
  llvm::errs() << "kiln-kernelgen: error: " << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::ParseCommandLineOptions(argc, argv, "Kiln GPU kernel generator\n");
  if (!gpu_target::isSupportedGpuArch(gpuArch))
    return fail("unsupported --gpu-arch=" + gpuArch + "; expected one of " +
                gpu_target::supportedGpuArchList());

  std::vector<kernels::GemvSpec> specs;
  for (const std::string &text : kernelSpecs) {
    auto spec = parseKernelSpec(text);
    if (!spec)
      return fail(llvm::toString(spec.takeError()));
    specs.push_back(*spec);
  }

  DialectRegistry registry;
  gpu_target::registerGpuTargetDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OpBuilder builder(&context);
  Location loc = builder.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  builder.setInsertionPointToEnd(module->getBody());
  auto gpuModule = gpu::GPUModuleOp::create(builder, loc, "kiln_kernels");
  llvm::StringSet<> names;
  llvm::json::Array manifest;
  for (const kernels::GemvSpec &spec : specs) {
    if (!names.insert(kernels::gemvKernelName(spec)).second)
      return fail("kernel " + kernels::gemvKernelName(spec) + " was requested twice");
    kernels::buildGemvKernel(builder, gpuModule, spec);
    manifest.push_back(manifestEntry(spec));
  }
  if (failed(verify(*module)))
    return fail("generated kernel IR failed verification (a generator bug)");

  std::string error;
  auto output = openOutputFile(outputPath, &error);
  if (!output)
    return fail("cannot open " + outputPath + ": " + error);
  if (emitKind == Emit::Mlir) {
    module->print(output->os());
  } else {
    auto ptx = gpu_target::emitPtx(*module, gpuArch);
    if (!ptx)
      return fail(llvm::toString(ptx.takeError()));
    if (emitKind == Emit::Ptx) {
      output->os() << *ptx;
    } else {
      if (outputPath == "-")
        return fail("--emit=cubin needs -o FILE");
      output->os().close();
      if (auto err = gpu_target::assembleCubin(*ptx, gpuArch, outputPath))
        return fail(llvm::toString(std::move(err)));
    }
  }
  if (!manifestPath.empty()) {
    auto manifestFile = openOutputFile(manifestPath, &error);
    if (!manifestFile)
      return fail("cannot open " + manifestPath + ": " + error);
    manifestFile->os() << llvm::formatv(
        "{0:2}", llvm::json::Value(llvm::json::Object{
                     {"arch", gpuArch}, {"kernels", std::move(manifest)}}));
    manifestFile->os() << "\n";
    manifestFile->keep();
  }
  output->keep();
  return 0;
}
