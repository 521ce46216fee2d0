// Walks every object of an opened PDF: the heuristics, and the child layers engines should see.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "heuristics.h"
#include "tollgate/unpacker.h"

class XRef;

namespace tollgate::pdf {

struct WalkOutcome {
  size_t objects = 0;    // indirect objects read
  bool stopped = false;  // the sink said stop (deadline or an upload-wide limit)
  bool too_many_objects = false;
};

// Most indirect objects read from one document: far beyond real documents, it bounds the work a
// forged cross-reference table can cause.
inline constexpr size_t kMaxPdfObjects = 1'000'000;

// Reads every object of the cross-reference table (objects inside object streams included), in
// object-number order, notes what it shows in `tally`, then hands decoded content to `sink`:
//   javascript/<n>.js      each distinct script (n = 1, 2, ... in object order), UTF-16 made UTF-8
//   attachments/<name>     each embedded file, by its /UF or /F name
//   xfa/<n>.xml            each XFA form, its packets joined
//   objects/<num>.<gen>    every other stream, decoded, except images and cross-reference streams
// Image streams are never decoded: their codecs have a CVE history and their output holds no text.
// `document` holds the bytes the document was opened from.
WalkOutcome WalkDocument(XRef& xref, std::span<const uint8_t> document, ChildSink& sink, HeuristicTally& tally);

}  // namespace tollgate::pdf
