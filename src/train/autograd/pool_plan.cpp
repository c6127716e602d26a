#include "train/autograd/pool_plan.hpp"

#include "train/autograd/grad_util.hpp"

namespace nnaccel::grad {

PoolPlan make_pool_plan(const Node& node, const Shape& x) {
  if (x.size() < 3) rule_fail(node, "input has rank {}, expected [N, C, spatial...]", x.size());
  const std::vector<int64_t> in(x.begin() + 2, x.end());
  const std::vector<int64_t> kernel = nn::required_kernel_shape(node, in.size());
  const nn::Window win = nn::resolve_window(node, in, kernel, node.attr_int("ceil_mode", 0) == 1);
  const bool include_pad = node.attr_int("count_include_pad", 0) != 0;
  PoolPlan p;
  p.planes = x[0] * x[1];
  p.in_size = nn::product(win.in);
  p.out_size = nn::product(win.out);
  p.out_shape = {x[0], x[1]};
  p.out_shape.insert(p.out_shape.end(), win.out.begin(), win.out.end());
  p.begin.reserve(static_cast<size_t>(p.out_size) + 1);
  p.divisor.reserve(static_cast<size_t>(p.out_size));
  nn::TapBuilder builder(win);
  std::vector<int64_t> pos(win.rank(), 0);
  for (int64_t o = 0; o < p.out_size; ++o, nn::next_index(pos, win.out)) {
    double padded = 0;
    const std::vector<nn::Tap>& window = builder.build(pos, &padded);
    p.begin.push_back(static_cast<int64_t>(p.taps.size()));
    for (const nn::Tap& t : window) p.taps.push_back(t.x);
    p.divisor.push_back(include_pad ? padded : static_cast<double>(window.size()));
  }
  p.begin.push_back(static_cast<int64_t>(p.taps.size()));
  return p;
}

}  // namespace nnaccel::grad
