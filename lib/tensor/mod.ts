/**
 * Tensors, autograd and differentiable ops, with both backends installed.
 *
 * @example
 * ```ts
 * import { initBackend, ops, Tensor } from "./mod.ts";
 * await initBackend("cpu");
 * const x = Tensor.fromArray([1, -2, 3], [1, 3], "cpu");
 * x.requiresGrad = true;
 * const y = ops.sum(ops.leakyRelu(x, 0.1));
 * y.backward();
 * console.log(await x.grad!.data()); // Float32Array [1, 0.1, 1]
 * ```
 *
 * @module
 */
export { backendNamed, backendOf, gpuRuntime, gpuTuning, initBackend } from "./backends.ts";
export type { AdamHyper, Backend, ConvOpts, SgdHyper } from "./backend.ts";
export {
  type Device,
  type DeviceLife,
  isGradEnabled,
  type Node,
  noGrad,
  Storage,
  Tensor,
  tidy,
} from "./tensor.ts";
export * as ops from "./ops.ts";
