#include "object_walker.h"

#include <fmt/format.h>
#include <poppler/Object.h>
#include <poppler/Stream.h>
#include <poppler/UTF.h>
#include <poppler/XRef.h>
#include <poppler/goo/gmem.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "escaped_names.h"
#include "tollgate/utf8.h"
#include "inflate.h"

namespace tollgate::pdf {
namespace {

// Poppler's parser builds direct objects nested up to 500 deep: all are looked into, no deeper.
constexpr int kMaxNesting = 500;
// Actions followed from one /OpenAction or /AA entry, through /Next chains and references.
constexpr size_t kMaxActionsFollowed = 1024;
constexpr size_t kDecodeChunk = 64 * 1024;
// Decoded bytes held in memory while a stream's size is not known yet.
constexpr uint64_t kBufferedBytes = 8 << 20;
// Longest attachment name kept, in bytes.
constexpr size_t kMaxNameBytes = 120;

std::string Where(Ref ref) { return fmt::format("object {} {}", ref.num, ref.gen); }

const GooString* StringValue(const Object& object) {
  if (object.isString()) return object.getString();
  if (object.isHexString()) return object.getHexString();
  return nullptr;
}

// A PDF text string (UTF-16 with a byte order mark, or PDFDocEncoding) as UTF-8.
std::string TextStringToUtf8(const std::string& text) {
  struct GFree {
    void operator()(Unicode* p) const { gfree(p); }
  };
  Unicode* ucs4 = nullptr;
  const int length = TextStringToUCS4(text, &ucs4);
  const std::unique_ptr<Unicode, GFree> owned(ucs4);
  std::string utf8;
  for (int i = 0; i < length; ++i) AppendUtf8(static_cast<char32_t>(ucs4[i]), utf8);
  return utf8;
}

// Scripts stay byte for byte, except UTF-16 ones: rules are written for their ASCII text.
void Utf16ScriptToUtf8(std::vector<uint8_t>& script) {
  if (script.size() < 2 || script[0] != 0xFE || script[1] != 0xFF) return;
  const std::string utf8 = TextStringToUtf8(std::string(script.begin(), script.end()));
  script.assign(utf8.begin(), utf8.end());
}

// The file name part of an attachment's name (no folders), without control characters, bounded.
std::string AttachmentFileName(const std::string& utf8) {
  const size_t folder_end = utf8.find_last_of("/\\");
  std::string name = folder_end == std::string::npos ? utf8 : utf8.substr(folder_end + 1);
  for (char& c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '_';
  }
  if (name.size() > kMaxNameBytes) {
    size_t cut = kMaxNameBytes;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;  // whole characters only
    name.resize(cut);
  }
  return name;
}

// /AA triggers that fire on their own: page open and close (/O, /C in a page), an annotation's page
// events (/PO, /PC, /PV, /PI) and the document's close, save and print events. A field's /C is its
// calculation, run when other fields change.
bool IsAutomaticTrigger(std::string_view trigger, bool in_page) {
  constexpr std::array<std::string_view, 10> kAutomatic = {"O", "PO", "PC", "PV", "PI", "WC", "WS", "DS", "WP", "DP"};
  return (in_page && trigger == "C") || std::find(kAutomatic.begin(), kAutomatic.end(), trigger) != kAutomatic.end();
}

// Image codecs: Poppler's decoders for them parse complex formats (JBIG2 has a CVE history) and
// their output holds no text for the engines.
bool IsImageCodec(const Object& filter) {
  return filter.isName("DCTDecode") || filter.isName("DCT") || filter.isName("JPXDecode") ||
         filter.isName("JBIG2Decode") || filter.isName("CCITTFaxDecode") || filter.isName("CCF");
}

bool HasImageCodec(Dict& stream_dict) {
  const Object filter = stream_dict.lookup("Filter");
  if (filter.isArray()) {
    for (int i = 0; i < filter.arrayGetLength(); ++i) {
      if (IsImageCodec(filter.arrayGet(i))) return true;
    }
    return false;
  }
  return IsImageCodec(filter);
}

// The action types (/S) a viewer runs that the tally counts.
std::optional<Heuristic> ActionHeuristic(const Object& type) {
  static constexpr std::array<std::pair<std::string_view, Heuristic>, 5> kActions = {{
      {"JavaScript", Heuristic::kJavaScript},
      {"Launch", Heuristic::kLaunch},
      {"SubmitForm", Heuristic::kSubmitForm},
      {"ImportData", Heuristic::kImportData},
      {"RichMediaExecute", Heuristic::kRichMedia},
  }};
  if (!type.isName()) return std::nullopt;
  for (const auto& [name, heuristic] : kActions) {
    if (name == type.getName()) return heuristic;
  }
  return std::nullopt;
}

// Whether ObjectWalker::NoteEntry may act on a dictionary entry; false only where it surely does
// nothing. An /S reference counts: what it points to is known only once fetched.
bool IsNotable(std::string_view key, const Object& value) {
  static constexpr std::array<std::string_view, 9> kKeys = {
      "JS", "JavaScript", "OpenAction", "AA", "RichMedia", "RichMediaContent", "RichMediaSettings", "XFA", "EF"};
  if (key == "S") return value.isRef() || ActionHeuristic(value).has_value();
  if (key == "Subtype") return value.isName("RichMedia");
  if (key == "Type") return value.isName("EmbeddedFile");
  return std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end();
}

// Whether ObjectWalker::Visit may note anything in `object`: the same entries, to the same depth.
bool HasNotableEntry(const Object& object, int depth) {
  if (depth > kMaxNesting) return false;
  if (object.isDict() || object.isStream()) {
    Dict& dict = object.isDict() ? *object.getDict() : *object.streamGetDict();
    for (int i = 0; i < dict.getLength(); ++i) {
      const Object& value = dict.getValNF(i);
      if (IsNotable(dict.getKey(i), value) || HasNotableEntry(value, depth + 1)) return true;
    }
  } else if (object.isArray()) {
    for (int i = 0; i < object.arrayGetLength(); ++i) {
      if (HasNotableEntry(object.arrayGetNF(i), depth + 1)) return true;
    }
  }
  return false;
}

class ObjectWalker {
 public:
  ObjectWalker(XRef& xref, std::span<const uint8_t> document, ChildSink& sink, HeuristicTally& tally)
      : xref_(xref), document_(document), sink_(sink), tally_(tally) {}

