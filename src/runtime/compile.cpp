// The compiler: binds every node of an optimized graph to a kernel for one set of input shapes,
// converts layouts where producer and consumer disagree, and plans activation memory.
#include <cstdlib>
#include <map>
#include <set>

#include "core/check.hpp"
#include "core/verbose.hpp"
#include "ir/graph_walk.hpp"
#include "ir/shape_inference.hpp"
#include "runtime/builtin_kernels.hpp"
#include "runtime/executor.hpp"
#include "runtime/if_kernel.hpp"
#include "runtime/plan.hpp"
#include "runtime/work_estimate.hpp"

namespace nnaccel {

namespace {

uint64_t physical_bytes(const ValueDesc& d) {
  return dtype_storage_bytes(d.dtype, shape_numel(d.physical_shape()));
}

}  // namespace

class PlanBuilder {
 public:
  PlanBuilder(std::shared_ptr<const Model> model, const std::vector<TypeInfo>& input_types,
              const CompileOptions& options)
      : model_(std::move(model)), g_(model_->graph), options_(options) {
    plan_ = std::make_unique<Plan>();
    plan_->model_ = model_;
    NNA_CHECK(input_types.size() == g_.inputs.size(), "compile: {} input types for {} inputs",
              input_types.size(), g_.inputs.size());
    for (size_t i = 0; i < g_.inputs.size(); ++i) input_types_[g_.inputs[i].name] = input_types[i];
  }

  std::unique_ptr<Plan> build() {
    shapes_ = infer_shapes(g_, input_types_);
    for (const ValueInfo& v : g_.inputs) {
      ValueSlot s;
      s.name = v.name;
      s.kind = ValueSlot::Kind::input;
      s.desc = desc_of(input_types_[v.name]);
      by_name_[v.name] = add_slot(std::move(s));
    }
    for (const ValueInfo& v : g_.inputs) plan_->input_slots_.push_back(by_name_[v.name]);
    const OpRegistry& ops = OpRegistry::instance();
    for (const Node& node : g_.nodes) {
      const OpSchema* schema = ops.find(node.domain, node.op_type);
      if (schema == nullptr) fail("{}: unknown op {}", node.describe(), node.op_type);
      if (folded(node, *schema)) continue;
      compile_node(node, *schema);
    }
    for (const ValueInfo& v : g_.outputs) plan_->output_slots_.push_back(plain_output_slot(v.name));
    plan_memory();
    if (verbose_enabled()) log_plan();
    return std::move(plan_);
  }

 private:
  int add_slot(ValueSlot s) {
    plan_->slots_.push_back(std::move(s));
    return static_cast<int>(plan_->slots_.size()) - 1;
  }

  ValueDesc desc_of(const TypeInfo& t) const {
    ValueDesc d;
    d.dtype = t.dtype;
    d.known = t.dtype != DType::undefined && t.fully_known();
    if (d.known) d.shape = t.known_shape();
    return d;
  }

  // A node is skipped when shape inference folded all its outputs for these input shapes.
  bool folded(const Node& node, const OpSchema& schema) const {
    if (!schema.deterministic || has_subgraph(node)) return false;
    for (const std::string& o : node.outputs)
      if (!o.empty() && !shapes_.constants.count(o)) return false;
    return true;
  }

  int slot_for_input(const Node& node, const std::string& name) {
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second;
    auto c = shapes_.constants.find(name);
    if (c == shapes_.constants.end())
      fail("{}: input '{}' has no producer", node.describe(), name);
    ValueSlot s;
    s.name = name;
    s.kind = ValueSlot::Kind::constant;
    s.desc.dtype = c->second.dtype();
    s.desc.shape = c->second.shape();
    s.value = c->second;
    int id = add_slot(std::move(s));
    by_name_[name] = id;
    return id;
  }

