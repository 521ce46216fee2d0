// The formula detector (see formula_detector.cc), for code that builds detectors itself, such as tests.
#pragma once

#include "tollgate/detector.h"

namespace tollgate {

DetectorFactory MakeDetectorFactory_formula();

}  // namespace tollgate
