//===- kiln-kernelgen.cpp - write generated GPU kernels as MLIR/PTX/cubin -===//
//
//   kiln-kernelgen --kernel=int4:m1:n4096:k4096:g128 --kernel=f16:m16:n4096:k4096
//                  --kernel=gemm:int4:m2048:n4096:k4096:g128:t128x128x32:w2x4:s4
//                  --kernel=wgmma:int4:m2048:n4096:k4096:g128:t128x128:s5   (sm_90a only)
//                  --kernel=sgemm:f32:m512:n1024:k1024:t128x128x8:u8x8:bias   (exact f32)
//                  --kernel=sgemv:f32:m1:n4096:k4096:r2:w4:u4:bias           (exact f32, M <= 8)
//                  --kernel=attention:f16:b=1:h=12:q=128:k=128:d=64:v=64:scale=0.125:causal
//                  --gpu-arch=sm_90a --emit=ptx -o kernels.ptx
//                  [--manifest=kernels.json]
//
// All kernels land in one gpu.module, hence one PTX/cubin file. The manifest
// lists each kernel's symbol, shapes, parameter order and launch shape so a
// loader (the benchmark, tests) needs no knowledge of the generator.
//
//===----------------------------------------------------------------------===//
#include "kiln/Kernels/Attention.h"
#include "kiln/Kernels/F32Gemv.h"
#include "kiln/Kernels/Gemm.h"
#include "kiln/Kernels/Gemv.h"
#include "kiln/Kernels/SimtGemm.h"
#include "kiln/Kernels/WgmmaGemm.h"
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

#include <cmath>
#include <variant>

using namespace mlir;
using namespace kiln;

namespace {

llvm::cl::list<std::string> kernelSpecs(
    "kernel",
    llvm::cl::desc("kernel to generate (repeatable): a GEMV "
                   "FORMAT[:tc]:mM:nN:kK[:gGROUP][:rROWS][:wWARPS][:uCHUNKS][:sKSPLIT][:pBLOCKS] "
                   "(tc = tensor cores) or a GEMM "
                   "gemm:FORMAT:mM:nN:kK[:gGROUP][:tBMxBNxBK][:wWMxWN][:sSTAGES][:bias] "
                   "or a Hopper TMA + wgmma GEMM (sm_90a only) "
                   "wgmma:FORMAT:mM:nN:kK[:gGROUP][:tBMxBN][:sSTAGES][:bias] "
                   "or an exact f32 SIMT GEMM sgemm:f32:mM:nN:kK[:tBMxBNxBK][:uTMxTN][:bias] "
                   "or GEMV sgemv:f32:mM:nN:kK[:rROWS][:wWARPS][:uCHUNKS][:bias]; "
                   "FORMAT = f16 | int8 | int4; or a fused attention "
                   "attention:f32|f16:b=B:h=H:q=Q:k=K:d=D:v=DV[:scale=S][:causal]"
                   "[:mask=GROUPSxROWSxDIVISOR][:qs=|ks=|vs=SBxSHxSRxSC][:qo=|ko=|vo=OFFSET]"
                   "[:qe=|ke=|ve=ELEMENTS][:g=KV_GROUP][:w=WARPS][:r=ROWS][:tc|:simt] "
                   "(attention: tensor cores where they fit unless :simt)"),
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

/// The end of every spec parser: m, n and k were given, then the
/// generator's own checks (their message prefixed with the spec).
template <typename Spec>
llvm::Expected<Spec> resolveParsed(llvm::StringRef text, bool sawMnk, const Spec &spec,
                                   llvm::function_ref<llvm::Expected<Spec>(Spec)> resolve) {
  if (!sawMnk)
    return parseError(text, "m, n and k are required");
  llvm::Expected<Spec> resolved = resolve(spec);
  if (!resolved)
    return parseError(text, llvm::toString(resolved.takeError()));
  return *resolved;
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
    case 'd': spec.dependentLaunch = value != 0; break;
    default:
      return parseError(text, "unknown field '" + field + "'");
    }
  }
  return resolveParsed<kernels::GemvSpec>(text, sawM && sawN && sawK, spec,
                                          kernels::resolveGemvSpec);
}

/// Parses "AxB" or "AxBxC" into `out` (as many numbers as it has slots).
bool parseDims(llvm::StringRef text, llvm::MutableArrayRef<int64_t> out) {
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, 'x');
  if (parts.size() != out.size())
    return false;
  for (auto [part, value] : llvm::zip(parts, out))
    if (part.getAsInteger(10, value))
      return false;
  return true;
}

