#include "train/block_activations.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "core/check.hpp"
#include "ir/graph_walk.hpp"
#include "ir/shape_inference.hpp"

namespace nnaccel {

namespace {

const char* const kDomain = "ai.nnaccel.training";

bool standard(const Node& n, const char* op) { return n.domain.empty() && n.op_type == op; }

const Tensor* f32_initializer(const Graph& g, const std::string& name, int rank) {
  auto it = g.initializers.find(name);
  if (it == g.initializers.end() || it->second.dtype() != DType::f32 || it->second.rank() != rank)
    return nullptr;
  return &it->second;
}

}  // namespace

int block_activations(TrainingGraph& tg, int64_t block, DType dtype) {
  NNA_CHECK(block == 8 || block == 16, "block_activations: block {} is not 8 or 16", block);
  NNA_CHECK(dtype == DType::f32 || dtype == DType::bf16, "block_activations: {} is not f32 or bf16",
            dtype_name(dtype));
  Graph& g = tg.graph;
  std::map<std::string, TypeInfo> types;
  try {
    types = infer_shapes(g).types;
  } catch (const Error&) {
    // Without shapes, Adds are left as they are (their operands may broadcast).
  }
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string& in : g.nodes[i].inputs)
      if (!in.empty()) readers[in].push_back(i);
  std::set<std::string> graph_outputs;
  for (const ValueInfo& v : g.outputs) graph_outputs.insert(v.name);
  // The one reader of `value` when it is a ReLU and the value is not a graph output: fusable.
  auto relu_reader = [&](const std::string& value) -> std::optional<size_t> {
    auto it = readers.find(value);
    if (it == readers.end() || it->second.size() != 1 || graph_outputs.count(value)) return {};
    if (!standard(g.nodes[it->second[0]], "Relu")) return {};
    return it->second[0];
  };
  auto same_known_shape = [&](const std::string& a, const std::string& b) {
    auto ia = types.find(a), ib = types.find(b);
    return ia != types.end() && ib != types.end() && ia->second.has_shape && ib->second.has_shape &&
           ia->second.dims == ib->second.dims;
  };

  // Pass 1: which nodes become blocked ops, and which values they produce blocked.
  FreshNames names(g);
  std::map<std::string, std::string> blocked;  // value -> its blocked value's name
  // By node index: the blocked op, and the value its first output stands for.
  std::map<size_t, std::pair<Node, std::string>> rewritten;
  std::set<size_t> fused;                      // ReLUs absorbed by the node before
  int count = 0;
  auto blocked_name = [&](const std::string& v) {
    return blocked.emplace(v, names.fresh(v + "/blocked")).first->second;
  };
  // The output that stands for `value` after fusing its ReLU reader, if any.
  auto fuse_relu = [&](Node& n, const std::string& value) {
    std::string out = value;
    if (auto r = relu_reader(value)) {
      fused.insert(*r);
      out = g.nodes[*r].outputs[0];
      n.set_attr(Attribute::of_int("relu", 1));
      ++count;
    }
    return out;
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (fused.count(i)) continue;
    Node b;
    std::string value;  // what b's first output holds, blocked
    b.domain = kDomain;
    b.op_type = n.op_type;
    b.name = n.name;
    if (standard(n, "Conv")) {
      const Tensor* w = n.inputs.size() >= 2 ? f32_initializer(g, n.inputs[1], 4) : nullptr;
      const bool bias = n.inputs.size() >= 3 && !n.inputs[2].empty();
      if (w == nullptr || bias || n.attr_int("group", 1) != 1 || w->dim(0) % block != 0) continue;
      b.attrs = n.attrs;
      b.set_attr(Attribute::of_int("block", block));
      b.set_attr(Attribute::of_int("dtype", static_cast<int64_t>(dtype)));
      const std::string& x = n.inputs[0];
      b.inputs = {blocked.count(x) ? blocked.at(x) : x, n.inputs[1]};
      value = n.outputs[0];
    } else if (standard(n, "BatchNormalization")) {
      if (n.inputs.size() != 5 || !blocked.count(n.inputs[0]) || n.outputs.size() != 3 ||
          n.attr_int("training_mode", 0) != 1)
        continue;
      const Tensor* scale = f32_initializer(g, n.inputs[1], 1);
      bool ok = scale != nullptr && scale->numel() % block == 0;
      for (size_t k = 2; k < 5; ++k) ok = ok && f32_initializer(g, n.inputs[k], 1) != nullptr;
      if (!ok) continue;
      b.attrs = n.attrs;
      b.inputs = n.inputs;
      b.inputs[0] = blocked.at(n.inputs[0]);
      value = fuse_relu(b, n.outputs[0]);
      b.outputs = {"",
                   n.outputs[1],
                   n.outputs[2],
                   names.fresh(n.name + "/saved_mean"),
                   names.fresh(n.name + "/saved_var"),
                   names.fresh(n.name + "/workspace")};
    } else if (standard(n, "Add")) {
      if (n.inputs.size() != 2 || !blocked.count(n.inputs[0]) || !blocked.count(n.inputs[1]) ||
          !same_known_shape(n.inputs[0], n.inputs[1]))
        continue;
      b.inputs = {blocked.at(n.inputs[0]), blocked.at(n.inputs[1])};
      value = fuse_relu(b, n.outputs[0]);
    } else {
      continue;
    }
    b.outputs.resize(std::max<size_t>(b.outputs.size(), 1));
    b.outputs[0] = blocked_name(value);
    rewritten.emplace(i, std::make_pair(std::move(b), value));
    ++count;
  }
  if (rewritten.empty()) return 0;

  // Pass 2: the new node list. A blocked value read by a node left standard, or a graph output,
  // gets a ToPlain under its original name right after its producer.
  std::set<size_t> rewritten_or_fused = fused;
  for (const auto& [i, node] : rewritten) rewritten_or_fused.insert(i);
  auto needs_plain = [&](const std::string& v) {
    if (graph_outputs.count(v)) return true;
    auto it = readers.find(v);
    if (it == readers.end()) return false;
    for (size_t r : it->second)
      if (!rewritten_or_fused.count(r)) return true;
    return false;
  };
  std::vector<Node> nodes;
  std::map<size_t, size_t> new_index;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (fused.count(i)) continue;
    auto it = rewritten.find(i);
    if (it == rewritten.end()) {
      new_index[i] = nodes.size();
      nodes.push_back(std::move(g.nodes[i]));
      continue;
    }
    const auto& [node, value] = it->second;
    nodes.push_back(node);
    if (needs_plain(value)) {
      Node p = Node::of("ToPlain", names.fresh(value + "/to_plain"), {node.outputs[0]}, {value});
      p.domain = kDomain;
      nodes.push_back(std::move(p));
    }
  }
  g.nodes = std::move(nodes);
  for (size_t& d : tg.dropout_nodes) d = new_index.at(d);
  return count;
}

}  // namespace nnaccel
