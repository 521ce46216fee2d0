// Owns a C stdio stream (for libraries that read a FILE*, such as libyara): closed when the owner goes.
#pragma once

#include <cstdio>
#include <memory>

namespace tollgate {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using UniqueFile = std::unique_ptr<std::FILE, FileCloser>;

}  // namespace tollgate
