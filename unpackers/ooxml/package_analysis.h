// What an OOXML package's parts say about how Office will treat it: relationships that make Office
// fetch something when the document opens, fields that run programs, macros, ActiveX controls and
// embedded OLE objects. The parts are fed in one by one as the zip unpacker extracts them; every
// finding names the part that shows it.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/object_path.h"
#include "tollgate/verdict.h"

namespace tollgate::ooxml {

class PackageAnalysis {
 public:
  explicit PackageAnalysis(ObjectPath package) : package_(std::move(package)) {}

  // A part the package holds, whether or not its bytes are read.
  void NotePart(std::string_view name);
  // The bytes of a part (as many as the scan limits allowed). XML is parsed by libxml2 without
  // entity substitution, DTD loading or network access, within libxml2's default size limits.
  void InspectPart(std::string_view name, std::span<const uint8_t> bytes);
  // Every finding so far, plus those for the macro, ActiveX and OLE object parts noted.
  std::vector<Finding> TakeFindings();

 private:
  void InspectRelationships(std::string_view name, std::span<const uint8_t> bytes);
  void InspectFields(std::string_view name, std::span<const uint8_t> bytes);
  void Report(std::string_view part, std::string rule, Severity severity, std::string detail);

  ObjectPath package_;
  std::map<std::string, std::string> parts_;  // lowercase part name -> the name in the package
  std::map<std::string, unsigned> roles_;     // lowercase part name -> PartRole bits
  std::vector<Finding> findings_;
};

// Where the target of an external relationship (TargetMode="External") points.
enum class TargetKind {
  kWeb,          // http: or https:
  kMail,         // mailto:
  kLocalFile,    // file:///C:/..., C:\..., file://localhost/...
  kRemoteFile,   // \\host\share, //host/share, file://host/share
  kOtherScheme,  // any other "scheme:" (ms-msdt:, mhtml:, javascript:, ...)
  kRelative,     // no scheme: relative to the document's own location
};
TargetKind ClassifyExternalTarget(std::string_view target);

// The part an internal relationship target names, from the relationships part that holds it
// ("word/_rels/document.xml.rels" + "media/a.png" -> "word/media/a.png"); empty if it leaves the package.
std::string ResolveInternalTarget(std::string_view relationships_part, std::string_view target);

}  // namespace tollgate::ooxml
