// What a PDF's structure shows that a viewer would act on: scripts, launch actions, forms, embedded
// content, obfuscated names. Each heuristic becomes at most one finding per document, however often
// it occurs, naming where it was seen first.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "tollgate/object_path.h"
#include "tollgate/unpacker.h"

namespace tollgate::pdf {

enum class Heuristic {
  kJavaScript,
  kOpenActionJavaScript,
  kAdditionalActionJavaScript,
  kAutomaticAction,
  kLaunch,
  kSubmitForm,
  kImportData,
  kRichMedia,
  kXfa,
  kEmbeddedFile,
  kNameObfuscation,
  kCount,
};

class HeuristicTally {
 public:
  // `where` names the place ("object 6 0", "offset 812 (/J#53)"); repeats of the same place count once.
  void Note(Heuristic heuristic, std::string where);
  // One finding per heuristic seen, on the PDF's own layer.
  void Report(const ObjectPath& pdf, ChildSink& sink) const;

 private:
  struct Occurrences {
    size_t count = 0;
    std::string first;
    std::string last;
  };
  std::array<Occurrences, static_cast<size_t>(Heuristic::kCount)> seen_;
};

}  // namespace tollgate::pdf
