#!/usr/bin/python3
"""Writes a corpus of malformed ONNX models into OUT_DIR, one sub-folder per case, and a manifest.

Usage: make_bad_models.py OUT_DIR

Each case folder holds model.onnx (plus any external data or links it needs). OUT_DIR/MANIFEST has
one line per case:  name<TAB>stage<TAB>required ops<TAB>message fragment
  stage "load":    loading the model must throw nnaccel::Error containing the fragment;
  stage "session": the model loads, and creating a Session must throw it (the required ops, comma
                   separated or "-", must be registered for that message to be the one raised).
The gtest tests/onnx/bad_input_test.cpp and the script tests/bad_input/run_cli.sh both run it.
"""
import os
import sys

import onnx
from onnx import TensorProto, helper

OUT = sys.argv[1]
MANIFEST = []

F = TensorProto.FLOAT


def case(name, stage, fragment, required="-"):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    MANIFEST.append((name, stage, required, fragment))
    return d


def model(nodes, inputs, outputs, initializers=(), opset=17, value_info=()):
    g = helper.make_graph(nodes, "g", list(inputs), list(outputs), list(initializers),
                          value_info=list(value_info))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="nnaccel-bad-input")
    m.ir_version = 8
    return m


def vi(name, dims, elem=F):
    return helper.make_tensor_value_info(name, elem, dims)


def relu_model():
    return model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2, 3])], [vi("y", [2, 3])])


def write(d, m, name="model.onnx"):
    with open(os.path.join(d, name), "wb") as f:
        f.write(m.SerializeToString() if hasattr(m, "SerializeToString") else m)


def external_tensor(location, offset=None, length=None, dims=(4,)):
    t = TensorProto()
    t.name = "w"
    t.data_type = F
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key = k
            e.value = str(v)
    return t


def add_model(init):
    return model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [4])], [vi("y", [4])],
                 [init])


# --- files that are not ONNX models ---
write(case("empty_file", "load", "the file is empty"), b"")
write(case("not_protobuf", "load", "protobuf parse failed"), b"\xff" * 16)
good = relu_model().SerializeToString()
write(case("truncated", "load", "protobuf parse failed"), good[: len(good) // 2])
write(case("no_graph", "load", "no graph"), onnx.ModelProto(ir_version=8))

# --- graph structure ---
write(case("cycle", "load", "cycle"),
      model([helper.make_node("Relu", ["t2"], ["t1"]), helper.make_node("Neg", ["t1"], ["t2"]),
             helper.make_node("Identity", ["t2"], ["y"])], [vi("x", [2])], [vi("y", [2])]))
write(case("undefined_input", "load", "input 'nowhere' is not produced"),
      model([helper.make_node("Add", ["x", "nowhere"], ["y"])], [vi("x", [2])], [vi("y", [2])]))
write(case("missing_graph_output", "load", "graph output 'z' is not produced"),
      model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2])], [vi("z", [2])]))
write(case("duplicate_outputs", "load", "output 't' is also produced by"),
      model([helper.make_node("Relu", ["x"], ["t"]), helper.make_node("Neg", ["x"], ["t"]),
             helper.make_node("Identity", ["t"], ["y"])], [vi("x", [2])], [vi("y", [2])]))
write(case("output_overwrites_input", "load", "overwrites a graph input"),
      model([helper.make_node("Relu", ["x"], ["x"])], [vi("x", [2])], [vi("x", [2])]))
write(case("duplicate_graph_input", "load", "graph input 'x' is listed twice"),
      model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2]), vi("x", [2])], [vi("y", [2])]))
dup_init = [helper.make_tensor("w", F, [1], [1.0]), helper.make_tensor("w", F, [1], [2.0])]
write(case("duplicate_initializer", "load", "initializer 'w' is defined twice"),
      model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [1])], [vi("y", [1])], dup_init))
