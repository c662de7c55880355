// Fragment of conv2d.wgsl and conv_transpose2d.wgsl, which include it (lib/gpu/wgsl.ts):
// the packed weight's bindings, Wp0 at 2 and, for a weight read from NU > 1 uniform chunks,
// Wp1..Wp4 at 6–9 (lib/gpu/kernels.ts, weightBinding). Defines UW, NU2..NU5.
/*if UW*/
@group(0) @binding(2) var<uniform> Wp0: array<vec4f, 4096>;
/*else*/
@group(0) @binding(2) var<storage, read> Wp0: array<vec4f>;
/*endif*/
/*if NU2*/
@group(0) @binding(6) var<uniform> Wp1: array<vec4f, 4096>;
/*endif*/
/*if NU3*/
@group(0) @binding(7) var<uniform> Wp2: array<vec4f, 4096>;
/*endif*/
/*if NU4*/
@group(0) @binding(8) var<uniform> Wp3: array<vec4f, 4096>;
/*endif*/
/*if NU5*/
@group(0) @binding(9) var<uniform> Wp4: array<vec4f, 4096>;
/*endif*/
