#include "xml_nodes.h"

#include <libxml/parser.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <mutex>
#include <string_view>

namespace tollgate::ooxml {
namespace {

struct ReaderFree {
  void operator()(xmlTextReader* reader) const { xmlFreeTextReader(reader); }
};

void IgnoreXmlError(void* /*context*/, xmlErrorPtr /*error*/) {}

bool Contains(std::span<const uint8_t> bytes, std::string_view needle) {
  return std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()) != bytes.end();
}

}  // namespace

Status ForEachXmlNode(std::span<const uint8_t> bytes, const std::function<void(xmlTextReader*)>& visit) {
  static std::once_flag once;
  std::call_once(once, xmlInitParser);  // libxml2 asks for this before it is used by several threads
  if (bytes.size() > INT_MAX) return DataLoss("too large for the XML parser");
  if (Contains(bytes, "<!DOCTYPE")) return DataLoss("declares a DTD, which OOXML forbids");
  std::unique_ptr<xmlTextReader, ReaderFree> reader(
      xmlReaderForMemory(reinterpret_cast<const char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr, nullptr,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!reader) return ResourceExhausted("libxml2 cannot create a reader");
  xmlTextReaderSetStructuredErrorHandler(reader.get(), IgnoreXmlError, nullptr);
  int result;
  while ((result = xmlTextReaderRead(reader.get())) == 1) {
    if (xmlTextReaderNodeType(reader.get()) == XML_READER_TYPE_DOCUMENT_TYPE) {
      return DataLoss("declares a DTD, which OOXML forbids");
    }
    visit(reader.get());
  }
  return result == 0 ? Status::Ok() : DataLoss("not well-formed XML");
}

}  // namespace tollgate::ooxml