m = relu_model()
m.graph.node[0].op_type = ""
write(case("node_without_op", "load", "has no op type"), m)
write(case("node_without_outputs", "load", "the node has no outputs"),
      model([helper.make_node("Relu", ["x"], []), helper.make_node("Neg", ["x"], ["y"])],
            [vi("x", [2])], [vi("y", [2])]))
write(case("unknown_op", "session", "unknown op FrobnicateTensor"),
      model([helper.make_node("FrobnicateTensor", ["x"], ["y"])], [vi("x", [2])], [vi("y", [2])]))
write(case("unknown_custom_domain_op", "session", "unknown op com.example::Frob"),
      model([helper.make_node("Frob", ["x"], ["y"], domain="com.example")], [vi("x", [2])],
            [vi("y", [2])]))
write(case("inconsistent_declared_shape", "session", "but is declared", "Relu"),
      model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2, 3])], [vi("y", [3, 2])]))
write(case("inconsistent_matmul", "session", "MatMul", "MatMul"),
      model([helper.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", [2, 3]), vi("b", [4, 5])],
            [vi("y", None)]))

# --- attributes ---
m = relu_model()
a = m.graph.node[0].attribute.add()
a.name = "body"
a.type = onnx.AttributeProto.GRAPH
a.g.CopyFrom(helper.make_graph([], "body", [], []))
write(case("graph_attribute_on_relu", "load", "holds a graph"), m)
m = model([helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.1)], [vi("x", [2])], [vi("y", [2])])
m.graph.node[0].attribute.append(helper.make_attribute("alpha", 0.2))
write(case("duplicate_attribute", "load", "attribute 'alpha' is given twice"), m)
m = relu_model()
a = m.graph.node[0].attribute.add()
a.name = "sparse"
a.type = onnx.AttributeProto.SPARSE_TENSOR
write(case("unsupported_attribute_type", "load", "unsupported type 11"), m)


def nested_if(levels):
    """An If whose then-branch holds an If, `levels` deep."""
    leaf = helper.make_graph([helper.make_node("Identity", ["x"], ["o0"])], "leaf", [],
                             [vi("o0", [1])])
    inner = leaf
    for i in range(1, levels + 1):
        node = helper.make_node("If", ["c"], ["o%d" % i], then_branch=inner, else_branch=leaf)
        inner = helper.make_graph([node], "level%d" % i, [], [vi("o%d" % i, [1])])
    top = inner.node[0]
    return model([top], [vi("c", [], TensorProto.BOOL), vi("x", [1])], [vi(top.output[0], [1])])


write(case("subgraphs_too_deep", "load", "nested deeper than the limit of 16"), nested_if(20))
write(case("protobuf_nesting_too_deep", "load", "protobuf parse failed"), nested_if(80))

# --- types and shapes ---
write(case("negative_dim_value_info", "load", "negative dimension -3"),
      model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2, -3])], [vi("y", [2, 3])]))
m = relu_model()
m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = -3
write(case("negative_dim_input", "load", "negative dimension -3"), m)
m = relu_model()
for d, v in zip(m.graph.input[0].type.tensor_type.shape.dim, (1 << 40, 1 << 40)):
    d.dim_value = v
write(case("huge_dims_value_info", "load", "multiply past the largest tensor size"), m)
t = helper.make_tensor("w", F, [2], [1.0, 2.0])
t.dims[0] = -2
write(case("negative_dim_initializer", "load", "negative dimension -2"), add_model(t))
t = TensorProto(name="w", data_type=F, dims=[1 << 40, 1 << 40])
write(case("overflowing_initializer", "load", "size overflow"), add_model(t))
t = TensorProto(name="w", data_type=F, dims=[1 << 30, 1 << 20])
write(case("enormous_initializer", "load", "is too large"), add_model(t))
t = TensorProto(name="w", data_type=F, dims=[1 << 20, 1 << 10], raw_data=b"\0" * 16)
write(case("raw_data_shorter_than_shape", "load", "raw data has 16 bytes"), add_model(t))
t = TensorProto(name="w", data_type=F, dims=[4], float_data=[1.0, 2.0, 3.0])
write(case("float_data_shorter_than_shape", "load", "has 3 values but shape [4] needs 4"),
      add_model(t))
