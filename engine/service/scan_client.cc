#include "scan_client.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "text_file.h"

namespace tollgate::service {
namespace {

using Clock = std::chrono::system_clock;

StatusOr<std::string> ReadToken(const std::string& path) {
  auto text = ReadTextFile(path, "token file");
  if (!text.ok()) return text.status();
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string token;
    if (fields >> token && token.front() != '#') return token;
  }
  return InvalidArgument("token file " + path + ": no token");
}

StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(const ClientOptions& options) {
  if (options.tls_ca_file.empty()) {
    if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
      return InvalidArgument("a client certificate needs TLS: give --tls-ca too");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  auto ca = ReadTextFile(options.tls_ca_file, "CA certificate");
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = std::move(*ca);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidArgument("a client certificate needs both --tls-cert and --tls-key");
  }
  if (!options.tls_cert_file.empty()) {
    auto cert = ReadTextFile(options.tls_cert_file, "certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadTextFile(options.tls_key_file, "private key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = std::move(*cert);
    ssl.pem_private_key = std::move(*key);
  }
  return grpc::SslCredentials(ssl);
}

Status FromGrpc(const grpc::Status& status) {
  return Status(static_cast<StatusCode>(status.error_code()), status.error_message());
}

// A refusal the server says will pass: busy (RESOURCE_EXHAUSTED), or a sandbox replacing processes
// it lost (UNAVAILABLE).
bool Retryable(const grpc::Status& status, const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto it = trailers.find("tollgate-retryable");
  if (it == trailers.end()) return false;
  return (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && it->second == "busy") ||
         (status.error_code() == grpc::StatusCode::UNAVAILABLE && it->second == "sandbox");
}

// Writes a ScanStream call: metadata first, then the content in chunks from `read_chunk`, which
// fills its argument and returns false at the end (or sets `error`).
template <typename ReadChunk>
grpc::Status StreamUpload(v1::Scanner::Stub& stub, grpc::ClientContext& context, std::string_view filename,
                          uint64_t size, const ReadChunk& read_chunk, v1::ScanResponse& response, Status& error) {
  auto writer = stub.ScanStream(&context, &response);
  v1::ScanChunk chunk;
  v1::ScanMetadata& metadata = *chunk.mutable_metadata();
  metadata.set_filename(std::string(filename));
  metadata.set_size(size);
  // A failed Write means the server already answered (e.g. over the limit): Finish says why.
  bool open = writer->Write(chunk);
  while (open) {
    std::string* data = chunk.mutable_data();
    if (!read_chunk(*data)) break;
    open = writer->Write(chunk);
  }
  if (!error.ok()) {
    context.TryCancel();
    writer->Finish();
    return grpc::Status::OK;
  }
  if (open) writer->WritesDone();
  return writer->Finish();
}

}  // namespace

StatusOr<std::unique_ptr<ScanClient>> ScanClient::Connect(const ClientOptions& options) {
  std::unique_ptr<ScanClient> client(new ScanClient());
  client->options_ = options;
  if (!options.token_file.empty()) {
    auto token = ReadToken(options.token_file);
    if (!token.ok()) return token.status();
    client->token_ = std::move(*token);
  }
  auto credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  client->channel_ = grpc::CreateCustomChannel(options.target, *credentials, arguments);
  // The first failed attempt (refused, TLS handshake failed) ends the wait: a CLI should say so at
  // once rather than retry until the timeout.
  const auto deadline = Clock::now() + options.connect_timeout;
  grpc_connectivity_state state = client->channel_->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_TRANSIENT_FAILURE &&
         client->channel_->WaitForStateChange(state, deadline)) {
    state = client->channel_->GetState(/*try_to_connect=*/true);
  }
  if (state != GRPC_CHANNEL_READY) {
    return Unavailable(fmt::format("cannot connect to {} (server down, wrong address, or TLS refused)",
                                   options.target));
  }
  client->stub_ = v1::Scanner::NewStub(client->channel_);
  return client;
}

template <typename Attempt>
StatusOr<v1::ScanResponse> ScanClient::WithRetries(const Attempt& attempt) const {
  const auto deadline = Clock::now() + options_.timeout;
  auto backoff = std::chrono::milliseconds(10);
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    if (!token_.empty()) context.AddMetadata("authorization", "Bearer " + token_);
    v1::ScanResponse response;
    Status local_error;
    const grpc::Status status = attempt(context, response, local_error);
    if (!local_error.ok()) return local_error;
    if (status.ok()) return response;
    if (!Retryable(status, context) || Clock::now() + backoff >= deadline) return FromGrpc(status);
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
  }
}

StatusOr<v1::ScanResponse> ScanClient::ScanFile(const std::string& path) const {
  return WithRetries([&](grpc::ClientContext& context, v1::ScanResponse& response, Status& error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat info {};
    if (fd < 0 || ::fstat(fd, &info) != 0) {
      error = NotFound(std::strerror(errno));
      if (fd >= 0) ::close(fd);
      return grpc::Status::OK;
    }
    const std::string name = path.substr(path.find_last_of('/') + 1);
    // Sized to what is left rather than a whole chunk: a fresh 1 MiB zero-filled buffer per small
    // file cost more than a cached verdict's round trip. A file that grew since fstat is still read
    // to its end, a page at a time.
    uint64_t left = static_cast<uint64_t>(info.st_size);
    auto read_chunk = [&](std::string& data) {
      data.resize(static_cast<size_t>(std::min<uint64_t>(std::max<uint64_t>(left, 4096), options_.chunk_bytes)));
      ssize_t n;
      do {
        n = ::read(fd, data.data(), data.size());
      } while (n < 0 && errno == EINTR);
      if (n < 0) error = DataLoss(path + ": " + std::strerror(errno));
      data.resize(n > 0 ? static_cast<size_t>(n) : 0);
      left -= std::min<uint64_t>(left, data.size());
      return n > 0;
    };
    const grpc::Status status =
        StreamUpload(*stub_, context, name, static_cast<uint64_t>(info.st_size), read_chunk, response, error);
    ::close(fd);
    return status;
  });
}

StatusOr<v1::ScanResponse> ScanClient::ScanStream(std::string_view filename, std::string_view content) const {
  return WithRetries([&](grpc::ClientContext& context, v1::ScanResponse& response, Status& error) {
    size_t offset = 0;
    auto read_chunk = [&](std::string& data) {
      if (offset >= content.size()) return false;
      const size_t n = std::min(options_.chunk_bytes, content.size() - offset);
      data.assign(content.substr(offset, n));
      offset += n;
      return true;
    };
    return StreamUpload(*stub_, context, filename, content.size(), read_chunk, response, error);
  });
}

StatusOr<v1::ScanResponse> ScanClient::Scan(std::string_view filename, std::string_view content) const {
  v1::ScanRequest request;
  request.set_filename(std::string(filename));
  request.set_content(std::string(content));
  return WithRetries([&](grpc::ClientContext& context, v1::ScanResponse& response, Status&) {
    return stub_->Scan(&context, request, &response);
  });
}

}  // namespace tollgate::service