  // The plain form of a slot: the slot itself, or a reordered copy made once.
  int plain_slot(int slot) {
    if (plan_->slots_[static_cast<size_t>(slot)].desc.plain()) return slot;
    auto it = plain_copy_.find(slot);
    if (it != plain_copy_.end()) return it->second;
    const ValueDesc src = plan_->slots_[static_cast<size_t>(slot)].desc;
    ValueDesc dst = src;
    dst.block = 0;
    ValueSlot s;
    s.name = plan_->slots_[static_cast<size_t>(slot)].name + "#plain";
    s.kind = ValueSlot::Kind::arena;
    s.desc = dst;
    int id = add_slot(std::move(s));
    PlanStep step;
    step.op_type = "Reorder";
    step.name = s.name;
    step.kernel = make_reorder_kernel(src, dst);
    step.threads = options_.threads;
    step.inputs = {slot};
    step.outputs = {id};
    plan_->steps_.push_back(std::move(step));
    plan_->stats_.reorders++;
    plain_copy_[slot] = id;
    return id;
  }

  // Graph outputs are plain and allocated per run.
  int plain_output_slot(const std::string& name) {
    auto it = by_name_.find(name);
    int slot = it != by_name_.end() ? it->second : -1;
    if (slot < 0) {
      Node output_reader;
      output_reader.op_type = "graph output";
      slot = slot_for_input(output_reader, name);
    }
    int plain = plain_slot(slot);
    ValueSlot& s = plan_->slots_[static_cast<size_t>(plain)];
    if (s.kind == ValueSlot::Kind::arena) s.kind = ValueSlot::Kind::dynamic;
    if (s.kind == ValueSlot::Kind::dynamic) s.graph_output = true;
    return plain;
  }

  std::unique_ptr<Kernel> try_fast(const Node& node, const std::vector<int>& in_slots,
                                   std::vector<ValueDesc>& out_descs,
                                   const CompileOptions& options) {
    const std::vector<const KernelEntry*> entries =
        KernelRegistry::instance().find(node.domain, node.op_type);
    if (entries.empty()) return nullptr;
    KernelRequest req{node, g_, {}, {}, out_descs, options};
    req.value_types = &shapes_.types;
    req.packed = &packed_;
    for (int s : in_slots) {
      if (s < 0) {
        req.inputs.push_back(nullptr);
        req.constants.push_back(nullptr);
        continue;
      }
      const ValueSlot& slot = plan_->slots_[static_cast<size_t>(s)];
      req.inputs.push_back(&slot.desc);
      req.constants.push_back(slot.kind == ValueSlot::Kind::constant ? &slot.value : nullptr);
    }
    for (const KernelEntry* e : entries) {
      req.outputs = out_descs;
      std::unique_ptr<Kernel> k = e->make(req);
      if (k) {
        out_descs = req.outputs;
        return k;
      }
    }
    return nullptr;
  }

