// libFuzzer target: the clamd command parser (engine/service/clamd_protocol.h) on one connection's
// input, taking commands until it refuses or needs more, as a connection does. A command that
// consumes nothing or more than it was given would loop or read past the input: both abort.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "clamd_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tollgate::service::clamd;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    auto taken = TakeCommand(input);
    if (!taken.ok()) {
      (void)Frame(taken.status().message(), FramingOf(input));
      break;
    }
    if (!taken->has_value()) break;
    const Taken& command = **taken;
    if (command.consumed == 0 || command.consumed > input.size()) std::abort();
    (void)Frame(ErrorLine(command.command.argument, "fuzz"), command.command.framing, 1);
    input.remove_prefix(command.consumed);
  }
  return 0;
}
