// The detectors and unpackers compiled in, in the order of their list files.
#pragma once

#include <memory>
#include <vector>

#include "tollgate/detector.h"
#include "tollgate/unpacker.h"

namespace tollgate {

std::vector<DetectorFactory> DetectorFactories();
std::vector<std::unique_ptr<Unpacker>> MakeUnpackers();

}  // namespace tollgate
