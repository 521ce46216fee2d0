// tollgate-bench-micro: Google Benchmark micro benchmarks of Tollgate's real modules.
//
//   tollgate-bench-micro [--rulesets=DIR] [--pdf=FILE] [--benchmark_filter=...] [other benchmark flags]
//
// Every benchmark reports bytes/s and `of_mem_bw`, its throughput as a fraction of this machine's
// single-core memory read bandwidth, which main() measures before the benchmarks run (and
// BM_MemoryRead shows again as a benchmark). Single-threaded stages are timed in CPU time, so that
// other work on a shared machine does not count against them; the pipeline, which scans layers on
// several threads, in wall time. --rulesets is the folder of public rule sets (default ../shared/rulesets beside
// the checkout); BM_Yara/rules:2 reports an error without it. --pdf is the document BM_PdfUnpack
// reads (default: the Debian libtasn1 manual from the generated corpus).
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <span>

#include "bench_inputs.h"
#include "child_sink.h"
#include "file_typing.h"
#include "hyperscan/hyperscan_detector.h"
#include "registry.h"
#include "tollgate/scanner.h"
#include "tollgate/sha256.h"
#include "yara_detector.h"

namespace tollgate::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double g_memory_read_bytes_per_second = 1;
fs::path g_rulesets = TOLLGATE_SHARED_RULESETS_DIR;
fs::path g_pdf = fs::path(TOLLGATE_CORPUS_DIR) / "benign" / "libtasn1-manual.pdf";

// Sums 64-bit words with four independent accumulators so the loop is bound by loads, not by
// the dependency chain of one sum.
uint64_t SumWords(const std::vector<uint64_t>& words) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 4 <= words.size(); i += 4) {
    a += words[i];
    b += words[i + 1];
    c += words[i + 2];
    d += words[i + 3];
  }
  return a + b + c + d;
}

// 256 MiB: far beyond any last-level cache, so every pass reads from memory.
const std::vector<uint64_t>& BandwidthBuffer() {
  static const std::vector<uint64_t> words((256u << 20) / sizeof(uint64_t), 1);
  return words;
}

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Best of five passes in CPU time, as the single-threaded benchmarks are timed.
double MeasureReadBandwidth() {
  const auto& words = BandwidthBuffer();
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const double started = ThreadCpuSeconds();
    benchmark::DoNotOptimize(SumWords(words));
    const double seconds = ThreadCpuSeconds() - started;
    best = std::max(best, static_cast<double>(words.size() * sizeof(uint64_t)) / seconds);
  }
  return best;
}

// Bytes/s and the same throughput as a fraction of the memory read bandwidth (a rate counter is
// divided by the elapsed time, which turns bytes/bandwidth into throughput/bandwidth).
void ReportBytes(benchmark::State& state, uint64_t bytes_per_iteration) {
  const double total = static_cast<double>(bytes_per_iteration) * static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(total));
  state.counters["of_mem_bw"] = benchmark::Counter(total / g_memory_read_bytes_per_second, benchmark::Counter::kIsRate);
}

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

class CountingSink final : public FindingSink {
 public:
  void Add(Finding) override { ++count_; }
  size_t count() const { return count_; }

 private:
  std::atomic<size_t> count_{0};
};

ScanContext NoDeadline() { return ScanContext(Clock::time_point::max(), nullptr); }

// Compiled once per process and kept: compiling is measured apart (compile_s), scanning repeatedly.
template <typename Value>
class Cache {
 public:
  template <typename Make>
  Value& Get(int64_t key, Make make) {
    std::lock_guard lock(mutex_);
    auto it = values_.find(key);
    if (it == values_.end()) it = values_.emplace(key, make()).first;
    return it->second;
  }

 private:
  std::mutex mutex_;
  std::map<int64_t, Value> values_;
};

struct CompiledDetector {
  std::unique_ptr<Detector> detector;
  std::string error;
  double compile_seconds = 0;
};

template <typename Compile>
CompiledDetector TimedCompile(Compile compile) {
  const auto started = Clock::now();
  StatusOr<std::unique_ptr<Detector>> made = compile();
  CompiledDetector result;
  result.compile_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (made.ok()) {
    result.detector = std::move(*made);
  } else {
    result.error = made.status().ToString();
  }
  return result;
}