/// Parses KIND:FORMAT:field:... for either GEMM generator: the format,
/// `bias` and the m, n, k, g (group), s (stages) fields; `tile` takes the
/// generator's own fields (t, w) and says whether it knew and could parse
/// them (std::nullopt: unknown field). Then resolves the spec.
template <typename Spec>
llvm::Expected<Spec>
parseGemmFields(llvm::StringRef text, llvm::StringRef kind, llvm::StringRef what,
                llvm::function_ref<std::optional<bool>(Spec &, char, llvm::StringRef)> tile,
                llvm::function_ref<llvm::Expected<Spec>(Spec)> resolve) {
  llvm::SmallVector<llvm::StringRef> fields;
  text.split(fields, ':');
  Spec spec;
  std::optional<kernels::WeightFormat> format =
      fields.size() > 1 ? kernels::parseWeightFormat(fields[1]) : std::nullopt;
  if (!format)
    return parseError(text, "a " + what + " needs a weight format after '" + kind +
                                ":' (f16, int8 or int4)");
  spec.format = *format;
  bool sawM = false, sawN = false, sawK = false;
  for (llvm::StringRef field : llvm::ArrayRef(fields).drop_front(2)) {
    if (field == "bias") {
      spec.bias = true;
      continue;
    }
    llvm::StringRef value = field.drop_front();
    std::optional<bool> ok = field.size() >= 2;
    switch (*ok ? field.front() : '\0') {
    case 'm': ok = !value.getAsInteger(10, spec.m); sawM = true; break;
    case 'n': ok = !value.getAsInteger(10, spec.n); sawN = true; break;
    case 'k': ok = !value.getAsInteger(10, spec.k); sawK = true; break;
    case 'g': ok = !value.getAsInteger(10, spec.groupSize); break;
    case 's': ok = !value.getAsInteger(10, spec.stages); break;
    default:
      ok = *ok ? tile(spec, field.front(), value) : false;
      if (!ok)
        return parseError(text, "unknown " + what + " field '" + field + "'");
    }
    if (!*ok)
      return parseError(text, "malformed " + what + " field '" + field + "'");
  }
  return resolveParsed<Spec>(text, sawM && sawN && sawK, spec, resolve);
}

llvm::Expected<kernels::GemmSpec> parseGemmSpec(llvm::StringRef text) {
  return parseGemmFields<kernels::GemmSpec>(
      text, "gemm", "GEMM",
      [](kernels::GemmSpec &spec, char letter, llvm::StringRef value) -> std::optional<bool> {
        int64_t dims[3] = {0, 0, 0};
        if (letter == 't') {
          bool ok = parseDims(value, dims);
          spec.blockM = dims[0], spec.blockN = dims[1], spec.blockK = dims[2];
          return ok;
        }
        if (letter == 'w') {
          bool ok = parseDims(value, llvm::MutableArrayRef<int64_t>(dims, 2));
          spec.warpsM = dims[0], spec.warpsN = dims[1];
          return ok;
        }
        return std::nullopt;
      },
      kernels::resolveGemmSpec);
}

llvm::Expected<kernels::WgmmaGemmSpec> parseWgmmaSpec(llvm::StringRef text) {
  return parseGemmFields<kernels::WgmmaGemmSpec>(
      text, "wgmma", "wgmma GEMM",
      [](kernels::WgmmaGemmSpec &spec, char letter,
         llvm::StringRef value) -> std::optional<bool> {
        if (letter != 't')
          return std::nullopt;
        int64_t dims[2] = {0, 0};
        bool ok = parseDims(value, dims);
        spec.blockM = dims[0], spec.blockN = dims[1];
        return ok;
      },
      kernels::resolveWgmmaGemmSpec);
}

