//===- HostCalibrationRunner.h - calibration through compiled host code --===//
#ifndef KILN_CALIBRATION_HOSTCALIBRATIONRUNNER_H
#define KILN_CALIBRATION_HOSTCALIBRATIONRUNNER_H

#include "mlir/IR/DialectRegistry.h"

namespace kiln {

/// Attaches the host target's calibration runner to the kiln dialect: the
/// compression passes then run models through Kiln's own compiled x86-64
/// code (compiled in-process, loaded from a temporary folder).
void registerHostCalibrationRunner(mlir::DialectRegistry &registry);

} // namespace kiln

#endif // KILN_CALIBRATION_HOSTCALIBRATIONRUNNER_H