  WalkOutcome Run() {
    ReadEveryObject();
    if (!outcome_.stopped) EmitLayers();
    return outcome_;
  }

 private:
  // A script is either a string written in an action or a reference to a string or stream.
  struct Script {
    std::optional<Ref> ref;
    std::string text;
  };
  struct Attachment {
    Ref ref;
    std::string name;
  };

  bool ShouldStop() {
    if (!outcome_.stopped && sink_.ShouldStop()) outcome_.stopped = true;
    return outcome_.stopped;
  }

  Object Resolve(const Object& object) { return object.isRef() ? Fetch(object.getRef()) : object.copy(); }

  // Where an object read ahead by ReadPackedObjects() was read from.
  struct PackedLocation {
    Goffset object_stream = -1;  // its number
    int index = 0;               // the object's place in it
    // The entry still points there: Poppler may have rebuilt the table since.
    bool StillAt(const XRefEntry& entry) const {
      return entry.type == xrefEntryCompressed && entry.offset == object_stream && entry.gen == index;
    }
  };
  struct PackedObject {
    PackedLocation location;
    Object object;
  };

  // An object read ahead by ReadPackedObjects() while its entry still points where it was read from,
  // else Poppler's.
  Object Fetch(Ref ref) {
    const auto found = packed_.find(ref.num);
    if (found != packed_.end() && ref.gen == 0 && found->second.location.StillAt(*xref_.getEntry(ref.num, false))) {
      return found->second.object.copy();
    }
    return xref_.fetch(ref);
  }

  // A packed object read ahead and found to hold nothing Visit() notes, still where it was read.
  bool IsInert(int num, const XRefEntry& entry) const {
    return static_cast<size_t>(num) < inert_.size() && inert_[num].StillAt(entry);
  }

