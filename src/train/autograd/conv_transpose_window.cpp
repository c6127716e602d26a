#include "train/autograd/conv_transpose_window.hpp"

#include "train/autograd/grad_util.hpp"

namespace nnaccel::grad {

nn::Window conv_transpose_window(const Node& node, const Shape& x, const Shape& w) {
  if (x.size() < 3 || w.size() != x.size())
    rule_fail(node, "input {} and weight {} do not match", shape_str(x), shape_str(w));
  const std::vector<int64_t> in(x.begin() + 2, x.end());
  const std::vector<int64_t> kernel = nn::kernel_from_weight(node, {w.begin() + 2, w.end()});
  const size_t r = in.size();
  nn::Window win = nn::read_window_attrs(node, r);
  const nn::AutoPad ap = nn::parse_auto_pad(node);
  std::vector<int64_t> out_pad = node.attr_ints("output_padding");
  if (out_pad.empty()) out_pad.assign(r, 0);
  std::vector<int64_t> out_shape = node.attr_ints("output_shape");
  if (out_shape.size() == r + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (out_pad.size() != r || (!out_shape.empty() && out_shape.size() != r))
    rule_fail(node, "output_padding or output_shape do not have {} values", r);
  std::vector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    if (ap == nn::AutoPad::valid) win.pads_begin[i] = win.pads_end[i] = 0;
    const int64_t full =
        win.strides[i] * (in[i] - 1) + out_pad[i] + (kernel[i] - 1) * win.dilations[i] + 1;
    if (!out_shape.empty() || ap == nn::AutoPad::same_upper || ap == nn::AutoPad::same_lower) {
      out[i] = !out_shape.empty() ? out_shape[i] : in[i] * win.strides[i];
      const int64_t total = full - out[i];
      win.pads_begin[i] =
          ap == nn::AutoPad::same_upper ? nn::floor_div(total, 2) : total - nn::floor_div(total, 2);
      win.pads_end[i] = total - win.pads_begin[i];
    } else {
      out[i] = full - win.pads_begin[i] - win.pads_end[i];
    }
    if (out[i] < 1) rule_fail(node, "the output would be empty along spatial axis {}", i);
  }
  win.in = out;
  win.out = in;
  win.kernel = kernel;
  return win;
}

}  // namespace nnaccel::grad
