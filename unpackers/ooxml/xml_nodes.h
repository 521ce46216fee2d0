// Reading the XML of Office files from memory with libxml2's streaming reader, safely: no network,
// no errors printed, and a document that declares a DTD is refused before any entity it might
// declare could be read (OOXML parts and encryption descriptors never declare one). Thread-safe:
// each call has its own reader.
#pragma once

#include <libxml/xmlreader.h>

#include <cstdint>
#include <functional>
#include <span>

#include "tollgate/status.h"

namespace tollgate::ooxml {

// Calls `visit` on every node, in document order. DataLoss when the XML is not well-formed or
// declares a DTD.
Status ForEachXmlNode(std::span<const uint8_t> bytes, const std::function<void(xmlTextReader*)>& visit);

}  // namespace tollgate::ooxml
