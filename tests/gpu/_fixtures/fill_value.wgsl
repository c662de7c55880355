// Test fixture for tests/gpu/runtime_test.ts: fills Y[0 .. P.x) with {{VALUE}}, a define
// the test substitutes (a valid literal, an invalid token, or nothing).
// Bindings: 0 params (count in x), 1 Y. Dispatch ceil(count / 64) workgroups, linear grid.

@group(0) @binding(0) var<uniform> P: vec4u;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.x) { return; }
  Y[i] = {{VALUE}};
}