  // Reads the objects kept in object streams one object stream after the other. Poppler holds only a
  // few decoded object streams, and writers spread consecutive numbers over many of them: read by
  // number, the same object stream would be decoded again for nearly every object. Only the objects
  // Visit() may note anything in are kept for the walk by number; most are page, font and link
  // dictionaries, and keeping them all costs more than reading them.
  void ReadPackedObjects() {
    struct Location {
      PackedLocation where;
      int num;
    };
    std::vector<Location> packed;
    size_t objects = 0;
    for (int num = 0; num < xref_.getNumObjects() && objects < kMaxPdfObjects; ++num) {
      const XRefEntry* entry = xref_.getEntry(num, false);
      if (entry->type == xrefEntryUncompressed) ++objects;
      if (entry->type != xrefEntryCompressed) continue;
      ++objects;
      packed.push_back({{entry->offset, entry->gen}, num});
    }
    std::sort(packed.begin(), packed.end(), [](const Location& a, const Location& b) {
      return std::tie(a.where.object_stream, a.where.index) < std::tie(b.where.object_stream, b.where.index);
    });
    inert_.resize(xref_.getNumObjects());
    for (const Location& location : packed) {
      if (ShouldStop()) return;
      Object object = xref_.fetch(Ref{location.num, 0});
      if (HasNotableEntry(object, 0)) {
        packed_.insert_or_assign(location.num, PackedObject{location.where, std::move(object)});
      } else {
        inert_[location.num] = location.where;
      }
    }
  }

  void ReadEveryObject() {
    ReadPackedObjects();
    // The table may grow while reading: Poppler rebuilds it when an entry turns out to be wrong.
    for (int num = 0; num < xref_.getNumObjects(); ++num) {
      if (ShouldStop()) return;
      const XRefEntry* entry = xref_.getEntry(num, false);
      if (entry->type != xrefEntryUncompressed && entry->type != xrefEntryCompressed) continue;
      if (outcome_.objects == kMaxPdfObjects) {
        outcome_.too_many_objects = true;
        return;
      }
      ++outcome_.objects;
      if (IsInert(num, *entry)) continue;
      // An object inside an object stream has generation 0; its entry's `gen` is its index there.
      const Ref ref{num, entry->type == xrefEntryUncompressed ? entry->gen : 0};
      const Object object = Fetch(ref);
      if (object.isStream()) NoteStream(ref, *object.streamGetDict());
      Visit(object, ref, 0);
    }
    packed_.clear();
    inert_.clear();
  }

  // Images are left undecoded; cross-reference streams hold only offsets.
  void NoteStream(Ref ref, Dict& dict) {
    if (dict.lookup("Subtype").isName("Image") || HasImageCodec(dict) || dict.lookup("Type").isName("XRef")) return;
    streams_.push_back(ref);
  }

  // Looks at every entry of direct dictionaries and arrays; references are not followed, since
  // every indirect object is read on its own.
  void Visit(const Object& object, Ref owner, int depth) {
    if (depth > kMaxNesting) return;
    if (object.isDict() || object.isStream()) {
      Dict& dict = object.isDict() ? *object.getDict() : *object.streamGetDict();
      for (int i = 0; i < dict.getLength(); ++i) {
        const Object& value = dict.getValNF(i);
        NoteEntry(dict, dict.getKey(i), value, owner);
        Visit(value, owner, depth + 1);
      }
    } else if (object.isArray()) {
      for (int i = 0; i < object.arrayGetLength(); ++i) Visit(object.arrayGetNF(i), owner, depth + 1);
    }
  }

  void NoteEntry(Dict& dict, std::string_view key, const Object& value, Ref owner) {
    if (!IsNotable(key, value)) return;
    if (key == "JS") {
      tally_.Note(Heuristic::kJavaScript, Where(owner));
      AddScript(value);
    } else if (key == "JavaScript") {  // the document-level scripts name tree
      tally_.Note(Heuristic::kJavaScript, Where(owner));
    } else if (key == "S") {
      NoteActionType(Resolve(value), owner);
    } else if (key == "OpenAction") {
      NoteAutomaticAction(value, Heuristic::kOpenActionJavaScript, Where(owner));
    } else if (key == "AA") {
      NoteAdditionalActions(dict, value, owner);
    } else if (key == "RichMedia" || key == "RichMediaContent" || key == "RichMediaSettings" ||
               (key == "Subtype" && value.isName("RichMedia"))) {
      tally_.Note(Heuristic::kRichMedia, Where(owner));
    } else if (key == "XFA") {
      tally_.Note(Heuristic::kXfa, Where(owner));
      AddXfa(value);
    } else if (key == "EF") {
      AddAttachments(dict, value);
    } else if (key == "Type" && value.isName("EmbeddedFile")) {
      NoteEmbeddedFile(owner);
    }
  }

