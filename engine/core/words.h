// Whether a layer's words are read or run (Words, tollgate/unpacker.h): decided here for every layer.
#pragma once

#include "tollgate/unpacker.h"

namespace tollgate {

// `layer` as the pipeline has it (typed); `declared` is what its unpacker said, and `container`
// whether one of Tollgate's unpackers takes it and finds all its words in its children.
bool IsProse(const ScanObject& layer, Words declared, bool container);

}  // namespace tollgate
