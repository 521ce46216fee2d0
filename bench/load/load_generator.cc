// tollgate-load: sends documents to a Tollgate server at several concurrencies, over gRPC and over
// the clamd protocol (INSTREAM), and reports throughput and p50/p99 latency next to in-process
// Scanner::Scan of the same documents at the same concurrency. Each level is bounded by --requests
// and --duration, whichever comes first; the modes run in alternating batches so background load
// affects all alike.
//
// Without --target it starts an in-process server on 127.0.0.1 (gRPC and clamd over TCP) with the
// same rules, so every column uses identical engines; with --target (and --clamd) it measures a
// running `tollgate serve`.
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "convert.h"
#include "scan_client.h"
#include "scan_server.h"
#include "tollgate/scanner.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::string_view_literals;

struct Document {
  std::string name;
  std::string bytes;
};

struct Options {
  std::string target;
  std::string clamd;  // "tcp:HOST:PORT" or "unix:/path"; empty with --target: no clamd column
  std::string tls_ca, token_file;
  std::string rules_dir;
  std::vector<int> concurrency = {1, 2, 4, 8};
  size_t requests = 400;
  double duration_seconds = 10;
  size_t warmup = 10;
  size_t size_kb = 1024;
  size_t documents = 16;
  std::string files_dir;
  std::string rpc = "unary";
};

// Plain-text business documents: words, numbers and line breaks, distinct per seed.
std::vector<Document> MakeDocuments(size_t count, size_t size) {
  static const char* kWords[] = {"invoice", "quarterly", "report", "payment", "due", "customer", "order",
                                 "shipment", "total", "net", "tax", "account", "the", "and", "for", "of",
                                 "delivery", "contract", "terms", "signed", "regards", "meeting", "agenda"};
  std::vector<Document> documents;
  for (size_t i = 0; i < count; ++i) {
    std::mt19937 random(static_cast<uint32_t>(i + 1));
    std::string text;
    text.reserve(size + 32);
    while (text.size() < size) {
      text += kWords[random() % std::size(kWords)];
      text += random() % 12 == 0 ? "\n" : random() % 7 == 0 ? fmt::format(" {} ", random() % 100000) : " ";
    }
    text.resize(size);
    documents.push_back({fmt::format("document-{:02}.txt", i), std::move(text)});
  }
  return documents;
}

std::vector<Document> ReadDocuments(const std::string& dir) {
  std::vector<Document> documents;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    documents.push_back({entry.path().filename().string(), {std::istreambuf_iterator<char>(in), {}}});
  }
  std::sort(documents.begin(), documents.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return documents;
}

// One INSTREAM over a new connection, as clamdscan --stream sends it: the reply line, or empty when
// the connection failed.
class ClamdClient {
 public:
  explicit ClamdClient(std::string address) : address_(std::move(address)) {}

  std::string Instream(std::string_view content) const {
    const int fd = Connect();
    if (fd < 0) return {};
    std::string request = std::string("zINSTREAM") + '\0';
    constexpr size_t kChunk = 1 << 20;
    for (size_t at = 0; at < content.size(); at += kChunk) {
      AppendChunk(request, content.substr(at, kChunk));
    }
    AppendChunk(request, {});
    std::string reply;
    if (SendAll(fd, request)) {
      char buffer[512];
      for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) {
        reply.append(buffer, static_cast<size_t>(got));
        if (reply.back() == '\0') break;
      }
    }
    ::close(fd);
    return reply;
  }

 private:
  static void AppendChunk(std::string& out, std::string_view data) {
    const auto size = static_cast<uint32_t>(data.size());
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(size >> shift);
    out += data;
  }

  static bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  int Connect() const {
    if (address_.starts_with("unix:")) {
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::snprintf(address.sun_path, sizeof address.sun_path, "%s", address_.c_str() + 5);
      const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
      if (fd >= 0) ::close(fd);
      return -1;
    }
    const std::string host_port = address_.starts_with("tcp:") ? address_.substr(4) : address_;
    const size_t colon = host_port.rfind(':');
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (colon == std::string::npos ||
        ::getaddrinfo(host_port.substr(0, colon).c_str(), host_port.c_str() + colon + 1, &hints, &found) != 0) {
      return -1;
    }
    int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
    if (fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
    ::freeaddrinfo(found);
    return fd;
  }

  std::string address_;
};

struct LevelResult {
  std::vector<double> latencies_ms;
  double seconds = 0;
  uint64_t bytes = 0;
  size_t errors = 0;

  void Add(const LevelResult& batch) {
    latencies_ms.insert(latencies_ms.end(), batch.latencies_ms.begin(), batch.latencies_ms.end());
    seconds += batch.seconds;
    bytes += batch.bytes;
    errors += batch.errors;
  }
};

double Percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  std::sort(sorted.begin(), sorted.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// Runs `one(document)` `count` times from `concurrency` threads, starting at document `first`.
template <typename One>
LevelResult RunBatch(int concurrency, size_t count, size_t first, const std::vector<Document>& documents,
                     const One& one) {
  LevelResult result;
  std::atomic<size_t> next{0};
  std::mutex mutex;
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      LevelResult mine;
      for (size_t i = next++; i < count; i = next++) {
        const Document& document = documents[(first + i) % documents.size()];
        const auto begin = Clock::now();
        const bool ok = one(document);
        mine.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
        mine.bytes += document.bytes.size();
        mine.errors += !ok;
      }
      std::lock_guard lock(mutex);
      result.Add(mine);
    });
  }
  for (auto& thread : threads) thread.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

// Every mode in alternating batches, so that whatever else the machine does hits all alike.
template <typename Mode>
std::vector<LevelResult> RunLevel(const Options& options, int concurrency, const std::vector<Document>& documents,
                                  const std::vector<Mode>& modes) {
  const size_t batch = std::max<size_t>(16, 8 * static_cast<size_t>(concurrency));
  const auto stop_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(2 * options.duration_seconds));
  std::vector<LevelResult> results(modes.size());
  for (size_t done = 0; done < options.requests && Clock::now() < stop_at; done += batch) {
    const size_t count = std::min(batch, options.requests - done);
    for (size_t m = 0; m < modes.size(); ++m) results[m].Add(RunBatch(concurrency, count, done, documents, modes[m].one));
  }
  return results;
}

double Rate(const LevelResult& r) { return static_cast<double>(r.latencies_ms.size()) / std::max(r.seconds, 1e-9); }

void PrintRow(int concurrency, std::string_view mode, const LevelResult& r) {
  const double seconds = r.seconds > 0 ? r.seconds : 1e-9;
  fmt::print("{:>11} {:>10} {:>8} {:>7} {:>9.1f} {:>8.1f} {:>9.2f} {:>9.2f}\n", concurrency, mode,
             r.latencies_ms.size(), r.errors, Rate(r),
             static_cast<double>(r.bytes) / 1e6 / seconds, Percentile(r.latencies_ms, 0.5),
             Percentile(r.latencies_ms, 0.99));
}