  void compile_node(const Node& node, const OpSchema& schema) {
    std::vector<int> in_slots;
    for (const std::string& in : node.inputs)
      in_slots.push_back(in.empty() ? -1 : slot_for_input(node, in));
    std::vector<ValueDesc> out_descs;
    for (const std::string& o : node.outputs) {
      auto t = shapes_.types.find(o);
      out_descs.push_back(o.empty() || t == shapes_.types.end() ? ValueDesc{} : desc_of(t->second));
      if (out_descs.back().dtype == DType::undefined) out_descs.back().known = false;
    }
    std::unique_ptr<Kernel> kernel;
    bool allocates = false;
    bool all_known = true;
    for (size_t o = 0; o < out_descs.size(); ++o)
      if (!node.outputs[o].empty() && !out_descs[o].known) all_known = false;
    if (node.domain.empty() && node.op_type == "If" && in_slots.size() == 1 && in_slots[0] >= 0) {
      kernel = compile_if(node, in_slots);
      allocates = kernel != nullptr;
    }
    // Small nodes run on one thread (kernels create their work split for the count they get).
    CompileOptions node_options = options_;
    if (all_known) {
      std::vector<const ValueDesc*> in_descs;
      for (int s : in_slots)
        in_descs.push_back(s >= 0 ? &plan_->slots_[static_cast<size_t>(s)].desc : nullptr);
      if (estimate_work(node, in_descs, out_descs) < kSerialWork) node_options.threads = 1;
    }
    if (!kernel && !has_subgraph(node) && all_known) {
      kernel = try_fast(node, in_slots, out_descs, node_options);
      bool any_blocked = false;
      for (int s : in_slots)
        if (s >= 0 && !plan_->slots_[static_cast<size_t>(s)].desc.plain()) any_blocked = true;
      if (!kernel && any_blocked) {
        for (int& s : in_slots)
          if (s >= 0) s = plain_slot(s);
        kernel = try_fast(node, in_slots, out_descs, node_options);
      }
    }
    bool fast = kernel != nullptr;
    if (!fast) {
      allocates = true;
      for (int& s : in_slots)
        if (s >= 0) s = plain_slot(s);
      std::vector<std::string> outer;
      if (has_subgraph(node)) {
        std::set<std::string> reads;
        collect_subgraph_reads(node, reads);
        for (const std::string& r : reads) {
          if (!by_name_.count(r) && !shapes_.constants.count(r)) continue;
          outer.push_back(r);
          in_slots.push_back(plain_slot(slot_for_input(node, r)));
        }
        if (!plan_->subgraphs_) {
          SessionOptions sub;
          sub.profile = options_.profile;
          plan_->subgraphs_ = std::make_unique<Executor>(Model{}, sub);
        }
      }
      kernel = make_reference_kernel(node, schema, std::move(outer), plan_->subgraphs_.get());
      for (ValueDesc& d : out_descs) d.block = 0;
    }
    PlanStep step;
    step.node = &node;
    step.op_type = node.op_type;
    step.name = node.name;
    step.kernel = std::move(kernel);
    step.allocates = allocates;
    step.threads = allocates && !fast ? options_.threads : node_options.threads;
    step.inputs = in_slots;
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const std::string& name = node.outputs[o];
      if (name.empty()) {
        step.outputs.push_back(-1);
        continue;
      }
      ValueSlot s;
      s.name = name;
      s.desc = out_descs[o];
      s.kind = !allocates && s.desc.known ? ValueSlot::Kind::arena : ValueSlot::Kind::dynamic;
      int id = add_slot(std::move(s));
      by_name_[name] = id;
      step.outputs.push_back(id);
    }
    (fast ? plan_->stats_.fast_steps : plan_->stats_.reference_steps)++;
    if (step.kernel->computes_in_bf16()) plan_->stats_.bf16_steps++;
    plan_->steps_.push_back(std::move(step));
  }

  // If with both branches compiled ahead; `in_slots` becomes cond + the outer values read.
  std::unique_ptr<Kernel> compile_if(const Node& node, std::vector<int>& in_slots) {
    // A condition that is not one element is an error the reference kernel names.
    const ValueDesc& cond = plan_->slots_[static_cast<size_t>(in_slots[0])].desc;
    if (!cond.known || shape_numel(cond.shape) != 1) return nullptr;
    std::set<std::string> reads;
    collect_subgraph_reads(node, reads);
    std::vector<std::pair<std::string, int>> found;
    for (const std::string& r : reads) {
      if (!by_name_.count(r) && !shapes_.constants.count(r)) continue;
      found.emplace_back(r, plain_slot(slot_for_input(node, r)));
    }
    std::vector<OuterValue> outer;
    std::vector<int> slots = {in_slots[0]};
    for (const auto& [name, s] : found) {
      const ValueSlot& slot = plan_->slots_[static_cast<size_t>(s)];
      bool constant = slot.kind == ValueSlot::Kind::constant;
      outer.push_back(OuterValue{name, slot.desc, constant ? &slot.value : nullptr});
      if (!constant) slots.push_back(s);
    }
    const ValueSlot& cond_slot = plan_->slots_[static_cast<size_t>(in_slots[0])];
    const Tensor* known =
        cond_slot.kind == ValueSlot::Kind::constant ? &cond_slot.value : nullptr;
    std::unique_ptr<Kernel> k = make_if_kernel(node, *model_, outer, known, options_);
    if (k) in_slots = slots;
    return k;
  }

