// libFuzzer target: the ooxml unpacker on one input (see unpacker_fuzzer.h).
#include "unpacker_fuzzer.h"

TOLLGATE_UNPACKER_FUZZER(ooxml, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "fuzz.docx")
