// libFuzzer target: the pdf unpacker on one input (see unpacker_fuzzer.h).
#include "unpacker_fuzzer.h"

TOLLGATE_UNPACKER_FUZZER(pdf, "application/pdf", "fuzz.pdf")
