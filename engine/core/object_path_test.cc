#include "tollgate/object_path.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(ObjectPath, JoinsLayersWithGreaterThan) {
  const ObjectPath path = ObjectPath("upload.zip").Child("invoice.docm").Child("word/vbaProject.bin");
  EXPECT_EQ(path.ToString(), "upload.zip>invoice.docm>word/vbaProject.bin");
  EXPECT_EQ(path.depth(), 2u);
  EXPECT_EQ(path.leaf(), "word/vbaProject.bin");
}

TEST(ObjectPath, ChildLeavesTheParentUnchanged) {
  const ObjectPath parent("a.zip");
  const ObjectPath child = parent.Child("b");
  EXPECT_EQ(parent.ToString(), "a.zip");
  EXPECT_EQ(child.ToString(), "a.zip>b");
}

TEST(ObjectPath, EmptyPathHasNoLeaf) {
  EXPECT_EQ(ObjectPath().ToString(), "");
  EXPECT_EQ(ObjectPath().leaf(), "");
  EXPECT_EQ(ObjectPath().depth(), 0u);
}

}  // namespace
}  // namespace tollgate
