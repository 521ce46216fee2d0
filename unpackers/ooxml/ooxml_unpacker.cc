// OOXML packages: Word, Excel, PowerPoint (and Visio) documents, templates and add-ins, with or
// without macros. The zip unpacker extracts every part as a child; on the way, each part goes
// through the package analysis, which reports remote templates, external OLE objects and frames,
// DDE fields, macros, ActiveX controls and embedded OLE objects.
#include "ooxml_unpacker.h"

#include <algorithm>
#include <cctype>
#include <new>

#include "package_analysis.h"

namespace tollgate {

std::unique_ptr<Unpacker> MakeUnpacker_zip();  // unpackers/zip: reads the parts, within the limits

namespace {

// libmagic 5.44 gives every Word, Excel and PowerPoint package the MIME type of its plain variant
// (.docm is "...wordprocessingml.document"); other versions name the macro-enabled variants
// ("application/vnd.ms-word.document.macroEnabled.12").
bool IsOoxmlMime(std::string_view mime) {
  return mime.starts_with("application/vnd.openxmlformats-officedocument.") ||
         (mime.starts_with("application/vnd.ms-") && mime.find("macroEnabled") != std::string_view::npos) ||
         mime.starts_with("application/vnd.ms-visio.");
}

bool EndsWithNoCase(std::string_view name, std::string_view lower_suffix) {
  return name.size() >= lower_suffix.size() &&
         std::equal(lower_suffix.begin(), lower_suffix.end(), name.end() - static_cast<std::ptrdiff_t>(lower_suffix.size()),
                    [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
}

// Worksheets hold formulas and Excel 4.0 macro sheets hold macros: words there run.
bool HoldsFormulas(std::string_view name) {
  return name.starts_with("xl/worksheets/") || name.starts_with("xl/macrosheets/") ||
         name.starts_with("xl/dialogsheets/");
}

// What a part is to the scan (LayerKind). The relationship parts and the content types say what the
// package loads from where (remote templates, OLE objects and frames: what YARA rules for Office
// documents look for) and are package parts; the other XML parts (text, styles, drawings) are
// content streams, and prose but for the sheets; media, embedded objects, macros and every other
// part are files of their own.
ChildTraits TraitsOfPart(std::string_view name, const ChildTraits& traits) {
  if (EndsWithNoCase(name, ".rels") || name == "[Content_Types].xml") {
    return {LayerKind::kPackagePart, {"application/xml", ""}};
  }
  if (EndsWithNoCase(name, ".xml") || EndsWithNoCase(name, ".vml")) {
    return {LayerKind::kContentStream, {"application/xml", ""}, HoldsFormulas(name) ? Words::kCode : Words::kProse};
  }
  return traits;
}

// Shows the package analysis every part the zip unpacker admits and extracts, then passes it on,
// telling its XML parts from its files.
class InspectingSink final : public ChildSink {
 public:
  InspectingSink(ChildSink& sink, ooxml::PackageAnalysis& analysis) : sink_(sink), analysis_(analysis) {}

  StatusOr<uint64_t> Admit(std::string_view name, uint64_t declared_size, uint64_t stored_size) override {
    analysis_.NotePart(name);
    return sink_.Admit(name, declared_size, stored_size);
  }
  Status Add(std::string_view name, std::vector<uint8_t> bytes, const ChildTraits& traits) override {
    analysis_.InspectPart(name, bytes);
    return sink_.Add(name, std::move(bytes), TraitsOfPart(name, traits));
  }
  using ChildSink::Add;
  void Report(Finding finding) override { sink_.Report(std::move(finding)); }
  const std::vector<std::string>& Passwords() const override { return sink_.Passwords(); }
  bool ShouldStop() const override { return sink_.ShouldStop(); }

 private:
  ChildSink& sink_;
  ooxml::PackageAnalysis& analysis_;
};

class OoxmlUnpacker final : public Unpacker {
 public:
  OoxmlUnpacker() : zip_(MakeUnpacker_zip()) {}

  std::string_view Name() const override { return "ooxml"; }
  bool Accepts(const ScanObject& object) const override { return IsOoxmlMime(object.type.mime); }

  Status Unpack(const ScanObject& parent, ChildSink& sink) const override {
    try {
      ooxml::PackageAnalysis analysis(parent.path);
      InspectingSink inspecting(sink, analysis);
      Status status = zip_->Unpack(parent, inspecting);
      for (Finding& finding : analysis.TakeFindings()) sink.Report(std::move(finding));
      return status;
    } catch (const std::bad_alloc&) {
      return ResourceExhausted("out of memory analysing an OOXML package");
    }
  }

 private:
  std::unique_ptr<Unpacker> zip_;
};

}  // namespace

std::unique_ptr<Unpacker> MakeUnpacker_ooxml() { return std::make_unique<OoxmlUnpacker>(); }

}  // namespace tollgate