  void NoteActionType(const Object& type, Ref owner) {
    if (const std::optional<Heuristic> heuristic = ActionHeuristic(type)) tally_.Note(*heuristic, Where(owner));
  }

  // Only triggers that fire without the user acting on a field count as auto-run: form fields
  // format and validate their values with JavaScript in ordinary documents.
  void NoteAdditionalActions(Dict& owner_dict, const Object& value, Ref owner) {
    const Object actions = Resolve(value);
    if (!actions.isDict()) return;
    const bool page = owner_dict.lookup("Type").isName("Page");
    Dict& triggers = *actions.getDict();
    for (int i = 0; i < triggers.getLength(); ++i) {
      if (IsAutomaticTrigger(triggers.getKey(i), page)) {
        NoteAutomaticAction(triggers.getValNF(i), Heuristic::kAdditionalActionJavaScript, Where(owner));
      }
    }
  }

  // The types (/S) of an action and of the actions chained after it by /Next, in order; an action
  // with a /JS entry counts as JavaScript. Hostile files chain actions in cycles: each reference is
  // followed once, and only so many actions in all.
  std::vector<std::string> ActionTypes(const Object& action) {
    std::vector<std::string> types;
    std::set<Ref> followed;
    size_t budget = kMaxActionsFollowed;
    CollectActionTypes(action, followed, budget, types);
    return types;
  }

  void CollectActionTypes(const Object& action, std::set<Ref>& followed, size_t& budget,
                          std::vector<std::string>& types) {
    if (budget == 0 || ShouldStop()) return;
    --budget;
    if (action.isRef()) {
      if (followed.insert(action.getRef()).second) CollectActionTypes(Fetch(action.getRef()), followed, budget, types);
      return;
    }
    if (action.isArray()) {
      for (int i = 0; i < action.arrayGetLength(); ++i) CollectActionTypes(action.arrayGetNF(i), followed, budget, types);
      return;
    }
    if (!action.isDict()) return;
    Dict& dict = *action.getDict();
    const Object type = Resolve(dict.lookupNF("S"));
    if (!dict.lookupNF("JS").isNull()) {
      types.push_back("JavaScript");
    } else if (type.isName()) {
      types.push_back(type.getName());
    }
    CollectActionTypes(dict.lookupNF("Next"), followed, budget, types);
  }

  // Notes what an action that runs without a click does: JavaScript as `script` says, and opening the
  // web or a file as an automatic action naming its type.
  void NoteAutomaticAction(const Object& action, Heuristic script, const std::string& where) {
    static constexpr std::array<std::string_view, 6> kReachOut = {"URI",  "Launch", "SubmitForm",
                                                                  "GoToR", "GoToE", "ImportData"};
    for (const std::string& type : ActionTypes(action)) {
      if (type == "JavaScript") {
        tally_.Note(script, where);
      } else if (std::find(kReachOut.begin(), kReachOut.end(), type) != kReachOut.end()) {
        tally_.Note(Heuristic::kAutomaticAction, fmt::format("{} (/{})", where, type));
      }
    }
  }

  // Forms repeat the same field script many times: each distinct script is one layer.
  void AddScript(const Object& value) {
    if (const GooString* text = StringValue(value)) {
      if (script_texts_.insert(text->toStr()).second) scripts_.push_back({std::nullopt, text->toStr()});
    } else if (value.isRef() && claimed_.insert(value.getRef()).second) {
      scripts_.push_back({value.getRef(), {}});
    }
  }

