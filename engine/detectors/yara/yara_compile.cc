#include "yara_compile.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <new>

#include "tollgate/unique_file.h"
#include "yara_externals.h"

namespace tollgate::yara {
namespace {

namespace fs = std::filesystem;

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

// Every `include` passes here, wherever it stands in the source: libyara's lexer finds them, so a
// comment or a rule before it on the line hides nothing. An include is read beside the file that
// includes it and only from below the folder of the rule file being compiled (`root`): a rule file
// never reads the rest of the machine, nor another bundle.
struct IncludeGuard {
  Diagnostics& diagnostics;
  fs::path root;                              // canonical folder of the rule file being compiled
  std::map<std::string, fs::path> included;  // libyara names an included file as its include says
  std::vector<std::string> refused;          // includes that leave `root`, as written
};

// Called by libyara (C): must not throw. Returns the included rules (freed by FreeInclude), or null:
// libyara then reports "can't open include file".
const char* OnInclude(const char* include_name, const char* calling_file, const char* /*calling_namespace*/,
                      void* user_data) noexcept {
  auto& guard = *static_cast<IncludeGuard*>(user_data);
  try {
    const fs::path name(include_name);
    const auto known = calling_file != nullptr ? guard.included.find(calling_file) : guard.included.end();
    const fs::path caller = known != guard.included.end() ? known->second : fs::path(calling_file ? calling_file : "");
    std::error_code ec;
    const fs::path target = fs::weakly_canonical(caller.parent_path() / name, ec);
    const fs::path below = target.lexically_relative(guard.root);
    const bool escapes = name.is_absolute() || std::find(name.begin(), name.end(), "..") != name.end() || ec ||
                         below.empty() || *below.begin() == "..";
    if (escapes) {
      guard.refused.emplace_back(include_name);
      guard.diagnostics.errors.push_back(std::string(calling_file ? calling_file : "<string>") + ": include \"" +
                                         include_name + "\" leaves the folder of the rule file: refused");
      return nullptr;
    }
    std::ifstream in(target, std::ios::binary);
    if (!in) return nullptr;
    const std::string rules{std::istreambuf_iterator<char>(in), {}};
    char* copy = static_cast<char*>(std::malloc(rules.size() + 1));
    if (copy == nullptr) throw std::bad_alloc();
    std::memcpy(copy, rules.c_str(), rules.size() + 1);
    guard.included[include_name] = target;
    return copy;
  } catch (const std::bad_alloc&) {
    guard.diagnostics.out_of_memory = true;
    return nullptr;
  }
}

void FreeInclude(const char* rules, void* /*user_data*/) noexcept { std::free(const_cast<char*>(rules)); }

StatusOr<CompilerPtr> NewCompiler(Diagnostics& diagnostics, IncludeGuard& includes) {
  YR_COMPILER* raw = nullptr;
  if (int code = yr_compiler_create(&raw); code != ERROR_SUCCESS) return ToStatus(code, "yr_compiler_create");
  CompilerPtr compiler(raw);
  yr_compiler_set_callback(compiler.get(), OnCompilerMessage, &diagnostics);
  yr_compiler_set_include_callback(compiler.get(), OnInclude, FreeInclude, &includes);
  for (const ExternalVariable& external : ExternalVariablesFor(ScanObject{})) {
    const auto* text = std::get_if<std::string>(&external.value);
    const int code = text ? yr_compiler_define_string_variable(compiler.get(), external.name, text->c_str())
                          : yr_compiler_define_boolean_variable(compiler.get(), external.name,
                                                                std::get<bool>(external.value));
    TOLLGATE_RETURN_IF_ERROR(ToStatus(code, "yr_compiler_define_*_variable"));
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
  IncludeGuard includes{diagnostics, {}, {}, {}};
  StatusOr<CompilerPtr> compiler = NewCompiler(diagnostics, includes);
  if (!compiler.ok()) return compiler.status();
  int error_count = 0;
  for (const std::string& path : files) {
    std::error_code ignored;
    if (fs::is_directory(path, ignored)) return NotFound("YARA rule file " + path + " is a directory");
    UniqueFile file(std::fopen(path.c_str(), "rb"));
    if (!file) return NotFound("cannot read YARA rule file " + path + ": " + std::strerror(errno));
    includes.root = fs::weakly_canonical(path, ignored).parent_path();
    const int file_errors = yr_compiler_add_file(compiler->get(), file.get(), path.c_str(), path.c_str());
    if (file_errors > 0) {
      error_count += file_errors;
      // libyara refuses more files on a compiler that reported errors; a fresh compiler keeps
      // collecting the errors of the remaining files.
      compiler = NewCompiler(diagnostics, includes);
      if (!compiler.ok()) return compiler.status();
    }
  }
  if (diagnostics.out_of_memory) return ResourceExhausted("yara: out of memory while compiling rules");
  if (error_count > 0) return InvalidArgument(JoinLines(diagnostics.errors));

  YR_RULES* rules = nullptr;
  TOLLGATE_RETURN_IF_ERROR(ToStatus(yr_compiler_get_rules(compiler->get(), &rules), "yr_compiler_get_rules"));
  return CompiledRules{RulesPtr(rules), std::move(diagnostics.warnings)};
}

StatusOr<std::optional<std::string>> FirstEscapingInclude(const std::string& file) {
  auto library = LibraryRef::Acquire();
  if (!library.ok()) return library.status();
  Diagnostics diagnostics;
  IncludeGuard includes{diagnostics, {}, {}, {}};
  {
    StatusOr<CompilerPtr> compiler = NewCompiler(diagnostics, includes);
    if (!compiler.ok()) return compiler.status();
    UniqueFile in(std::fopen(file.c_str(), "rb"));
    if (!in) return NotFound("cannot read YARA rule file " + file + ": " + std::strerror(errno));
    std::error_code ignored;
    includes.root = fs::weakly_canonical(file, ignored).parent_path();
    yr_compiler_add_file(compiler->get(), in.get(), file.c_str(), file.c_str());
  }
  if (diagnostics.out_of_memory) return ResourceExhausted("yara: out of memory while reading includes");
  if (includes.refused.empty()) return std::optional<std::string>();
  return std::optional<std::string>(includes.refused.front());
}

}  // namespace tollgate::yara
