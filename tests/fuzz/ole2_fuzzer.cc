// libFuzzer target: the ole2 unpacker on one input (see unpacker_fuzzer.h).
#include "unpacker_fuzzer.h"

TOLLGATE_UNPACKER_FUZZER(ole2, "application/x-ole-storage", "fuzz.doc")