/// "sgemm:f32:m512:n1024:k1024[:t128x128x8][:u8x8][:bias]".
llvm::Expected<kernels::SimtGemmSpec> parseSimtGemmSpec(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> fields;
  text.split(fields, ':');
  if (fields.size() < 2 || fields[1] != "f32")
    return parseError(text, "an sgemm needs 'f32' after 'sgemm:'");
  kernels::SimtGemmSpec spec;
  bool sawM = false, sawN = false, sawK = false;
  for (llvm::StringRef field : llvm::ArrayRef(fields).drop_front(2)) {
    if (field == "bias") {
      spec.bias = true;
      continue;
    }
    llvm::StringRef value = field.drop_front();
    int64_t tile[3] = {0, 0, 0};
    bool ok = field.size() >= 2;
    switch (ok ? field.front() : '\0') {
    case 'm': ok = !value.getAsInteger(10, spec.m); sawM = true; break;
    case 'n': ok = !value.getAsInteger(10, spec.n); sawN = true; break;
    case 'k': ok = !value.getAsInteger(10, spec.k); sawK = true; break;
    case 't':
      ok = parseDims(value, tile);
      spec.blockM = tile[0], spec.blockN = tile[1], spec.blockK = tile[2];
      break;
    case 'u':
      ok = parseDims(value, llvm::MutableArrayRef<int64_t>(tile, 2));
      spec.threadM = tile[0], spec.threadN = tile[1];
      break;
    default:
      return parseError(text, "unknown sgemm field '" + field + "'");
    }
    if (!ok)
      return parseError(text, "malformed sgemm field '" + field + "'");
  }
  return resolveParsed<kernels::SimtGemmSpec>(text, sawM && sawN && sawK, spec,
                                              kernels::resolveSimtGemmSpec);
}

/// "sgemv:f32:m1:n4096:k4096[:r2][:w4][:u4][:bias]".
llvm::Expected<kernels::F32GemvSpec> parseF32GemvSpec(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> fields;
  text.split(fields, ':');
  if (fields.size() < 2 || fields[1] != "f32")
    return parseError(text, "an sgemv needs 'f32' after 'sgemv:'");
  kernels::F32GemvSpec spec;
  bool sawM = false, sawN = false, sawK = false;
  for (llvm::StringRef field : llvm::ArrayRef(fields).drop_front(2)) {
    if (field == "bias") {
      spec.bias = true;
      continue;
    }
    int64_t value = 0;
    if (field.size() < 2 || field.drop_front().getAsInteger(10, value))
      return parseError(text, "field '" + field + "' is not a letter followed by a number");
    switch (field.front()) {
    case 'm': spec.m = value; sawM = true; break;
    case 'n': spec.n = value; sawN = true; break;
    case 'k': spec.k = value; sawK = true; break;
    case 'r': spec.rowsPerWarp = value; break;
    case 'w': spec.warpsPerBlock = value; break;
    case 'u': spec.chunksInFlight = value; break;
    default:
      return parseError(text, "unknown sgemv field '" + field + "'");
    }
  }
  return resolveParsed<kernels::F32GemvSpec>(text, sawM && sawN && sawK, spec,
                                             kernels::resolveF32GemvSpec);
}

/// "attention:f16:b=1:h=4:q=16:k=16:d=16:v=16:scale=0.25:causal:mask=1x16x4".
llvm::Expected<kernels::AttentionSpec> parseAttentionSpec(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> fields;
  text.split(fields, ':');
  kernels::AttentionSpec spec;
  if (fields.size() < 2 || (fields[1] != "f32" && fields[1] != "f16"))
    return parseError(text, "an attention kernel needs f32 or f16 after 'attention:'");
  spec.element = fields[1] == "f16" ? kernels::AttentionElement::F16
                                    : kernels::AttentionElement::F32;
  bool sawScale = false;
  for (llvm::StringRef field : llvm::ArrayRef(fields).drop_front(2)) {
    if (field == "causal") {
      spec.causal = true;
      continue;
    }
    if (field == "tc" || field == "simt") {
      spec.method = field == "tc" ? kernels::AttentionMethod::TensorCore
                                  : kernels::AttentionMethod::Simt;
      continue;
    }
    auto [key, valueText] = field.split('=');
    llvm::StringRef value = valueText;
    bool ok = !value.empty();
    auto integer = [&](int64_t &out) { ok = ok && !value.getAsInteger(10, out); };
    if (key == "b") integer(spec.batch);
    else if (key == "h") integer(spec.heads);
    else if (key == "q") integer(spec.queries);
    else if (key == "k") integer(spec.keys);
    else if (key == "d") integer(spec.headDim);
    else if (key == "v") integer(spec.valueDim);
    else if (key == "w") integer(spec.warps);
    else if (key == "r") integer(spec.rowsPerWarp);
    else if (key == "g") integer(spec.kvGroup);
    else if (key == "qo") integer(spec.qOffset);
    else if (key == "ko") integer(spec.kOffset);
    else if (key == "vo") integer(spec.vOffset);
    else if (key == "qe") integer(spec.qElements);
    else if (key == "ke") integer(spec.kElements);
    else if (key == "ve") integer(spec.vElements);
    else if (key == "scale") {
      double scale = 0;
      ok = ok && !value.getAsDouble(scale);
      spec.scale = static_cast<float>(scale);
      sawScale = true;
    } else if (key == "mask") {
      int64_t dims[3];
      ok = ok && parseDims(value, dims);
      spec.mask = true;
      spec.maskGroups = dims[0], spec.maskRows = dims[1], spec.maskDivisor = dims[2];
    } else if (key == "qs" || key == "ks" || key == "vs") {
      auto &strides = key == "qs" ? spec.qStrides : key == "ks" ? spec.kStrides : spec.vStrides;
      ok = ok && parseDims(value, strides);
    } else {
      return parseError(text, "unknown attention field '" + field + "'");
    }
    if (!ok)
      return parseError(text, "malformed attention field '" + field + "'");
  }
  if (!sawScale && spec.headDim > 0)
    spec.scale = 1.0f / std::sqrt(static_cast<float>(spec.headDim));
  auto resolved = kernels::resolveAttentionSpec(spec);
  if (!resolved)
    return parseError(text, llvm::toString(resolved.takeError()));
  return *resolved;
}

