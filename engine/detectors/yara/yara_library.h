// Ownership of libyara's handles and its process-global state, and the one place that turns yara
// error codes into Status.
#pragma once

#include <yara.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "tollgate/status.h"

namespace tollgate::yara {

// One reference on libyara's process-global state (yr_initialize/yr_finalize). libyara counts
// initializations itself but not thread-safely, so every change goes through one mutex. Everything
// created from libyara must be destroyed before the reference that covered its creation.
class LibraryRef {
 public:
  static StatusOr<LibraryRef> Acquire();
  LibraryRef(LibraryRef&& other) noexcept : held_(std::exchange(other.held_, false)) {}
  LibraryRef& operator=(LibraryRef&& other) noexcept;
  LibraryRef(const LibraryRef&) = delete;
  LibraryRef& operator=(const LibraryRef&) = delete;
  ~LibraryRef() { Release(); }

 private:
  LibraryRef() : held_(true) {}
  void Release();

  bool held_;
};

struct CompilerDeleter {
  void operator()(YR_COMPILER* compiler) const { yr_compiler_destroy(compiler); }
};
struct RulesDeleter {
  void operator()(YR_RULES* rules) const { yr_rules_destroy(rules); }
};
struct ScannerDeleter {
  void operator()(YR_SCANNER* scanner) const { yr_scanner_destroy(scanner); }
};
using CompilerPtr = std::unique_ptr<YR_COMPILER, CompilerDeleter>;
using RulesPtr = std::unique_ptr<YR_RULES, RulesDeleter>;
using ScannerPtr = std::unique_ptr<YR_SCANNER, ScannerDeleter>;

// "ERROR_SCAN_TIMEOUT" for ERROR_SCAN_TIMEOUT; "ERROR_<code>" for codes this version doesn't name.
std::string ErrorName(int code);

// OK for ERROR_SUCCESS, DeadlineExceeded for ERROR_SCAN_TIMEOUT, Internal naming the code otherwise.
// `operation` says what failed ("yr_scanner_scan_mem").
Status ToStatus(int code, std::string_view operation);

}  // namespace tollgate::yara
