// libFuzzer target: the zip unpacker on one input (see unpacker_fuzzer.h).
#include "unpacker_fuzzer.h"

TOLLGATE_UNPACKER_FUZZER(zip, "application/zip", "fuzz.zip")