  void plan_memory() {
    Plan& p = *plan_;
    const int n_steps = static_cast<int>(p.steps_.size());
    std::vector<int> first(p.slots_.size(), -1), last(p.slots_.size(), -1);
    for (int i = 0; i < n_steps; ++i) {
      for (int s : p.steps_[static_cast<size_t>(i)].outputs)
        if (s >= 0) first[static_cast<size_t>(s)] = last[static_cast<size_t>(s)] = i;
      for (int s : p.steps_[static_cast<size_t>(i)].inputs)
        if (s >= 0) last[static_cast<size_t>(s)] = i;
    }
    // One buffer per arena slot, except an output a kernel may write over an input that dies at
    // that step (same bytes): the two share a buffer whose lifetime spans both.
    std::vector<BufferLifetime> buffers;
    std::vector<int> buffer_of(p.slots_.size(), -1);
    for (size_t s = 0; s < p.slots_.size(); ++s) {
      ValueSlot& slot = p.slots_[s];
      if (slot.kind == ValueSlot::Kind::arena) {
        slot.bytes = physical_bytes(slot.desc);
        p.stats_.naive_bytes += slot.bytes;
      } else if (slot.kind == ValueSlot::Kind::dynamic && !slot.graph_output && last[s] >= 0) {
        p.steps_[static_cast<size_t>(last[s])].frees.push_back(static_cast<int>(s));
      }
    }
    auto arena = [&](int s) {
      return s >= 0 && p.slots_[static_cast<size_t>(s)].kind == ValueSlot::Kind::arena;
    };
    for (int i = 0; i < n_steps; ++i) {
      const PlanStep& step = p.steps_[static_cast<size_t>(i)];
      for (size_t o = 0; o < step.outputs.size(); ++o) {
        const int out = step.outputs[o];
        if (!arena(out)) continue;
        const size_t so = static_cast<size_t>(out);
        const int j = step.kernel->inplace_input(static_cast<int>(o));
        const int in = j >= 0 && j < static_cast<int>(step.inputs.size())
                           ? step.inputs[static_cast<size_t>(j)] : -1;
        // The output may take over the input's buffer only if no other input of this step reads
        // that buffer (the same value in two slots, or a view sharing it): the kernel would read
        // what it has already overwritten.
        auto read_elsewhere = [&](int b) {
          for (size_t k = 0; k < step.inputs.size(); ++k) {
            const int other = step.inputs[k];
            if (static_cast<int>(k) != j && arena(other) &&
                buffer_of[static_cast<size_t>(other)] == b)
              return true;
          }
          return false;
        };
        if (arena(in) && last[static_cast<size_t>(in)] == i &&
            p.slots_[static_cast<size_t>(in)].bytes == p.slots_[so].bytes &&
            buffer_of[static_cast<size_t>(in)] >= 0 &&
            !read_elsewhere(buffer_of[static_cast<size_t>(in)])) {
          int b = buffer_of[static_cast<size_t>(in)];
          buffer_of[so] = b;
          buffers[static_cast<size_t>(b)].last = std::max(i, last[so]);
          p.stats_.inplace++;
          continue;
        }
        buffer_of[so] = static_cast<int>(buffers.size());
        buffers.push_back({p.slots_[so].bytes, first[so], std::max(first[so], last[so]), 0});
      }
    }
    p.stats_.arena_bytes = plan_buffer_offsets(buffers);
    // The lower bound any plan needs: the most bytes alive at one step.
    for (int i = 0; i < n_steps; ++i) {
      uint64_t live = 0;
      for (const BufferLifetime& b : buffers)
        if (b.first <= i && i <= b.last) live += b.bytes;
      p.stats_.max_live_bytes = std::max(p.stats_.max_live_bytes, live);
    }
    if (p.stats_.arena_bytes > 0) {
      uint64_t cap = max_allocation_bytes();
      if (cap != 0 && p.stats_.arena_bytes > cap)
        fail("the activations need {} bytes, over the memory cap of {} bytes",
             p.stats_.arena_bytes, cap);
      void* mem = std::aligned_alloc(64, (p.stats_.arena_bytes + 63) / 64 * 64);
      if (mem == nullptr) fail("out of memory allocating {} bytes of activations",
                               p.stats_.arena_bytes);
      p.arena_ = std::shared_ptr<void>(mem, [](void* q) { std::free(q); });
    }
    for (size_t si = 0; si < p.slots_.size(); ++si) {
      if (buffer_of[si] < 0) continue;
      ValueSlot& slot = p.slots_[si];
      slot.offset = buffers[static_cast<size_t>(buffer_of[si])].offset;
      slot.value = Tensor::view(slot.desc.dtype, slot.desc.physical_shape(), p.arena_,
                                static_cast<char*>(p.arena_.get()) + slot.offset);
    }
    // Constants: a weight every reader packed into its own format is not held by the plan.
    std::vector<bool> needed(p.slots_.size(), false);
    for (const PlanStep& step : p.steps_) {
      p.stats_.packed_bytes += step.kernel->packed_bytes();
      for (size_t k = 0; k < step.inputs.size(); ++k)
        if (step.inputs[k] >= 0 && !step.kernel->owns_constant(static_cast<int>(k)))
          needed[static_cast<size_t>(step.inputs[k])] = true;
    }
    p.stats_.packed_bytes -= packed_.shared_bytes();  // counted by each of their readers
    for (int s : p.output_slots_) needed[static_cast<size_t>(s)] = true;
    for (size_t s = 0; s < p.slots_.size(); ++s) {
      ValueSlot& slot = p.slots_[s];
      if (slot.kind != ValueSlot::Kind::constant) continue;
      if (needed[s]) p.stats_.constant_bytes += slot.value.nbytes();
      else slot.value = Tensor{};
    }
    p.values_.resize(p.slots_.size());
    for (size_t s = 0; s < p.slots_.size(); ++s)
      if (p.slots_[s].kind == ValueSlot::Kind::constant ||
          p.slots_[s].kind == ValueSlot::Kind::arena)
        p.values_[s] = p.slots_[s].value;
    for (PlanStep& step : p.steps_) {
      step.in_ptrs.resize(step.inputs.size());
      step.out_tensors.resize(step.outputs.size());
    }
  }

