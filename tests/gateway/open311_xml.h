// A test helper: parses an Open311 XML answer with expat (a real XML 1.0 parser, so a body
// that is not well-formed fails) into a small element tree.
#ifndef SIMPUL_TESTS_GATEWAY_OPEN311_XML_H_
#define SIMPUL_TESTS_GATEWAY_OPEN311_XML_H_

#include <expat.h>

#include <memory>
#include <string>
#include <vector>

namespace simpul::gateway::testing {

struct XmlElement {
  std::string name;
  std::string text;  // the character data directly inside, concatenated
  std::vector<XmlElement> children;

  // Child is the first child named `name`, or null.
  const XmlElement* Child(const std::string& child) const {
    for (const XmlElement& c : children) {
      if (c.name == child) return &c;
    }
    return nullptr;
  }
  // ChildText is the text of the first child named `name`; "" when there is none.
  std::string ChildText(const std::string& child) const {
    const XmlElement* c = Child(child);
    return c == nullptr ? "" : c->text;
  }
};

// ParseXml parses `body` into *root; false with *error set when it is not well-formed XML.
inline bool ParseXml(const std::string& body, XmlElement* root, std::string* error) {
  struct State {
    std::vector<XmlElement*> open;
    XmlElement* root;
    bool seen_root = false;
  } state{{}, root};
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate("UTF-8"),
                                                                      &XML_ParserFree);
  XML_SetUserData(parser.get(), &state);
  XML_SetElementHandler(
      parser.get(),
      [](void* data, const XML_Char* name, const XML_Char**) {
        auto* s = static_cast<State*>(data);
        XmlElement* e;
        if (s->open.empty()) {
          e = s->root;
        } else {
          s->open.back()->children.emplace_back();
          e = &s->open.back()->children.back();
        }
        e->name = name;
        s->open.push_back(e);
      },
      [](void* data, const XML_Char*) { static_cast<State*>(data)->open.pop_back(); });
  XML_SetCharacterDataHandler(parser.get(), [](void* data, const XML_Char* text, int len) {
    auto* s = static_cast<State*>(data);
    if (!s->open.empty()) s->open.back()->text.append(text, len);
  });
  if (XML_Parse(parser.get(), body.data(), static_cast<int>(body.size()), /*isFinal=*/1) ==
      XML_STATUS_ERROR) {
    *error = std::string(XML_ErrorString(XML_GetErrorCode(parser.get()))) + " at line " +
             std::to_string(XML_GetCurrentLineNumber(parser.get()));
    return false;
  }
  return true;
}

}  // namespace simpul::gateway::testing

#endif  // SIMPUL_TESTS_GATEWAY_OPEN311_XML_H_