int Run(Options& options) {
  tollgate::ScannerOptions scanner_options;
  scanner_options.rules_dir = options.rules_dir;
  auto scanner = tollgate::Scanner::Create(scanner_options);
  if (!scanner.ok()) {
    fmt::print(stderr, "tollgate-load: cannot load rules: {}\n", scanner.status().ToString());
    return 2;
  }
  const std::vector<Document> documents =
      options.files_dir.empty() ? MakeDocuments(options.documents, options.size_kb << 10) : ReadDocuments(options.files_dir);
  if (documents.empty()) {
    fmt::print(stderr, "tollgate-load: no documents\n");
    return 2;
  }

  // The in-process server's decision log would only measure the terminal.
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet_log(std::fopen("/dev/null", "w"), &std::fclose);
  std::unique_ptr<tollgate::service::ScanServer> server;
  if (options.target.empty()) {
    tollgate::service::ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_options.max_concurrent = 64;  // measure latency, not rejections
    server_options.clamd.listen = {"tcp:127.0.0.1:0"};
    server_options.log = quiet_log.get();
    auto started = tollgate::service::ScanServer::Start(server_options);
    auto server_scanner = tollgate::Scanner::Create(scanner_options);
    if (!started.ok() || !server_scanner.ok()) {
      fmt::print(stderr, "tollgate-load: cannot start the in-process server: {}\n",
                 (started.ok() ? server_scanner.status() : started.status()).ToString());
      return 2;
    }
    server = std::move(*started);
    server->SetScanner(tollgate::InProcessRunner(std::move(*server_scanner)), {});
    options.target = fmt::format("127.0.0.1:{}", server->port());
    options.clamd = server->clamd_addresses().front();
  }
  tollgate::service::ClientOptions client_options;
  client_options.target = options.target;
  client_options.tls_ca_file = options.tls_ca;
  client_options.token_file = options.token_file;
  auto client = tollgate::service::ScanClient::Connect(client_options);
  if (!client.ok()) {
    fmt::print(stderr, "tollgate-load: {}\n", client.status().ToString());
    return 2;
  }

  // What each document gets in process; a remote answer that differs counts as an error.
  std::vector<tollgate::ScanReport> expected;
  for (const Document& d : documents) {
    expected.push_back((*scanner)->Scan(d.name, {reinterpret_cast<const uint8_t*>(d.bytes.data()), d.bytes.size()}));
  }
  const auto index_of = [&](const Document& d) { return static_cast<size_t>(&d - documents.data()); };
  struct Mode {
    std::string name;
    std::function<bool(const Document&)> one;
  };
  std::vector<Mode> modes;
  modes.push_back({"in-process", [&](const Document& d) {
                     (*scanner)->Scan(d.name, {reinterpret_cast<const uint8_t*>(d.bytes.data()), d.bytes.size()});
                     return true;
                   }});
  modes.push_back({"grpc", [&](const Document& d) {
                     auto response = options.rpc == "stream" ? (*client)->ScanStream(d.name, d.bytes)
                                                             : (*client)->Scan(d.name, d.bytes);
                     return response.ok() && tollgate::service::FromProto(*response).verdict == expected[index_of(d)].verdict;
                   }});
  const ClamdClient clamd(options.clamd);
  if (!options.clamd.empty()) {
    // A clamd client reads OK for an allowed upload and FOUND for any other.
    modes.push_back({"clamd", [&](const Document& d) {
                       const std::string reply = clamd.Instream(d.bytes);
                       const bool allowed = expected[index_of(d)].action == tollgate::Action::kAllow;
                       return allowed ? reply == "stream: OK\0"sv
                                      : reply.starts_with("stream: ") && reply.ends_with(" FOUND\0"sv);
                     }});
  }
  for (const Mode& mode : modes) RunBatch(1, options.warmup, 0, documents, mode.one);

  fmt::print("target {} ({} rpc){}, {} documents of {:.0f} KiB, rules {}\n", options.target, options.rpc,
             options.clamd.empty() ? "" : ", clamd " + options.clamd, documents.size(),
             static_cast<double>(documents[0].bytes.size()) / 1024, (*scanner)->setup().rules_version());
  fmt::print("{:>11} {:>10} {:>8} {:>7} {:>9} {:>8} {:>9} {:>9}\n", "concurrency", "mode", "requests", "errors",
             "req/s", "MB/s", "p50 ms", "p99 ms");
  int status = 0;
  for (int concurrency : options.concurrency) {
    const std::vector<LevelResult> results = RunLevel(options, concurrency, documents, modes);
    for (size_t m = 0; m < modes.size(); ++m) PrintRow(concurrency, modes[m].name, results[m]);
    const LevelResult& local = results[0];
    const LevelResult& grpc = results[1];
    fmt::print("{:>11} {:>10} p99 ratio grpc/in-process {:.2f}\n", "", "",
               Percentile(grpc.latencies_ms, 0.99) / std::max(Percentile(local.latencies_ms, 0.99), 1e-9));
    if (modes.size() > 2) {
      const LevelResult& over_clamd = results[2];
      fmt::print("{:>11} {:>10} clamd/grpc: req/s ratio {:.2f}, p99 ratio {:.2f}\n", "", "",
                 Rate(over_clamd) / std::max(Rate(grpc), 1e-9),
                 Percentile(over_clamd.latencies_ms, 0.99) / std::max(Percentile(grpc.latencies_ms, 0.99), 1e-9));
    }
    for (const LevelResult& result : results) {
      if (result.errors > 0) status = 1;
    }
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tollgate-load: gRPC and clamd-protocol load generator with the in-process scan time of the same documents"};
  Options options;
  app.add_option("--target", options.target, "HOST:PORT of a running `tollgate serve` (default: an in-process server)");
  app.add_option("--clamd", options.clamd,
                 "clamd address of the same server, tcp:HOST:PORT or unix:/path (default with --target: none; "
                 "without: the in-process server's)");
  app.add_option("--tls-ca", options.tls_ca, "CA certificate: connect with TLS")->check(CLI::ExistingFile);
  app.add_option("--token-file", options.token_file, "Bearer token file")->check(CLI::ExistingFile);
  app.add_option("--rules", options.rules_dir, "Rule bundle for the in-process scans (use the server's)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--concurrency", options.concurrency, "Concurrency levels")->delimiter(',')->capture_default_str();
  app.add_option("--requests", options.requests, "Requests per level and mode (fewer if --duration ends first)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--duration", options.duration_seconds, "Most seconds per level and mode")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", options.warmup, "Requests before measuring")->capture_default_str();
  app.add_option("--size-kb", options.size_kb, "Size of each generated document, KiB")->capture_default_str();
  app.add_option("--documents", options.documents, "Number of distinct generated documents")->capture_default_str();
  app.add_option("--files", options.files_dir, "Use the files in this folder instead of generated documents")
      ->check(CLI::ExistingDirectory);
  app.add_option("--rpc", options.rpc, "unary (Scan) or stream (ScanStream, 1 MiB chunks)")
      ->check(CLI::IsMember({"unary", "stream"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return Run(options);
}
