// The client side of the scanning service, used by `tollgate scan --remote` and the load generator.
//
// Files are sent with ScanStream in chunks (1 MiB by default), so any size up to the server's limit
// works. A call refused because the server is busy (RESOURCE_EXHAUSTED with `tollgate-retryable:
// busy`) or its sandbox is replacing lost processes (UNAVAILABLE with `tollgate-retryable: sandbox`)
// is retried with backoff until the per-file timeout; every other RPC error is returned.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "tollgate/status.h"
#include "tollgate/v1/scanner.grpc.pb.h"

namespace tollgate::service {

struct ClientOptions {
  std::string target;       // HOST:PORT
  std::string tls_ca_file;  // set: TLS, the server verified against this CA; empty: plain text
  std::string tls_cert_file, tls_key_file;  // the client certificate, for servers that require one
  // First field of the first line that is not blank or a `#` comment: a bare token or a server-style
  // `TOKEN TENANT` line both work.
  std::string token_file;
  std::chrono::milliseconds timeout{60'000};         // per file, retries included
  std::chrono::milliseconds connect_timeout{5'000};  // for Connect()
  size_t chunk_bytes = 1 << 20;
};

class ScanClient {
 public:
  // Fails (UNAVAILABLE) when the first connection attempt fails or none succeeds within connect_timeout.
  static StatusOr<std::unique_ptr<ScanClient>> Connect(const ClientOptions& options);

  StatusOr<v1::ScanResponse> ScanFile(const std::string& path) const;
  // ScanStream from memory, and the unary Scan (the content must fit the server's message limit).
  StatusOr<v1::ScanResponse> ScanStream(std::string_view filename, std::string_view content) const;
  StatusOr<v1::ScanResponse> Scan(std::string_view filename, std::string_view content) const;

 private:
  ScanClient() = default;
  // Runs `attempt` with a fresh context until it is not refused as retryable or the time is up.
  template <typename Attempt>
  StatusOr<v1::ScanResponse> WithRetries(const Attempt& attempt) const;

  ClientOptions options_;
  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Scanner::Stub> stub_;
};

}  // namespace tollgate::service
