// Which libclamav parsers run on a layer: all of them, except those a Tollgate unpacker replaces, so
// that every byte is decompressed once.
#include <array>
#include <cstdint>

#include "clamav_mapping.h"

namespace tollgate::clamav {
namespace {

constexpr uint32_t kAllParsers =
    CL_SCAN_PARSE_ARCHIVE | CL_SCAN_PARSE_ELF | CL_SCAN_PARSE_PDF | CL_SCAN_PARSE_SWF | CL_SCAN_PARSE_HWP3 |
    CL_SCAN_PARSE_XMLDOCS | CL_SCAN_PARSE_MAIL | CL_SCAN_PARSE_OLE2 | CL_SCAN_PARSE_HTML | CL_SCAN_PARSE_PE |
    CL_SCAN_PARSE_ONENOTE | CL_SCAN_PARSE_IMAGE | CL_SCAN_PARSE_IMAGE_FUZZY_HASH;

constexpr uint32_t kTextParsers = CL_SCAN_PARSE_HTML | CL_SCAN_PARSE_MAIL | CL_SCAN_PARSE_XMLDOCS;

struct ReplacedParser {
  std::string_view unpacker;  // Unpacker::Name() of Tollgate's unpacker
  uint32_t parse_bits;        // the libclamav parser family it replaces
};

// CL_SCAN_PARSE_ARCHIVE switches off every archive format for the layer, not only ZIP; that costs
// nothing here because the layer is a ZIP and its members come back through the pipeline, each
// scanned with all parsers. libclamav reads OOXML only through its ZIP parser: with
// CL_SCAN_PARSE_ARCHIVE cleared, a .docx yields no layers at all (checked with libclamav 1.4).
constexpr std::array kReplacedParsers = {
    ReplacedParser{"zip", CL_SCAN_PARSE_ARCHIVE},
    ReplacedParser{"ooxml", CL_SCAN_PARSE_ARCHIVE},
    ReplacedParser{"pdf", CL_SCAN_PARSE_PDF},
    ReplacedParser{"ole2", CL_SCAN_PARSE_OLE2},
};

}  // namespace

cl_scan_options ScanOptionsFor(std::string_view unpacked_by) {
  cl_scan_options options = ContentScanOptions();
  options.parse = kAllParsers;
  for (const ReplacedParser& replaced : kReplacedParsers) {
    if (replaced.unpacker == unpacked_by) options.parse &= ~replaced.parse_bits;
  }
  return options;
}

cl_scan_options ContentScanOptions() {
  cl_scan_options options{};
  options.general = CL_SCAN_GENERAL_ALLMATCHES | CL_SCAN_GENERAL_HEURISTICS;
  options.parse = kAllParsers & ~kTextParsers;
  options.heuristic =
      CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE | CL_SCAN_HEURISTIC_ENCRYPTED_DOC | CL_SCAN_HEURISTIC_EXCEEDS_MAX;
  options.mail = 0;
  options.dev = 0;
  return options;
}

}  // namespace tollgate::clamav