t = helper.make_tensor("w", F, [4], [1.0, 2.0, 3.0, 4.0])
t.data_type = 99
write(case("unknown_tensor_dtype", "load", "unknown data type 99"), add_model(t))
write(case("unknown_value_elem_type", "load", "unknown element type 99"),
      model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2], 99)], [vi("y", [2])]))
t = helper.make_tensor("w", TensorProto.STRING, [1], [b"a"])
write(case("string_initializer", "load", "string tensors are not supported"),
      model([helper.make_node("Identity", ["w"], ["y"])], [], [vi("y", [1], TensorProto.STRING)],
            [t]))
m = relu_model()
sp = m.graph.sparse_initializer.add()
sp.values.CopyFrom(helper.make_tensor("s", F, [1], [1.0]))
write(case("sparse_initializer", "load", "sparse initializers are not supported"), m)

# --- model level ---
write(case("opset_too_new", "load", "opset 99 is newer than"),
      model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2])], [vi("y", [2])], opset=99))
m = relu_model()
f = m.functions.add()
f.name = "f"
f.domain = "custom"
write(case("model_local_function", "load", "model-local functions are not supported"), m)

# --- legacy opsets ---
write(case("legacy_unsqueeze_without_axes", "load", "attribute 'axes' is required"),
      model([helper.make_node("Unsqueeze", ["x"], ["y"])], [vi("x", [2])], [vi("y", None)],
            opset=11))
write(case("legacy_cast_unknown_type_name", "load", "unknown type name 'QUATERNION'"),
      model([helper.make_node("Cast", ["x"], ["y"], to="QUATERNION")], [vi("x", [2])],
            [vi("y", None)], opset=1))
write(case("legacy_broadcast_axis_mismatch", "load", "does not fit"),
      model([helper.make_node("Add", ["a", "b"], ["y"], broadcast=1, axis=1)],
            [vi("a", [2, 3]), vi("b", [3, 2])], [vi("y", None)], opset=6))

# --- external data ---
d = case("external_dotdot", "load", "escapes the model's folder")
write(d, add_model(external_tensor("../outside.bin")))
d = case("external_absolute", "load", "is absolute")
write(d, add_model(external_tensor("/etc/hostname")))
d = case("external_symlink_outside", "load", "escapes the model's folder")
with open(os.path.join(OUT, "outside_target.bin"), "wb") as f:
    f.write(b"\0" * 16)
link = os.path.join(d, "weights.bin")
if os.path.lexists(link):
    os.remove(link)
os.symlink(os.path.join(OUT, "outside_target.bin"), link)
write(d, add_model(external_tensor("weights.bin")))
d = case("external_past_end", "load", "is past the end")
with open(os.path.join(d, "weights.bin"), "wb") as f:
    f.write(b"\0" * 16)
write(d, add_model(external_tensor("weights.bin", offset=8)))
d = case("external_length_mismatch", "load", "external data length 8 but the shape needs 16")
with open(os.path.join(d, "weights.bin"), "wb") as f:
    f.write(b"\0" * 16)
write(d, add_model(external_tensor("weights.bin", length=8)))
d = case("external_bad_offset", "load", "external data offset 'x1' is not a non-negative")
with open(os.path.join(d, "weights.bin"), "wb") as f:
    f.write(b"\0" * 16)
write(d, add_model(external_tensor("weights.bin", offset="x1")))
d = case("external_missing_file", "load", "external data file 'absent.bin' not found")
write(d, add_model(external_tensor("absent.bin")))
d = case("external_directory", "load", "not found")
os.makedirs(os.path.join(d, "subdir"), exist_ok=True)
write(d, add_model(external_tensor("subdir")))

with open(os.path.join(OUT, "MANIFEST"), "w") as f:
    for row in MANIFEST:
        f.write("\t".join(row) + "\n")
print(len(MANIFEST), "cases written to", OUT)
