#include "yara_compile.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>

#include "yara_externals.h"

namespace tollgate::yara {
namespace {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

struct Diagnostics {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  bool out_of_memory = false;  // a message could not be stored
};

// Called by libyara (C): must not throw.
void OnCompilerMessage(int error_level, const char* file_name, int line_number, const YR_RULE* /*rule*/,
                       const char* message, void* user_data) noexcept {
  auto& diagnostics = *static_cast<Diagnostics*>(user_data);
  try {
    std::string text = std::string(file_name ? file_name : "<string>") + ":" + std::to_string(line_number) +
                       ": " + (message ? message : "");
    (error_level == YARA_ERROR_LEVEL_ERROR ? diagnostics.errors : diagnostics.warnings)
        .push_back(std::move(text));
  } catch (const std::bad_alloc&) {
    diagnostics.out_of_memory = true;
  }
}

StatusOr<CompilerPtr> NewCompiler(Diagnostics& diagnostics) {
  YR_COMPILER* raw = nullptr;
  if (int code = yr_compiler_create(&raw); code != ERROR_SUCCESS) return ToStatus(code, "yr_compiler_create");
  CompilerPtr compiler(raw);
  yr_compiler_set_callback(compiler.get(), OnCompilerMessage, &diagnostics);
  for (const ExternalVariable& external : ExternalVariablesFor(ScanObject{})) {
    int code = yr_compiler_define_string_variable(compiler.get(), external.name, external.value.c_str());
    TOLLGATE_RETURN_IF_ERROR(ToStatus(code, "yr_compiler_define_string_variable"));
  }
  return compiler;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string joined;
  for (const std::string& line : lines) {
    if (!joined.empty()) joined += '\n';
    joined += line;
  }
  return joined;
}

}  // namespace

StatusOr<CompiledRules> CompileRuleFiles(const std::vector<std::string>& files) {
  Diagnostics diagnostics;
  StatusOr<CompilerPtr> compiler = NewCompiler(diagnostics);
  if (!compiler.ok()) return compiler.status();
  int error_count = 0;
  for (const std::string& path : files) {
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored))
      return NotFound("YARA rule file " + path + " is a directory");
    FilePtr file(std::fopen(path.c_str(), "rb"));
    if (!file) return NotFound("cannot read YARA rule file " + path + ": " + std::strerror(errno));
    const int file_errors = yr_compiler_add_file(compiler->get(), file.get(), path.c_str(), path.c_str());
    if (file_errors > 0) {
      error_count += file_errors;
      // libyara refuses more files on a compiler that reported errors; a fresh compiler keeps
      // collecting the errors of the remaining files.
      compiler = NewCompiler(diagnostics);
      if (!compiler.ok()) return compiler.status();
    }
  }
  if (diagnostics.out_of_memory) return ResourceExhausted("yara: out of memory while compiling rules");
  if (error_count > 0) return InvalidArgument(JoinLines(diagnostics.errors));

  YR_RULES* rules = nullptr;
  TOLLGATE_RETURN_IF_ERROR(ToStatus(yr_compiler_get_rules(compiler->get(), &rules), "yr_compiler_get_rules"));
  return CompiledRules{RulesPtr(rules), std::move(diagnostics.warnings)};
}

}  // namespace tollgate::yara