llvm::json::Object manifestEntry(const kernels::AttentionSpec &spec) {
  kernels::AttentionLaunchShape launch = kernels::attentionLaunchShape(spec);
  kernels::AttentionExtents extents = kernels::attentionExtents(spec);
  llvm::json::Array params{"q", "k", "v"};
  if (spec.mask)
    params.push_back("mask");
  params.push_back("o");
  return llvm::json::Object{
      {"name", kernels::attentionKernelName(spec)},
      {"op", "attention"},
      {"method", spec.method == kernels::AttentionMethod::TensorCore ? "mma_sync" : "simt"},
      {"element", spec.element == kernels::AttentionElement::F16 ? "f16" : "f32"},
      {"batch", spec.batch},
      {"heads", spec.heads},
      {"queries", spec.queries},
      {"keys", spec.keys},
      {"head_dim", spec.headDim},
      {"value_dim", spec.valueDim},
      {"kv_group", spec.kvGroup},
      {"q_strides", llvm::json::Array(spec.qStrides)},
      {"k_strides", llvm::json::Array(spec.kStrides)},
      {"v_strides", llvm::json::Array(spec.vStrides)},
      {"q_offset", spec.qOffset},
      {"k_offset", spec.kOffset},
      {"v_offset", spec.vOffset},
      {"q_elements", spec.qElements},
      {"k_elements", spec.kElements},
      {"v_elements", spec.vElements},
      {"scale", static_cast<double>(spec.scale)},
      {"causal", spec.causal},
      {"mask", spec.mask},
      {"mask_groups", spec.maskGroups},
      {"mask_rows", spec.maskRows},
      {"mask_divisor", spec.maskDivisor},
      {"params", std::move(params)},
      {"extents", llvm::json::Array{extents.q, extents.k, extents.v, extents.mask, extents.o}},
      {"grid", llvm::json::Array{launch.gridX, 1, 1}},
      {"block", llvm::json::Array{launch.blockX, 1, 1}},
      {"shared_bytes", launch.dynamicSharedBytes}};
}

llvm::json::Array paramNames(kernels::WeightFormat format, bool bias) {
  llvm::json::Array params;
  params.push_back("x");
  params.push_back("w");
  if (format != kernels::WeightFormat::F16)
    params.push_back("scales");
  if (bias)
    params.push_back("bias");
  params.push_back("y");
  return params;
}

/// The manifest fields both GEMM generators share.
template <typename Spec, typename Launch>
llvm::json::Object gemmEntry(const Spec &spec, llvm::StringRef name, llvm::StringRef method,
                             const Launch &launch, int64_t blockK) {
  return llvm::json::Object{{"name", name},
                            {"op", "gemm"},
                            {"method", method},
                            {"format", kernels::weightFormatName(spec.format)},
                            {"m", spec.m},
                            {"n", spec.n},
                            {"k", spec.k},
                            {"group_size", spec.groupSize},
                            {"bias", spec.bias},
                            {"block_tile", llvm::json::Array{spec.blockM, spec.blockN, blockK}},
                            {"stages", spec.stages},
                            {"grid", llvm::json::Array{launch.gridX, launch.gridY, 1}},
                            {"block", llvm::json::Array{launch.blockX, 1, 1}},
                            {"shared_bytes", launch.dynamicSharedBytes}};
}