// Scans `text` with `compiled` until the benchmark has enough iterations; the common loop of the
// detector benchmarks.
void ScanLoop(benchmark::State& state, const CompiledDetector& compiled, std::string_view layer_name,
              std::string_view text) {
  if (!compiled.detector) {
    state.SkipWithError(compiled.error.c_str());
    return;
  }
  const ScanObject object{ObjectPath(std::string(layer_name)), {"text/xml", "XML document text"}, AsBytes(text), 0, ""};
  const ScanContext ctx = NoDeadline();
  CountingSink sink;
  for (auto _ : state) {
    const Status status = compiled.detector->Scan(object, ctx, sink);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  ReportBytes(state, text.size());
  state.counters["rules"] = static_cast<double>(compiled.detector->RuleCount());
  state.counters["compile_s"] = compiled.compile_seconds;
  state.counters["findings"] = static_cast<double>(sink.count()) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

const std::string& HyperscanText() {
  static const std::string text = DocumentText(16u << 20, 1);
  return text;
}

void HyperscanBenchmark(benchmark::State& state, bool regex) {
  static Cache<CompiledDetector> literal_sets, regex_sets;
  const size_t count = static_cast<size_t>(state.range(0));
  const CompiledDetector& compiled = (regex ? regex_sets : literal_sets).Get(state.range(0), [&] {
    return TimedCompile([&] {
      return hyperscan::CompileHyperscanDetector(regex ? RegexPatterns(count) : LiteralPatterns(count));
    });
  });
  ScanLoop(state, compiled, "document.xml", HyperscanText());
}

void BM_HyperscanLiteral(benchmark::State& state) { HyperscanBenchmark(state, false); }
void BM_HyperscanRegex(benchmark::State& state) { HyperscanBenchmark(state, true); }

std::vector<std::string> FilesUnder(const fs::path& dir, std::initializer_list<std::string_view> extensions) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string ext = it->path().extension().string();
    if (it->is_regular_file() && std::find(extensions.begin(), extensions.end(), ext) != extensions.end()) {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// rules: 0 the shipped bundle's YARA rules, 1 5,000 generated rules, 2 the public rule sets.
CompiledDetector CompileYara(int64_t which) {
  std::vector<std::string> files;
  fs::path generated;
  if (which == 0) files = FilesUnder(fs::path(TOLLGATE_DEFAULT_RULES_DIR) / "yara", {".yar"});
  if (which == 1) {
    generated = fs::temp_directory_path() / fmt::format("tollgate-bench-{}.yar", getpid());
    std::ofstream(generated) << GeneratedYaraRules(5000);
    files.push_back(generated.string());
  }
  if (which == 2) {
    files = FilesUnder(g_rulesets, {".yar", ".yara"});
    if (files.empty()) return {nullptr, "no YARA rules under " + g_rulesets.string() + " (--rulesets)", 0};
  }
  CompiledDetector compiled = TimedCompile([&]() -> StatusOr<std::unique_ptr<Detector>> {
    DetectorConfig config;
    config.files = files;
    auto detector = yara::YaraDetector::Create(config);
    if (!detector.ok()) return detector.status();
    return std::unique_ptr<Detector>(std::move(*detector));
  });
  if (!generated.empty()) fs::remove(generated);
  return compiled;
}

void BM_Yara(benchmark::State& state) {
  static Cache<CompiledDetector> sets;
  static Cache<std::string> layers;
  const CompiledDetector& compiled = sets.Get(state.range(0), [&] { return CompileYara(state.range(0)); });
  const std::string& layer = layers.Get(state.range(1), [&] { return DocumentText(state.range(1) << 10, 2); });
  ScanLoop(state, compiled, "document.xml", layer);
}

const Unpacker& UnpackerNamed(std::string_view name) {
  static const std::vector<std::unique_ptr<Unpacker>> unpackers = MakeUnpackers();
  for (const auto& unpacker : unpackers) {
    if (unpacker->Name() == name) return *unpacker;
  }
  std::abort();
}

// Unpacks `bytes` through the pipeline's own limit-enforcing ChildSink; children are counted, not
// scanned. Returns the bytes of children produced per iteration.
uint64_t UnpackLoop(benchmark::State& state, std::string_view unpacker_name, const FileType& type,
                    std::span<const uint8_t> bytes) {
  const Unpacker& unpacker = UnpackerNamed(unpacker_name);
  const ScanObject parent{ObjectPath("container"), type, bytes, 0, unpacker.Name()};
  const ScanLimits limits;
  const std::vector<std::string> no_passwords;
  CountingSink findings;
  uint64_t produced = 0;
  for (auto _ : state) {
    ScanBudget budget;
    LimitedChildSink sink(parent, limits, budget, Clock::time_point::max(), findings,
                          [&](ObjectPath, std::vector<uint8_t> child, const ChildTraits&) { produced += child.size(); }, no_passwords);
    const Status status = unpacker.Unpack(parent, sink);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  return state.iterations() > 0 ? produced / static_cast<uint64_t>(state.iterations()) : 0;
}

// MB/s of decompressed output: eight 1 MiB deflated text members.
void BM_ZipUnpack(benchmark::State& state) {
  static const std::vector<uint8_t> zip = [] {
    std::vector<ZipMember> members;
    for (uint32_t i = 0; i < 8; ++i) members.push_back({fmt::format("part{}.xml", i), DocumentText(1u << 20, 10 + i)});
    return MakeZip(members);
  }();
  const uint64_t produced = UnpackLoop(state, "zip", {"application/zip", "Zip archive data"}, zip);
  ReportBytes(state, produced);
  state.counters["container_bytes"] = static_cast<double>(zip.size());
}

// MB/s of PDF read (every stream decoded into a child except images).
void BM_PdfUnpack(benchmark::State& state) {
  std::vector<uint8_t> pdf;
  try {
    pdf = ReadFileBytes(g_pdf);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const uint64_t produced = UnpackLoop(state, "pdf", {"application/pdf", "PDF document"}, pdf);
  ReportBytes(state, pdf.size());
  state.counters["children_bytes"] = static_cast<double>(produced);
  state.SetLabel(g_pdf.filename().string());
}

void BM_Sha256(benchmark::State& state) {
  const std::string text = DocumentText(state.range(0) << 10, 3);
  for (auto _ : state) benchmark::DoNotOptimize(Sha256Hex(AsBytes(text)));
  ReportBytes(state, text.size());
}

// sample: 0 a PDF, 1 a 1 MiB DOCX, 2 1 MiB of XML text (libmagic reads all of it to name the encoding).
void BM_Typing(benchmark::State& state) {
  static const auto typer = FileTyper::Create();
  std::vector<uint8_t> sample;
  try {
    if (state.range(0) == 0) sample = ReadFileBytes(g_pdf);
    if (state.range(0) == 1) sample = MakeDocx(1u << 20, 4);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const std::string text = state.range(0) == 2 ? DocumentText(1u << 20, 5) : "";
  const std::span<const uint8_t> bytes = sample.empty() ? AsBytes(text) : std::span<const uint8_t>(sample);
  if (!typer.ok()) {
    state.SkipWithError(typer.status().ToString().c_str());
    return;
  }
  std::string mime;
  for (auto _ : state) mime = (*typer)->Identify(bytes).mime;
  ReportBytes(state, bytes.size());
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(mime);
}

// The whole Scanner (typing, unpacking, every engine, policy) with the shipped rule bundle on a
// DOCX of 10 KiB, 1 MiB or 50 MiB.
void BM_Pipeline(benchmark::State& state) {
  static const auto scanner = Scanner::Create(ScannerOptions{});
  static Cache<std::vector<uint8_t>> documents;
  if (!scanner.ok()) {
    state.SkipWithError(scanner.status().ToString().c_str());
    return;
  }
  const std::vector<uint8_t>& document =
      documents.Get(state.range(0), [&] { return MakeDocx(static_cast<size_t>(state.range(0)) << 10, 6); });
  ScanReport report;
  for (auto _ : state) report = (*scanner)->Scan("document.docx", document);
  ReportBytes(state, document.size());
  state.SetItemsProcessed(state.iterations());
  state.counters["layers"] = report.layers;
  state.SetLabel(std::string(ToString(report.verdict)));
}

void BM_MemoryRead(benchmark::State& state) {
  const auto& words = BandwidthBuffer();
  for (auto _ : state) benchmark::DoNotOptimize(SumWords(words));
  ReportBytes(state, words.size() * sizeof(uint64_t));
}

BENCHMARK(BM_MemoryRead)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HyperscanLiteral)->ArgName("patterns")->Arg(1000)->Arg(10000)->Arg(50000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HyperscanRegex)->ArgName("patterns")->Arg(1000)->Arg(10000)->Arg(50000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Yara)->ArgNames({"rules", "layer_kib"})->ArgsProduct({{0, 1, 2}, {10, 1024}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ZipUnpack)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PdfUnpack)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sha256)->ArgName("kib")->Arg(1024)->Arg(16384)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Typing)->ArgName("sample")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Pipeline)->ArgName("kib")->Arg(10)->Arg(1024)->Arg(51200)->UseRealTime()->Unit(benchmark::kMillisecond);

// Takes --rulesets=DIR and --pdf=FILE out of argv before Google Benchmark reads its own flags.
void TakeOwnFlags(int& argc, char** argv) {
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--rulesets=")) {
      g_rulesets = arg.substr(std::strlen("--rulesets="));
    } else if (arg.starts_with("--pdf=")) {
      g_pdf = arg.substr(std::strlen("--pdf="));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
}

}  // namespace
}  // namespace tollgate::bench

int main(int argc, char** argv) {
  using namespace tollgate::bench;
  TakeOwnFlags(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  g_memory_read_bytes_per_second = MeasureReadBandwidth();
  benchmark::AddCustomContext("memory_read_GBps", fmt::format("{:.2f}", g_memory_read_bytes_per_second / 1e9));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
