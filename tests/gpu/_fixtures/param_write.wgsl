// Test fixture for tests/gpu/runtime_test.ts: one invocation writes Y[P.x] = P.y, so each
// dispatch shows which parameters it ran with.
// Bindings: 0 params (index in x, value in y), 1 Y. Dispatch 1 workgroup.

@group(0) @binding(0) var<uniform> P: vec4u;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) { Y[P.x] = f32(P.y); }
}