llvm::json::Object manifestEntry(const kernels::GemmSpec &spec) {
  llvm::json::Object entry = gemmEntry(spec, kernels::gemmKernelName(spec), "mma_sync",
                                       kernels::gemmLaunchShape(spec), spec.blockK);
  entry["warps"] = llvm::json::Array{spec.warpsM, spec.warpsN};
  entry["params"] = paramNames(spec.format, spec.bias);
  return entry;
}

llvm::json::Object manifestEntry(const kernels::F32GemvSpec &spec) {
  kernels::F32GemvLaunchShape launch = kernels::f32GemvLaunchShape(spec);
  llvm::json::Array params{"x", "w"};
  if (spec.bias)
    params.push_back("bias");
  params.push_back("y");
  return llvm::json::Object{{"name", kernels::f32GemvKernelName(spec)},
                            {"op", "gemv"},
                            {"method", "simt"},
                            {"format", "f32"},
                            {"m", spec.m},
                            {"n", spec.n},
                            {"k", spec.k},
                            {"bias", spec.bias},
                            {"rows_per_warp", spec.rowsPerWarp},
                            {"chunks_in_flight", spec.chunksInFlight},
                            {"params", std::move(params)},
                            {"grid", llvm::json::Array{launch.gridX, 1, 1}},
                            {"block", llvm::json::Array{launch.blockX, 1, 1}},
                            {"shared_bytes", 0}};
}

llvm::json::Object manifestEntry(const kernels::SimtGemmSpec &spec) {
  kernels::SimtGemmLaunchShape launch = kernels::simtGemmLaunchShape(spec);
  llvm::json::Array params{"x", "w"};
  if (spec.bias)
    params.push_back("bias");
  params.push_back("y");
  return llvm::json::Object{{"name", kernels::simtGemmKernelName(spec)},
                            {"op", "gemm"},
                            {"method", "simt"},
                            {"format", "f32"},
                            {"m", spec.m},
                            {"n", spec.n},
                            {"k", spec.k},
                            {"bias", spec.bias},
                            {"block_tile", llvm::json::Array{spec.blockM, spec.blockN,
                                                             spec.blockK}},
                            {"thread_tile", llvm::json::Array{spec.threadM, spec.threadN}},
                            {"params", std::move(params)},
                            {"grid", llvm::json::Array{launch.gridX, launch.gridY, 1}},
                            {"block", llvm::json::Array{launch.blockX, 1, 1}},
                            {"shared_bytes", launch.dynamicSharedBytes}};
}

/// A TMA tensor map the loader must encode (WgmmaGemm.h lists the fields):
/// `cols` and `box` count elements of `dtype` (f16, or u8 bytes).
llvm::json::Object tensorMapEntry(const kernels::WgmmaGemmSpec &spec, bool isWeight) {
  kernels::WgmmaTensorMapBox box = kernels::wgmmaTensorMapBox(spec, isWeight);
  bool bytes = isWeight && spec.format != kernels::WeightFormat::F16;
  int64_t cols = bytes ? spec.k * kernels::weightBits(spec.format) / 8 : spec.k;
  return llvm::json::Object{{"param", isWeight ? "w_map" : "x_map"},
                            {"rows", isWeight ? spec.n : spec.m},
                            {"cols", cols},
                            {"box", llvm::json::Array{box.cols, box.rows}},
                            {"dtype", bytes ? "u8" : "f16"},
                            {"swizzle", box.swizzle128B ? "128B" : "none"}};
}

llvm::json::Object manifestEntry(const kernels::WgmmaGemmSpec &spec) {
  llvm::json::Array params{"x_map", "w_map"};
  if (spec.format != kernels::WeightFormat::F16)
    params.push_back("scales");
  if (spec.bias)
    params.push_back("bias");
  params.push_back("y");
  llvm::json::Object entry =
      gemmEntry(spec, kernels::wgmmaGemmKernelName(spec), "wgmma_tma",
                kernels::wgmmaGemmLaunchShape(spec), kernels::kWgmmaBlockK);
  entry["params"] = std::move(params);
  entry["tensor_maps"] =
      llvm::json::Array{tensorMapEntry(spec, false), tensorMapEntry(spec, true)};
  return entry;
}

