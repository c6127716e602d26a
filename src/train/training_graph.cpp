// From an inference model to the graph the trainer differentiates.
#include <optional>
#include <regex>
#include <set>

#include "core/check.hpp"
#include "ir/graph_walk.hpp"
#include "nnaccel/train.hpp"

namespace nnaccel {
namespace {

// Float inputs that are not weights: statistics, ratios, bounds and sizes. They are never
// parameters even though they may be float initializers.
bool is_non_trainable_slot(const Node& n, size_t i) {
  if (!n.domain.empty()) return false;
  if (n.op_type == "BatchNormalization") return i == 3 || i == 4;
  if (n.op_type == "Dropout" || n.op_type == "Clip" || n.op_type == "Pad") return i >= 1;
  if (n.op_type == "Resize" || n.op_type == "Upsample") return i >= 1;
  return false;
}

// Weights kept in Constant nodes (Paddle2ONNX does this) become initializers so they can be
// trained and are exported with the trained values. Scalars stay constants: they are exponents,
// epsilons and factors far more often than weights.
void lift_float_constants(Graph& g) {
  std::vector<Node> kept;
  for (Node& n : g.nodes) {
    const Attribute* v = n.op_type == "Constant" && n.domain.empty() ? n.attr("value") : nullptr;
    if (v != nullptr && v->kind == Attribute::Kind::t && dtype_is_float(v->t.dtype()) &&
        v->t.numel() > 1 && n.outputs.size() == 1 && g.initializers.count(n.outputs[0]) == 0) {
      g.initializers[n.outputs[0]] = v->t.clone();  // trained in place: not the node's storage
      continue;
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
}

std::string unique_name(std::set<std::string>& used, const std::string& base) {
  std::string name = base;
  for (int k = 1; used.count(name) != 0; ++k) name = fmt::format("{}_{}", base, k);
  used.insert(name);
  return name;
}

}  // namespace

TrainingGraph make_training_graph(Model& model, const TrainingGraphOptions& options) {
  Graph& src = model.graph;
  lift_float_constants(src);
  TrainingGraph tg;
  for (const ValueInfo& in : src.inputs) {
    if (src.initializers.count(in.name) != 0) continue;
    NNA_CHECK(tg.input.empty(), "training: the model has more than one data input ('{}', '{}')",
              tg.input, in.name);
    tg.input = in.name;
  }
  NNA_CHECK(!tg.input.empty(), "training: the model has no data input");
  const ValueInfo* input_info = src.find_value_info(tg.input);
  for (const ValueInfo& in : src.inputs)
    if (in.name == tg.input) input_info = &in;
  NNA_CHECK(input_info->type.dtype == DType::f32 || input_info->type.dtype == DType::undefined,
            "training: input '{}' is {}, expected float32 images", tg.input,
            dtype_name(input_info->type.dtype));
  NNA_CHECK(src.outputs.size() == 1, "training: the model has {} outputs, expected one (logits)",
            src.outputs.size());
  tg.logits = src.outputs[0].name;

  tg.graph = src;  // Tensor copies share storage: updating a parameter updates the model
  Graph& g = tg.graph;
  std::set<std::string> used;
  collect_value_names(g, used);
  tg.labels = unique_name(used, options.labels_name);
  tg.loss = unique_name(used, options.loss_name);

  std::set<std::string> non_trainable;
  std::set<std::string> consumed;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    Node& n = g.nodes[k];
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      consumed.insert(n.inputs[i]);
      if (is_non_trainable_slot(n, i)) non_trainable.insert(n.inputs[i]);
    }
    if (n.op_type == "BatchNormalization" && n.domain.empty()) {
      NNA_CHECK(n.inputs.size() == 5, "training: {} has {} inputs, expected 5", n.describe(),
                n.inputs.size());
      n.set_attr(Attribute::of_int("training_mode", 1));
      n.outputs.resize(3);
      for (int s = 0; s < 2; ++s) {
        const std::string& stat = n.inputs[static_cast<size_t>(3 + s)];
        NNA_CHECK(g.initializers.count(stat) != 0,
                  "training: {} reads its running statistic '{}' from a computed value; it must "
                  "be an initializer",
                  n.describe(), stat);
        std::string& out = n.outputs[static_cast<size_t>(1 + s)];
        if (out.empty()) out = unique_name(used, stat + "/updated");
        tg.bn_stats.push_back({stat, out});
      }
    } else if (n.op_type == "Dropout" && n.domain.empty()) {
      n.inputs.resize(3);
      const std::string flag = unique_name(used, n.name + "/training_mode");
      Tensor on(DType::boolean, {});
      on.data<uint8_t>()[0] = 1;
      g.initializers[flag] = on;
      n.inputs[2] = flag;
      if (n.outputs.size() < 2 || n.outputs[1].empty()) {
        n.outputs.resize(2);
        n.outputs[1] = unique_name(used, n.name + "/mask");
      }
      n.set_attr(Attribute::of_int("seed", 0));
      tg.dropout_nodes.push_back(k);
    }
  }

  Node loss;
  loss.op_type = "SoftmaxCrossEntropyLoss";
  loss.name = unique_name(used, "training_loss");
  loss.inputs = {tg.logits, tg.labels};
  loss.outputs = {tg.loss};
  loss.set_attr(Attribute::of_string("reduction", "mean"));
  g.nodes.push_back(std::move(loss));

  TypeInfo labels_type;
  labels_type.dtype = DType::i64;
  labels_type.has_shape = true;
  labels_type.dims = {input_info->type.has_shape && !input_info->type.dims.empty()
                          ? input_info->type.dims[0]
                          : Dim{-1, "N"}};
  g.inputs.push_back({tg.labels, labels_type, "class index of each image"});
  g.outputs.push_back({tg.loss, TypeInfo::of(DType::f32, {}), "mean cross entropy"});

  std::optional<std::regex> freeze;
  if (!options.freeze_regex.empty()) {
    try {
      freeze.emplace(options.freeze_regex);
    } catch (const std::regex_error& e) {
      fail("--freeze: '{}' is not a valid regular expression ({})", options.freeze_regex, e.what());
    }
  }
  for (const auto& [name, t] : src.initializers) {
    if (!dtype_is_float(t.dtype()) || non_trainable.count(name) != 0 || consumed.count(name) == 0)
      continue;
    if (freeze && std::regex_search(name, *freeze)) continue;
    tg.params.push_back(name);
  }
  NNA_CHECK(!tg.params.empty(),
            "training: no trainable parameter (every float initializer is "
            "frozen or a statistic)");
  return tg;
}

}  // namespace nnaccel
