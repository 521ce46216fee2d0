// ObjectPath names exactly where a layer sits inside an upload: "upload.zip>docs/inner.zip>eicar.com".
//
// The first element is the root's name (the uploaded file's base name); each further element is the
// name a container gives its child. '>' separates layers; a name that itself contains '>' is kept
// verbatim (paths are for people and logs, not parsed back). Immutable value, thread-safe to share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tollgate {

class ObjectPath {
 public:
  ObjectPath() = default;
  explicit ObjectPath(std::string root_name) { elements_.push_back(std::move(root_name)); }

  ObjectPath Child(std::string_view name) const {
    ObjectPath child = *this;
    child.elements_.emplace_back(name);
    return child;
  }

  const std::vector<std::string>& elements() const { return elements_; }
  // The name of the innermost layer ("eicar.com"); empty for an empty path.
  std::string_view leaf() const { return elements_.empty() ? std::string_view{} : elements_.back(); }
  size_t depth() const { return elements_.empty() ? 0 : elements_.size() - 1; }
  std::string ToString() const;

 private:
  std::vector<std::string> elements_;
};

}  // namespace tollgate