llvm::json::Object manifestEntry(const kernels::GemvSpec &spec) {
  kernels::LaunchShape launch = kernels::gemvLaunchShape(spec);
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
      {"dependent_launch", spec.dependentLaunch},
      {"params", paramNames(spec.format, /*bias=*/false)},
      {"grid", llvm::json::Array{launch.gridX, 1, 1}},
      {"block", llvm::json::Array{launch.blockX, 1, 1}},
      {"shared_bytes", 0}};
}

using KernelSpec =
    std::variant<kernels::GemvSpec, kernels::GemmSpec, kernels::WgmmaGemmSpec,
                 kernels::AttentionSpec, kernels::SimtGemmSpec, kernels::F32GemvSpec>;

template <typename Spec>
llvm::Expected<KernelSpec> asKernelSpec(llvm::Expected<Spec> spec) {
  if (!spec)
    return spec.takeError();
  return KernelSpec(*spec);
}

/// Any --kernel value, by its prefix (none: a GEMV), checked against --gpu-arch.
llvm::Expected<KernelSpec> parseAnySpec(llvm::StringRef text) {
  if (text.starts_with("wgmma:")) {
    if (llvm::Error error = kernels::checkWgmmaArch(gpuArch))
      return parseError(text, llvm::toString(std::move(error)));
    return asKernelSpec(parseWgmmaSpec(text));
  }
  if (text.starts_with("attention:"))
    return asKernelSpec(parseAttentionSpec(text));
  if (text.starts_with("sgemv:"))
    return asKernelSpec(parseF32GemvSpec(text));
  if (text.starts_with("sgemm:"))
    return asKernelSpec(parseSimtGemmSpec(text));
  if (text.starts_with("gemm:"))
    return asKernelSpec(parseGemmSpec(text));
  llvm::Expected<kernels::GemvSpec> spec = parseKernelSpec(text);
  // griddepcontrol needs sm_90 or newer.
  if (spec && spec->dependentLaunch && !llvm::StringRef(gpuArch).starts_with("sm_9"))
    return parseError(text, "a dependent launch (d1) needs sm_90 or newer, got --gpu-arch=" +
                                gpuArch);
  return asKernelSpec(std::move(spec));
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

  std::vector<KernelSpec> specs;
  for (const std::string &text : kernelSpecs) {
    llvm::Expected<KernelSpec> spec = parseAnySpec(text);
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
  for (const KernelSpec &request : specs) {
    std::string name = std::visit(
        [](const auto &spec) {
          using Spec = std::decay_t<decltype(spec)>;
          if constexpr (std::is_same_v<Spec, kernels::GemmSpec>)
            return kernels::gemmKernelName(spec);
          else if constexpr (std::is_same_v<Spec, kernels::WgmmaGemmSpec>)
            return kernels::wgmmaGemmKernelName(spec);
          else if constexpr (std::is_same_v<Spec, kernels::AttentionSpec>)
            return kernels::attentionKernelName(spec);
          else if constexpr (std::is_same_v<Spec, kernels::SimtGemmSpec>)
            return kernels::simtGemmKernelName(spec);
          else if constexpr (std::is_same_v<Spec, kernels::F32GemvSpec>)
            return kernels::f32GemvKernelName(spec);
          else
            return kernels::gemvKernelName(spec);
        },
        request);
    if (!names.insert(name).second)
      return fail("kernel " + name + " was requested twice");
    std::visit(
        [&](const auto &spec) {
          using Spec = std::decay_t<decltype(spec)>;
          if constexpr (std::is_same_v<Spec, kernels::GemmSpec>)
            kernels::buildGemmKernel(builder, gpuModule, spec);
          else if constexpr (std::is_same_v<Spec, kernels::WgmmaGemmSpec>)
            kernels::buildWgmmaGemmKernel(builder, gpuModule, spec);
          else if constexpr (std::is_same_v<Spec, kernels::AttentionSpec>)
            kernels::buildAttentionKernel(builder, gpuModule, spec);
          else if constexpr (std::is_same_v<Spec, kernels::SimtGemmSpec>)
            kernels::buildSimtGemmKernel(builder, gpuModule, spec);
          else if constexpr (std::is_same_v<Spec, kernels::F32GemvSpec>)
            kernels::buildF32GemvKernel(builder, gpuModule, spec);
          else
            kernels::buildGemvKernel(builder, gpuModule, spec);
          manifest.push_back(manifestEntry(spec));
        },
        request);
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