  void AddXfa(const Object& value) {
    // A whole XDP stream, or an array of packets: (name) stream (name) stream ...
    std::vector<Ref> packets;
    const Object resolved = Resolve(value);
    if (resolved.isStream() && value.isRef()) {
      if (claimed_.insert(value.getRef()).second) packets.push_back(value.getRef());
    } else {
      for (int i = 0; resolved.isArray() && i < resolved.arrayGetLength(); ++i) {
        const Object& packet = resolved.arrayGetNF(i);
        if (packet.isRef() && claimed_.insert(packet.getRef()).second) packets.push_back(packet.getRef());
      }
    }
    if (!packets.empty()) xfa_forms_.push_back(std::move(packets));
  }

  // A file specification's /EF holds its embedded file streams; its name is /UF, else /F, ...
  void AddAttachments(Dict& file_spec, const Object& value) {
    const Object files = Resolve(value);
    if (!files.isDict()) return;
    std::string name;
    for (const char* key : {"UF", "F", "Unix", "Mac", "DOS"}) {
      const Object entry = file_spec.lookup(key);
      if (const GooString* text = StringValue(entry)) {
        name = AttachmentFileName(TextStringToUtf8(text->toStr()));
        if (!name.empty()) break;
      }
    }
    Dict& streams = *files.getDict();
    for (int i = 0; i < streams.getLength(); ++i) {
      const Object& file = streams.getValNF(i);
      if (!file.isRef()) continue;
      NoteEmbeddedFile(file.getRef());
      if (claimed_.insert(file.getRef()).second) attachments_.push_back({file.getRef(), name});
    }
  }

  void NoteEmbeddedFile(Ref file) {
    if (embedded_files_.insert(file).second) tally_.Note(Heuristic::kEmbeddedFile, Where(file));
  }

  void EmitLayers() {
    for (size_t i = 0; i < scripts_.size() && !ShouldStop(); ++i)
      EmitScript(fmt::format("javascript/{}.js", i + 1), scripts_[i]);
    std::set<std::string> attachment_names;
    for (const Attachment& attachment : attachments_) {
      if (ShouldStop()) return;
      // Two attachments may share a name; the second is told apart by its object.
      std::string name =
          "attachments/" +
          (attachment.name.empty() ? fmt::format("{}.{}", attachment.ref.num, attachment.ref.gen) : attachment.name);
      if (!attachment_names.insert(name).second) {
        name = fmt::format("attachments/{}.{}/{}", attachment.ref.num, attachment.ref.gen, attachment.name);
      }
      EmitStreams(name, {attachment.ref}, Role::kFile);
    }
    for (size_t i = 0; i < xfa_forms_.size() && !ShouldStop(); ++i) {
      EmitStreams(fmt::format("xfa/{}.xml", i + 1), xfa_forms_[i], Role::kFile);
    }
    for (const Ref ref : streams_) {
      if (ShouldStop()) return;
      if (claimed_.contains(ref)) continue;
      EmitStreams(fmt::format("objects/{}.{}", ref.num, ref.gen), {ref}, Role::kContent);
    }
  }

  void EmitScript(const std::string& name, const Script& script) {
    if (!script.ref) {
      std::vector<uint8_t> bytes(script.text.begin(), script.text.end());
      Utf16ScriptToUtf8(bytes);
      // Admit checks this exact size; a refusal is recorded by the sink.
      if (Admitted(sink_.Admit(name, bytes.size(), script.text.size()).status())) Add(name, std::move(bytes));
      return;
    }
    const Object target = xref_.fetch(*script.ref);
    if (const GooString* text = StringValue(target)) {
      EmitScript(name, Script{std::nullopt, text->toStr()});
    } else if (target.isStream()) {
      EmitStreams(name, {*script.ref}, Role::kScript);
    }
  }

  // What a decoded stream is to the scan: a script (kept as text: UTF-16 becomes UTF-8), a file of
  // its own (an attachment, an XFA form), or a content stream (page content, fonts, object streams).
  enum class Role { kScript, kFile, kContent };

