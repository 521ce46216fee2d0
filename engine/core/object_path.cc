#include "tollgate/object_path.h"

namespace tollgate {

std::string ObjectPath::ToString() const {
  std::string text;
  for (const std::string& element : elements_) {
    if (!text.empty()) text += '>';
    text += element;
  }
  return text;
}

}  // namespace tollgate
