#include "address.h"

#include <arpa/inet.h>

#include <charconv>

namespace tollgate::service {

StatusOr<HostPort> ParseHostPort(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgument("address \"" + std::string(address) + "\" is not HOST:PORT");
  }
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return InvalidArgument("address \"" + std::string(address) + "\": bad IPv6 brackets");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return InvalidArgument("address \"" + std::string(address) + "\": write IPv6 hosts in brackets, e.g. [::1]:50051");
  }
  HostPort result{std::string(host), 0};
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), result.port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() || result.port < 0 ||
      result.port > 65535) {
    return InvalidArgument("address \"" + std::string(address) + "\": port must be 0-65535");
  }
  return result;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  // ::ffff:127.0.0.1 is IPv4 loopback seen through an IPv6 socket.
  return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

std::string PeerHost(std::string_view grpc_peer) {
  // "unix:" peers have no port; "ipv4:" and "ipv6:" peers end in ":PORT".
  if (!grpc_peer.starts_with("ipv4:") && !grpc_peer.starts_with("ipv6:")) return std::string(grpc_peer);
  const size_t colon = grpc_peer.rfind(':');
  return std::string(grpc_peer.substr(0, colon));
}

}  // namespace tollgate::service