  // Decodes `parts` (streams, in order) into one layer, never past what the sink allows.
  void EmitStreams(const std::string& name, const std::vector<Ref>& parts, Role role) {
    std::vector<Object> streams;
    uint64_t stored = 0;
    uint64_t declared = 0;
    for (const Ref ref : parts) {
      Object object = xref_.fetch(ref);
      if (!object.isStream()) continue;
      Dict& dict = *object.streamGetDict();
      if (HasImageCodec(dict)) continue;
      const uint64_t length =
          static_cast<uint64_t>(std::max<Goffset>(0, object.getStream()->getBaseStream()->getLength()));
      stored += length;
      // /DL is the optional decoded length: lets the sink refuse a bomb before it is inflated.
      const Object decoded_length = dict.lookup("DL");
      declared += decoded_length.isInt() && decoded_length.getInt() >= 0
                      ? static_cast<uint64_t>(decoded_length.getInt())
                  : decoded_length.isInt64() && decoded_length.getInt64() >= 0
                      ? static_cast<uint64_t>(decoded_length.getInt64())
                      : length;
      streams.push_back(std::move(object));
    }
    if (streams.empty()) return;
    auto cap = sink_.Admit(name, declared, stored);
    if (!Admitted(cap.status())) return;
    // One byte past the cap lets the sink see which limit the layer passed.
    std::vector<uint8_t> bytes;
    const std::optional<uint64_t> size = Decode(streams, *cap + 1, kBufferedBytes, bytes);
    if (!size) return;
    if (*size > *cap) {
      // Measured, never held: asking again with the real size makes the sink record the limit.
      Admitted(sink_.Admit(name, *size, stored).status());
      return;
    }
    if (bytes.size() < *size) {  // longer than the first pass keeps: decode again into an exact buffer
      bytes.reserve(*size);
      if (!Decode(streams, *size, *size, bytes)) return;
    }
    if (role == Role::kScript) Utf16ScriptToUtf8(bytes);
    if (IsObjectStream(streams)) NoteEscapedNames(bytes, parts.front());
    ChildTraits traits;
    if (role == Role::kContent) {
      traits.kind = LayerKind::kContentStream;
      // Page text, fonts, object streams: what runs (scripts, attachments) is a layer of its own.
      traits.words = Words::kProse;
    }
    Admitted(sink_.Add(name, std::move(bytes), traits));
  }

  // A refusal is already a finding (the sink records which limit); the walk goes on.
  bool Admitted(const Status& status) { return status.ok(); }
  void Add(const std::string& name, std::vector<uint8_t> bytes) { Admitted(sink_.Add(name, std::move(bytes))); }

  static bool IsObjectStream(const std::vector<Object>& streams) {
    return streams.size() == 1 && streams.front().streamGetDict()->lookup("Type").isName("ObjStm");
  }

  // Names inside a compressed object stream never appear in the file's bytes.
  void NoteEscapedNames(const std::vector<uint8_t>& object_stream, Ref ref) {
    FindEscapedSensitiveNames(object_stream, [&](size_t offset, std::string_view token, std::string_view) {
      tally_.Note(Heuristic::kNameObfuscation,
                  fmt::format("object stream {} {} at offset {} ({})", ref.num, ref.gen, offset, token));
    });
  }

  // Decodes `streams` one after the other, `limit` bytes at most in all, and keeps the output in
  // `out` while it is at most `keep` bytes (past that, nothing: a bomb is measured without memory).
  // Returns the bytes produced, or nullopt when the walk must stop.
  std::optional<uint64_t> Decode(const std::vector<Object>& streams, uint64_t limit, uint64_t keep,
                                 std::vector<uint8_t>& out) {
    out.clear();
    uint64_t produced = 0;
    unsigned char chunk[kDecodeChunk];
    for (const Object& object : streams) {
      const uint64_t stream_start = produced;
      if (const std::optional<std::span<const uint8_t>> deflated = PlainFlateBytes(object)) {
        const InflateOutcome inflated = Inflate(*deflated, limit, keep, produced, out, [this] { return ShouldStop(); });
        if (inflated == InflateOutcome::kStopped) return std::nullopt;
        if (inflated != InflateOutcome::kCorrupt) continue;
        // Poppler's decoder keeps what it can of a damaged stream: it decides what such a stream holds.
        produced = stream_start;
      }
      Stream& stream = *object.getStream();
      stream.reset();
      bool ended = false;
      while (produced < limit) {
        if (ShouldStop()) {
          stream.close();
          return std::nullopt;
        }
        const int got = stream.doGetChars(static_cast<int>(std::min<uint64_t>(sizeof chunk, limit - produced)), chunk);
        if (got <= 0) {
          ended = true;
          break;
        }
        produced += got;
        if (produced <= keep) {
          out.insert(out.end(), chunk, chunk + got);
        } else if (out.capacity() > 0) {
          std::vector<uint8_t>().swap(out);
        }
      }
      stream.close();
      if (ended && produced <= keep) produced -= TrimRebuiltStreamEnd(*object.streamGetDict(), stream_start, out);
    }
    return produced;
  }

