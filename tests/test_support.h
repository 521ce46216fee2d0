// Shared helpers for Tollgate's integration tests: temp folders, files, running commands.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "tollgate/scanner.h"

namespace tollgate::testing {

inline const std::filesystem::path kCorpus = TOLLGATE_CORPUS_DIR;
inline const std::filesystem::path kClamTestFiles = "/usr/share/clamav-testfiles";
inline const std::filesystem::path kSharedRulesets = TOLLGATE_SHARED_RULESETS_DIR;
inline const std::string kEicar =
    std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$") + "EICAR-STANDARD-ANTIVIRUS-" + "TEST-FILE!$H+H*";

// A folder under the system temp dir, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tollgate-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void WriteFile(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // standard output only
};

// Runs `command` through the shell and captures its standard output.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[1 << 14];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs `program` with Debian's Python (which has the python3-* packages) and one argument, e.g. to
// build an archive for a test.
inline CommandResult RunPython(const std::string& program, const std::string& argument) {
  return RunCommand("/usr/bin/python3 -c \"" + program + "\" " + argument);
}

// An Ed25519 key pair made with the openssl command, the private key 0400 as `--audit-key` wants it.
inline bool MakeAuditKeyPair(const std::filesystem::path& private_key, const std::filesystem::path& public_key) {
  return RunCommand("openssl genpkey -algorithm ed25519 -out " + private_key.string() + " && chmod 0400 " +
                    private_key.string() + " && openssl pkey -in " + private_key.string() + " -pubout -out " +
                    public_key.string())
             .exit_code == 0;
}

// Parses JSON Lines output (tollgate scan --json) into one object per line.
inline std::vector<nlohmann::json> JsonLines(const std::string& output) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

// A rule bundle folder with the given files: {"yara/x.yar", "rule ..."}; all engine folders exist.
inline void MakeBundle(const std::filesystem::path& dir, const std::vector<std::pair<std::string, std::string>>& files) {
  for (const char* engine : {"clamav", "yara", "hyperscan"}) std::filesystem::create_directories(dir / engine);
  for (const auto& [name, content] : files) WriteFile(dir / name, content);
}

// Copies one engine's folder of the shipped bundle into `dir`, leaving the other engines empty.
inline void MakeSingleEngineBundle(const std::filesystem::path& dir, const std::string& engine) {
  MakeBundle(dir, {});
  std::filesystem::copy(std::filesystem::path(TOLLGATE_DEFAULT_RULES_DIR) / engine, dir / engine,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
}

inline std::unique_ptr<Scanner> MakeScanner(const ScannerOptions& options) {
  auto scanner = Scanner::Create(options);
  if (!scanner.ok()) {
    std::fprintf(stderr, "Scanner::Create failed: %s\n", scanner.status().ToString().c_str());
    return nullptr;
  }
  return std::move(*scanner);
}

}  // namespace tollgate::testing
