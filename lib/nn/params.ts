/**
 * Parameters of a model in one contiguous arena (and their gradients in a
 * second), so that an optimizer step is one dispatch and zeroing the gradients
 * one clear. Each parameter is a view at a 256-byte-aligned offset (WebGPU's
 * minimum storage-binding alignment), named like a PyTorch state_dict.
 *
 * @module
 */
import { backendNamed } from "../tensor/backends.ts";
import { type Device, Storage, Tensor } from "../tensor/tensor.ts";
import type { BufRef } from "../gpu/runtime.ts";

/** A parameter before it is placed: name, shape and initial values. */
export interface ParamSpec {
  /** PyTorch-style name, e.g. `encoder.encoder.0.weight`. */
  name: string;
  /** Shape of the parameter. */
  shape: number[];
  /** Initial values, row-major. */
  init: Float32Array;
}

const ALIGN = 64; // floats = 256 bytes

/** All parameters of a model, with their gradients. */
export class ParameterSet {
  /** The backend the parameters live on. */
  readonly device: Device;
  /** Every parameter value, flat (padding between parameters is zero). */
  readonly values: Tensor;
  /** Every gradient, flat, same layout. */
  readonly grads: Tensor;
  /** Parameters by name, in creation order. */
  readonly byName: Map<string, Tensor> = new Map();
  /** Offsets (in floats) by name. */
  readonly offsets: Map<string, number> = new Map();
  /** Number of real parameter values (no padding). */
  readonly count: number;

  /**
   * Places parameters and uploads their initial values.
   *
   * @param specs Parameters, in order.
   * @param device Where they live.
   */
  constructor(specs: ParamSpec[], device: Device) {
    this.device = device;
    let off = 0;
    const offs: number[] = [];
    for (const s of specs) {
      if (this.offsets.has(s.name)) {
        throw new TypeError(`Cannot create parameters: duplicate name ${s.name}`);
      }
      offs.push(off);
      this.offsets.set(s.name, off);
      off += Math.ceil(s.init.length / ALIGN) * ALIGN;
    }
    const total = Math.max(ALIGN, off);
    const flat = new Float32Array(total);
    specs.forEach((s, i) => flat.set(s.init, offs[i]));
    const b = backendNamed(device);
    this.values = b.fromArray(flat, [total]).keep();
    this.grads = b.fill([total], 0).keep();
    this.count = specs.reduce((a, s) => a + s.init.length, 0);
    specs.forEach((s, i) => {
      const p = view(this.values, offs[i], s.shape);
      p.name = s.name;
      p.requiresGrad = true;
      p.grad = view(this.grads, offs[i], s.shape);
      p.gradSlot = { defined: false };
      this.byName.set(s.name, p);
    });
  }

  /** Parameters in creation order. */
  get list(): Tensor[] {
    return [...this.byName.values()];
  }

  /** Zeroes every gradient (one clear) and marks them undefined. */
  zeroGrad(): void {
    backendNamed(this.device).zeroInto(this.grads);
    for (const p of this.byName.values()) p.gradSlot!.defined = false;
  }

  /**
   * Reads every parameter back.
   *
   * @returns name → { shape, data } in creation order.
   */
  async stateDict(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const all = await this.values.data();
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, p] of this.byName) {
      const o = this.offsets.get(name)!;
      out.set(name, { shape: [...p.shape], data: all.slice(o, o + p.size) });
    }
    return out;
  }

  /**
   * Loads values by name; every parameter must be present with its shape.
   *
   * @param dict name → { shape, data }.
   * @param source Where the values came from, for error messages.
   */
  load(dict: Map<string, { shape: number[]; data: Float32Array }>, source = "state dict"): void {
    const flat = new Float32Array(this.values.size);
    for (const [name, p] of this.byName) {
      const e = dict.get(name);
      if (!e) throw new TypeError(`Cannot load ${source}: parameter ${name} is missing`);
      if (e.shape.length !== p.shape.length || e.shape.some((d, i) => d !== p.shape[i])) {
        throw new TypeError(
          `Cannot load ${source}: ${name} must be [${p.shape}]: found [${e.shape}]`,
        );
      }
      flat.set(e.data, this.offsets.get(name)!);
    }
    const b = backendNamed(this.device);
    const t = b.fromArray(flat, [flat.length]);
    b.copyInto(t, this.values);
    t.dispose();
  }

  /** Frees the arenas. */
  dispose(): void {
    for (const p of this.byName.values()) {
      p.grad?.dispose();
      p.dispose();
    }
    this.values.dispose();
    this.grads.dispose();
  }
}

/** A persistent view of `size(shape)` floats at `offset` into a flat tensor. */
function view(flat: Tensor, offset: number, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  let st: Storage;
  if (flat.device === "webgpu") {
    const r: BufRef = flat.storage.gpu!;
    st = new Storage(
      { buffer: r.buffer, offset: r.offset + offset * 4, size: n * 4 },
      null,
      null,
      flat.storage.life,
    );
  } else {
    st = new Storage(null, flat.storage.cpu!.subarray(offset, offset + n), null);
  }
  return new Tensor(st, shape, flat.device).keep();
}
