#include "markup_detector.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tollgate {
namespace {

class Collect final : public FindingSink {
 public:
  void Add(Finding finding) override { found.push_back(finding.rule + " " + finding.detail); }
  std::vector<std::string> found;
};

std::vector<std::string> Scan(std::string_view name, std::string mime, std::string_view page) {
  auto detector = MakeDetectorFactory_markup().create(DetectorConfig{});
  EXPECT_TRUE(detector.ok());
  ScanObject object;
  object.path = ObjectPath("mail.zip").Child(name);
  object.type.mime = std::move(mime);
  object.bytes = std::span(reinterpret_cast<const uint8_t*>(page.data()), page.size());
  Collect out;
  EXPECT_TRUE((*detector)->Scan(object, ScanContext(std::chrono::steady_clock::time_point::max(), nullptr), out).ok());
  return out.found;
}

using Found = std::vector<std::string>;

TEST(MarkupDetector, SmugglingBuildsAFileInTheBrowserAndSavesIt) {
  EXPECT_EQ(Scan("invoice.html", "text/html",
                 "<html><body><script>var d = atob('UEsDBA==');var b = new Blob([d]);"
                 "var a = document.createElement('a');a.href = URL.createObjectURL(b);"
                 "a.download = 'invoice.zip';a.click();</script></body></html>"),
            Found{"Tollgate.HTML.Smuggling script builds a file in the browser and saves it (atob(, new blob, .download)"});
  EXPECT_EQ(Scan("fax.htm", "text/plain",
                 "<SCRIPT>var u = new Uint8Array(9); navigator.msSaveOrOpenBlob(new Blob([u]), 'fax.iso')</SCRIPT>"),
            Found{"Tollgate.HTML.Smuggling script builds a file in the browser and saves it (uint8array, new blob, "
                  "mssaveoropenblob)"});
}

TEST(MarkupDetector, TextAboutSmugglingIsNotScript) {
  EXPECT_EQ(Scan("article.html", "text/html",
                 "<p>HTML smuggling decodes a payload with atob(), wraps it in a new Blob and saves it with "
                 "a.download or msSaveOrOpenBlob.</p><script>document.title = 'Threat brief';</script>"),
            Found{});
}

TEST(MarkupDetector, SvgThatRunsScript) {
  EXPECT_EQ(Scan("logo.svg", "image/svg+xml",
                 "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
            Found{"Tollgate.SVG.Script an image with a <script> element"});
  EXPECT_EQ(Scan("logo.svg", "image/svg+xml",
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"fetch('https://example.invalid/')\"/>"),
            Found{"Tollgate.SVG.Script an image with an onload event handler"});
  EXPECT_EQ(Scan("logo.svg", "image/svg+xml",
                 "<svg xmlns='http://www.w3.org/2000/svg'><title>Logo, not a script</title><rect width='9' "
                 "height='9' data-online='yes'/></svg>"),
            Found{});
}

TEST(MarkupDetector, AutomaticRedirects) {
  EXPECT_EQ(Scan("owa.html", "text/html",
                 "<meta http-equiv=\"refresh\" content=\"0; url=https://login.example.invalid/owa/\">"),
            Found{"Tollgate.HTML.AutoRedirect opens https://login.example.invalid/owa/ by itself"});
  EXPECT_EQ(Scan("owa.html", "text/html", "<script>window.location.href = \"http://example.invalid/x\";</script>"),
            Found{"Tollgate.HTML.AutoRedirect opens http://example.invalid/x by itself"});
  EXPECT_EQ(Scan("page.html", "text/html",
                 "<a href=\"https://example.com/terms\">terms</a><script>var location_count = 1;</script>"),
            Found{});
}

TEST(MarkupDetector, OtherLayersAreNotRead) {
  EXPECT_EQ(Scan("notes.txt", "text/plain", "<script>location = 'https://example.invalid/'</script>"), Found{});
  EXPECT_EQ(Scan("page.html", "application/octet-stream", "<script>location = 'https://example.invalid/'</script>"),
            Found{});
}

TEST(MarkupDetector, UnclosedTagsAndQuotesEndWithTheText) {
  EXPECT_EQ(Scan("broken.svg", "image/svg+xml", "<svg onload=\"alert(1)"),
            Found{"Tollgate.SVG.Script an image with an onload event handler"});
  EXPECT_EQ(Scan("broken.html", "text/html", "<script>var a = 1"), Found{});
  EXPECT_EQ(Scan("empty.html", "text/html", ""), Found{});
}

}  // namespace
}  // namespace tollgate