  void log_plan() const {
    for (const PlanStep& step : plan_->steps_) {
      std::string layouts;
      for (int s : step.outputs)
        if (s >= 0 && !plan_->slots_[static_cast<size_t>(s)].desc.plain())
          layouts += fmt::format(" [out blocked{}]",
                                 plan_->slots_[static_cast<size_t>(s)].desc.block);
      fmt::print(stderr, "nnaccel: {} '{}' -> {}{}\n", step.op_type, step.name,
                 step.kernel->name(), layouts);
    }
    const PlanStats& st = plan_->stats_;
    fmt::print(stderr,
               "nnaccel: plan: {} fast steps, {} reference, {} reorders, {} in place; arena {} "
               "bytes (most alive at once {}, unshared {}), constants {} bytes, packed weights {} "
               "bytes\n",
               st.fast_steps, st.reference_steps, st.reorders, st.inplace, st.arena_bytes,
               st.max_live_bytes, st.naive_bytes,
               st.constant_bytes, st.packed_bytes);
  }

  std::shared_ptr<const Model> model_;
  const Graph& g_;
  const CompileOptions& options_;
  std::map<std::string, TypeInfo> input_types_;
  ShapeInferenceResult shapes_;
  std::map<std::string, int> by_name_;
  std::map<int, int> plain_copy_;
  std::unique_ptr<Plan> plan_;
  PackedConstants packed_;  // packed weights shared by the plan's kernels
};

std::unique_ptr<Plan> compile_plan(std::shared_ptr<const Model> model,
                                   const std::vector<TypeInfo>& input_types,
                                   const CompileOptions& options) {
  return PlanBuilder(std::move(model), input_types, options).build();
}

}  // namespace nnaccel
