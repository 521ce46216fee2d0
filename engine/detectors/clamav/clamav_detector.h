// The ClamAV detector: libclamav's signatures, and libclamav's own unpacking of 40+ formats.
//
// Every layer libclamav extracts while it recurses is handed to the other detectors through
// ScanContext::VisitNestedLayer, so YARA and Hyperscan see inside formats Tollgate does not unpack
// itself. A layer that one of Tollgate's unpackers already unpacks (ScanObject::unpacked_by) is not
// unpacked again by libclamav.
#pragma once

#include "tollgate/detector.h"

namespace tollgate {

// Named "clamav". `create` loads each file of DetectorConfig::files with cl_load (ClamAV database
// extensions only: .cvd .cld .cud .hdb .hsb .hdu .hsu .mdb .msb .ndb .ndu .ldb .ldu .fp .sfp .ign
// .ign2 .cdb .idb .ftm .pdb .wdb .gdb .crb .cat) and compiles them. No files is valid: the engine
// then detects nothing itself but still unpacks for the other detectors.
// Errors: InvalidArgument (other extension, or a database libclamav rejects), NotFound (missing file).
DetectorFactory MakeDetectorFactory_clamav();

}  // namespace tollgate
