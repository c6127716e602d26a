#!/bin/bash
# Copies a few small ONNX conformance models (different ops, subgraphs, legacy opsets) into a
# seed corpus folder for load_model_fuzzer. Usage: fuzz/make_seed_corpus.sh OUT_DIR
set -eu
out=${1:?usage: make_seed_corpus.sh OUT_DIR}
data=/usr/share/libonnx-testdata/data
mkdir -p "$out"
for c in node/test_add_bcast node/test_if node/test_loop11 node/test_scan9_sum node/test_scan_sum \
  node/test_conv_with_strides_padding node/test_reshape_reordered_all_dims node/test_slice \
  node/test_gather_0 node/test_resize_upsample_scales_linear node/test_upsample_nearest \
  node/test_softmax_axis_1 node/test_lstm_defaults node/test_constantofshape_int_zeros \
  node/test_expand_dim_changed node/test_batchnorm_epsilon node/test_topk node/test_cast_FLOAT_to_DOUBLE \
  node/test_range_float_type_positive_delta_expanded node/test_split_variable_parts_1d \
  node/test_unsqueeze_axis_0 node/test_clip_default_inbounds node/test_pad \
  node/test_dropout_default_old node/test_scatter_with_axis node/test_maxpool_2d_pads \
  pytorch-operator/test_operator_add_broadcast pytorch-operator/test_operator_index \
  pytorch-converted/test_PReLU_2d_multiparam pytorch-converted/test_BatchNorm2d_eval \
  pytorch-converted/test_Softmin pytorch-converted/test_ConstantPad2d simple/test_expand_shape_model1; do
  f="$data/$c/model.onnx"
  if [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 65536 ]; then
    cp "$f" "$out/$(echo "$c" | tr / _).onnx"
  fi
done
ls "$out" | wc -l
