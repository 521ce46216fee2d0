// Listening addresses: "HOST:PORT" as gRPC takes them ("127.0.0.1:50051", "[::1]:50051",
// "localhost:0") and whether a host stays on this machine.
#pragma once

#include <string>
#include <string_view>

#include "tollgate/status.h"

namespace tollgate::service {

struct HostPort {
  std::string host;  // without IPv6 brackets
  int port = 0;
};

// Port 0 asks the system for a free port.
StatusOr<HostPort> ParseHostPort(std::string_view address);

// localhost, 127.0.0.0/8 and ::1. Plain-text listening is only allowed on these.
bool IsLoopbackHost(std::string_view host);

// The peer's address without its port ("ipv4:127.0.0.1:5555" -> "ipv4:127.0.0.1"): one client
// reconnecting from new ports stays one client.
std::string PeerHost(std::string_view grpc_peer);

}  // namespace tollgate::service
