// The OOXML unpacker (see ooxml_unpacker.cc), for code that chains unpackers itself, such as tests.
#pragma once

#include <memory>

#include "tollgate/unpacker.h"

namespace tollgate {

std::unique_ptr<Unpacker> MakeUnpacker_ooxml();

}  // namespace tollgate
