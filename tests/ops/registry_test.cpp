#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ops/op_registry.hpp"

namespace nnaccel {
namespace {

struct Listed {
  std::string domain, name, family;
};

const std::vector<Listed>& listed_ops() {
  static const std::vector<Listed> ops = {
#define NNACCEL_OP(domain, name, family) {domain, #name, #family},
#include "ops/ops.def"
#undef NNACCEL_OP
  };
  return ops;
}

TEST(OpRegistry, EveryListedOpHasAShapeFunctionAndAKernel) {
  for (const Listed& op : listed_ops()) {
    const OpSchema* s = OpRegistry::instance().find(op.domain, op.name);
    ASSERT_NE(s, nullptr) << op.name << " is listed in ops.def (family " << op.family
                          << ") but not registered";
    EXPECT_NE(s->infer, nullptr) << op.name;
    EXPECT_NE(s->run, nullptr) << op.name;
  }
}

TEST(OpRegistry, EveryRegisteredOpIsListedOnce) {
  std::set<std::pair<std::string, std::string>> listed;
  for (const Listed& op : listed_ops())
    EXPECT_TRUE(listed.insert({op.domain, op.name}).second) << op.name << " listed twice";
  for (const OpSchema* s : OpRegistry::instance().all())
    EXPECT_TRUE(listed.count({s->domain, s->name})) << s->name << " is registered but not in ops.def";
  EXPECT_EQ(OpRegistry::instance().all().size(), listed.size());
}

}  // namespace
}  // namespace nnaccel