  // The compressed bytes of a stream zlib can inflate exactly as Poppler's decoder would, much
  // faster: an unencrypted stream with the one filter FlateDecode and no predictor. nullopt for any
  // other stream, which Poppler decodes.
  std::optional<std::span<const uint8_t>> PlainFlateBytes(const Object& object) const {
    if (xref_.isEncrypted()) return std::nullopt;
    Dict& dict = *object.streamGetDict();
    const Object filter = dict.lookup("Filter");
    const Object& only_filter = filter.isArray() && filter.arrayGetLength() == 1 ? filter.arrayGetNF(0) : filter;
    if (!only_filter.isName("FlateDecode") && !only_filter.isName("Fl")) return std::nullopt;
    Object parameters = dict.lookup("DecodeParms");
    if (parameters.isNull()) parameters = dict.lookup("DP");
    if (parameters.isArray() && parameters.arrayGetLength() == 1) parameters = parameters.arrayGet(0);
    if (parameters.isDict()) {
      const Object predictor = parameters.dictLookup("Predictor");
      if (!predictor.isNull() && !(predictor.isInt() && predictor.getInt() <= 1)) return std::nullopt;
    } else if (!parameters.isNull()) {
      return std::nullopt;
    }
    BaseStream* base = object.getStream()->getBaseStream();
    const Goffset start = base->getStart();
    const Goffset length = base->getLength();
    if (start < 0 || length < 0 || static_cast<uint64_t>(start) > document_.size() ||
        static_cast<uint64_t>(length) > document_.size() - static_cast<uint64_t>(start)) {
      return std::nullopt;
    }
    return document_.subspan(static_cast<size_t>(start), static_cast<size_t>(length));
  }

  // In a file whose cross-reference table was rebuilt, Poppler ends every stream at its
  // `endstream` keyword, so an unfiltered stream also gets the end-of-line before it: an attachment
  // would no longer match its hash. Drops what lies past /Length when that is only white space.
  static uint64_t TrimRebuiltStreamEnd(Dict& dict, uint64_t stream_start, std::vector<uint8_t>& out) {
    const Object length = dict.lookup("Length");
    if (!dict.lookup("Filter").isNull() || !length.isInt() || length.getInt() < 0) return 0;
    const uint64_t end = stream_start + static_cast<uint64_t>(length.getInt());
    if (end >= out.size()) return 0;
    const auto is_space = [](uint8_t c) {
      return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '\f' || c == 0;
    };
    if (!std::all_of(out.begin() + end, out.end(), is_space)) return 0;
    const uint64_t trimmed = out.size() - end;
    out.resize(end);
    return trimmed;
  }

  XRef& xref_;
  std::span<const uint8_t> document_;  // the bytes the document was opened from
  ChildSink& sink_;
  HeuristicTally& tally_;
  WalkOutcome outcome_;

  std::vector<Script> scripts_;
  std::vector<Attachment> attachments_;
  std::vector<std::vector<Ref>> xfa_forms_;
  std::vector<Ref> streams_;  // every stream that is neither an image nor a cross-reference
  std::set<Ref> claimed_;     // streams that get a named layer of their own
  std::set<Ref> embedded_files_;
  std::set<std::string> script_texts_;
  std::unordered_map<int, PackedObject> packed_;  // by number, while every object is read
  std::vector<PackedLocation> inert_;              // by number, while every object is read
};

}  // namespace

WalkOutcome WalkDocument(XRef& xref, std::span<const uint8_t> document, ChildSink& sink, HeuristicTally& tally) {
  return ObjectWalker(xref, document, sink, tally).Run();
}

}  // namespace tollgate::pdf
