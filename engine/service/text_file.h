// Small configuration files (certificates, keys, tokens) read whole, with errors that name them.
#pragma once

#include <string>
#include <string_view>

#include "tollgate/status.h"

namespace tollgate::service {

// `what` names the file in the error: "certificate /etc/tollgate/cert.pem: cannot be read".
StatusOr<std::string> ReadTextFile(const std::string& path, std::string_view what);

}  // namespace tollgate::service
