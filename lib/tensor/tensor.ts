/**
 * f32 tensors on WebGPU or the CPU, with reverse-mode autograd.
 *
 * An op computes its output and attaches a {@linkcode Node} whose `backward`
 * closure sits beside it (see ops.ts). {@linkcode Tensor.backward} sorts the
 * graph topologically and walks it in reverse, accumulating gradients.
 *
 * Memory: a tensor owns a reference to its storage (a pooled GPU buffer or a
 * Float32Array); views (reshape) share it with a reference count. Tensors
 * created inside {@linkcode tidy} are disposed when it returns, except those it
 * returns or marks with {@linkcode Tensor.keep}.
 *
 * @module
 */
import { DeviceLostError, lostText } from "../gpu/device.ts";
import type { BufRef } from "../gpu/runtime.ts";
import type { InputAct } from "./backend.ts";

/** Where a tensor lives. */
export type Device = "webgpu" | "cpu";

/** What GPU storage knows of the device it lives on (the GPU runtime). */
export interface DeviceLife {
  /** How the device was lost, or null while it works. */
  readonly lost: GPUDeviceLostInfo | null;
}

/** Shared storage of a tensor and its views. */
export class Storage {
  /** References held (the tensor and its views); the storage is released at 0. */
  refs = 1;
  /**
   * Wraps a GPU slice or CPU data.
   *
   * @param gpu GPU slice, or null on the CPU.
   * @param cpu CPU data, or null on the GPU.
   * @param release Called when the last reference goes (returns a pooled buffer).
   * @param life The runtime of the GPU slice's device, so that a tensor outliving that device
   *   says so when used instead of handing a dead buffer to the next device.
   */
  constructor(
    readonly gpu: BufRef | null,
    readonly cpu: Float32Array | null,
    readonly release: (() => void) | null,
    readonly life: DeviceLife | null = null,
  ) {}
}

/** A recorded op: its inputs and the closure that maps the output gradient to theirs. */
export interface Node {
  /** Op name. */
  name: string;
  /** The op's inputs. */
  inputs: Tensor[];
  /**
   * The leaky ReLU fused at the end of this op (slope ≠ 1) and the bias added before it (null
   * for none), whose backward an op that consumes the output may do for it (see
   * {@linkcode Node.foldsInputAct}).
   */
  act?: { slope: number; bias: Tensor | null };
  /** Whether `backward` honours {@linkcode BackwardFold.inputAct} (for input 0). */
  foldsInputAct?: boolean;
  /**
   * Returns one gradient per input (null where not needed); each must be a fresh tensor,
   * except that where `into[k]` is given (a parameter's gradient slot, see
   * {@linkcode Tensor.backward}) the op may write input k's gradient there and return
   * `into[k]` itself.
   */
  backward(
    gy: Tensor,
    into?: readonly (Tensor | null)[],
    fold?: BackwardFold,
  ): (Tensor | null)[];
}

/**
 * A leaky ReLU's backward done by the op after it ({@linkcode Tensor.backward}): layer A ends
 * in act(z + b) and its output feeds only op B, whose input-gradient kernel can apply the
 * mask (and sum A's bias gradient) as it writes the gradient, so A's own backward starts from
 * dL/dz and skips that pass.
 */
export interface BackwardFold {
  /** To B: return input 0's gradient before A's activation, as {@linkcode InputAct} says. */
  inputAct?: InputAct;
  /**
   * To A: gy is already dL/dz; A's bias gradient was written too unless `biasLeft` (A must
   * then sum it from gy).
   */
  folded?: { biasLeft: boolean };
}

let gradEnabled = true;
const scopes: Set<Tensor>[] = [];

/** @returns whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Refuses the promise (any thenable) of an async callback: a scope that ends when the callback
 * returns would end at its first `await`, and what runs after would escape it.
 */
function refuseThenable(v: unknown, what: string): void {
  if (
    v !== null && (typeof v === "object" || typeof v === "function") &&
    typeof (v as { then?: unknown }).then === "function"
  ) {
    // The callback goes on after its first await, against tensors the scope is about to
    // dispose: its rejection is handled here, or it would end the process after the caller
    // caught this error.
    (v as PromiseLike<unknown>).then(undefined, () => {});
    throw new TypeError(
      `Cannot run ${what}: the function returned a promise: expected a synchronous function ` +
        `(what runs after an await would escape ${what}); await outside it instead`,
    );
  }
}

/**
 * Runs `fn` without recording the autograd graph (inference, eval mode).
 *
 * @param fn Synchronous function.
 * @returns its result.
 * @throws {TypeError} when `fn` returns a promise (an async function).
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    const result = fn();
    refuseThenable(result, "noGrad");
    return result;
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Runs `fn` in a disposal scope: every tensor created inside is disposed on
 * return, except the tensors in its result (a tensor, an array or an object of
 * tensors) and those marked with {@linkcode Tensor.keep}, which move to the
 * enclosing scope. When `fn` throws, they are disposed too (kept ones excepted). The gradient
 * that `backward()` gives a leaf (a tensor with `requiresGrad` made by no op) lives with the
 * leaf: one made outside the scope keeps it after the scope ends.
 *
 * @param fn Synchronous function.
 * @returns its result.
 * @throws {TypeError} when `fn` returns a promise (an async function).
 * @example
 * ```ts
 * import { Tensor, tidy } from "./mod.ts";
 * const y = tidy(() => {
 *   const a = Tensor.fromArray(new Float32Array([1, 2]), [2], "cpu");
 *   return a.reshape([2, 1]);
 * });
 * console.log(y.shape); // [2, 1]
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  // On a throw (a shape error, a batch too large to bind) nothing is returned: the scope's
  // tensors are let go all the same, or their buffers would be stranded.
  const keep = new Set<Tensor>();
  try {
    const result = fn();
    refuseThenable(result, "tidy");
    collect(result, keep);
    return result;
  } finally {
    scopes.pop();
    const parent = scopes[scopes.length - 1];
    const survives = (t: Tensor) => keep.has(t) || t.kept;
    // A leaf that leaves the scope takes its gradient with it (see adoptGrad).
    for (const t of scope) if (!t.node && t.grad && survives(t)) keep.add(t.grad);
    for (const t of scope) {
      if (survives(t)) parent?.add(t);
      else t.dispose();
    }
  }
}

/** Refuses a shape that is not a list of dimensions: each an integer >= 0. */
function checkShape(shape: readonly number[]): void {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(
      `Cannot create tensor: shape must be a list of integers >= 0: found ${
        Array.isArray(shape) ? `[${shape}]` : String(shape)
      }`,
    );
  }
}

function collect(v: unknown, out: Set<Tensor>): void {
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) { for (const x of v) collect(x, out); }
  else if (v && typeof v === "object" && !(ArrayBuffer.isView(v))) {
    for (const x of Object.values(v)) collect(x, out);
  }
}

/** Backend hooks the tensor class needs (set by backends.ts, avoiding an import cycle). */
export interface TensorHooks {
  read(t: Tensor): Promise<Float32Array>;
  fromArray(data: Float32Array, shape: readonly number[], device: Device): Tensor;
  fill(shape: readonly number[], value: number, device: Device): Tensor;
  /** into = g when overwrite, else into += g (into is persistent storage). */
  accumulate(into: Tensor, g: Tensor, overwrite: boolean): void;
  add(a: Tensor, b: Tensor): Tensor;
}

let hooks: TensorHooks | null = null;

/** Installs the backend hooks; called once by backends.ts. */
export function setTensorHooks(h: TensorHooks): void {
  hooks = h;
}

function H(): TensorHooks {
  if (!hooks) {
    throw new Error("Cannot use tensors: import lib/tensor/mod.ts, which installs the backends");
  }
  return hooks;
}

/** A dense f32 tensor, row-major. */
export class Tensor {
  /** Dimensions. */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** Where the data lives. */
  readonly device: Device;
  /** The data, shared with views. */
  readonly storage: Storage;
  /** Whether gradients flow to this tensor. */
  requiresGrad = false;
  /** The accumulated gradient (leaves only), or null. */
  grad: Tensor | null = null;
  /** The op that made this tensor, or null for a leaf. */
  node: Node | null = null;
  /** Name, for parameters (PyTorch state_dict style). */
  name = "";
  /**
   * For parameters: the gradient lives in persistent storage (`grad`), and this says
   * whether it holds a value since the last zeroGrad (else the first gradient is copied in).
   */
  gradSlot: { defined: boolean } | null = null;
  #disposed = false;
  #kept = false;

  /**
   * Wraps storage; prefer the factories ({@linkcode Tensor.fromArray}, ops).
   *
   * @param storage Storage (its reference is taken over).
   * @param shape Shape.
   * @param device Device.
   */
  constructor(storage: Storage, shape: readonly number[], device: Device) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = shape.reduce((a, b) => a * b, 1);
    this.device = device;
    scopes[scopes.length - 1]?.add(this);
  }

  /**
   * A tensor holding a copy of `data`.
   *
   * @param data Values, row-major.
   * @param shape Shape; its product must equal data.length.
   * @param device "webgpu" or "cpu".
   * @returns the tensor.
   * @throws {TypeError} when the shape is not a list of integers >= 0, or holds another number
   *   of values.
   */
  static fromArray(
    data: Float32Array | number[],
    shape: readonly number[],
    device: Device,
  ): Tensor {
    checkShape(shape);
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== arr.length) {
      throw new TypeError(
        `Cannot create tensor: shape [${shape}] holds ${n} values: found ${arr.length}`,
      );
    }
    return H().fromArray(arr, shape, device);
  }

  /**
   * A tensor filled with one value.
   *
   * @param shape Shape.
   * @param value Fill value.
   * @param device Device.
   * @returns the tensor.
   * @throws {TypeError} when the shape is not a list of integers >= 0.
   */
  static full(shape: readonly number[], value: number, device: Device): Tensor {
    checkShape(shape);
    return H().fill(shape, value, device);
  }

  /**
   * The GPU slice (throws on the CPU, and once the tensor's device is lost: its values are
   * gone with it).
   */
  get ref(): BufRef {
    this.#alive();
    const g = this.storage.gpu;
    if (!g) throw new Error("Cannot get GPU buffer: tensor is on the CPU");
    const lost = this.storage.life?.lost;
    if (lost) {
      throw new DeviceLostError(
        `Cannot use tensor ${this.name || `[${this.shape}]`}: the WebGPU device it was made on ` +
          `was lost (${lostText(lost)}), and its values with it: recreate the tensor (after ` +
          'initBackend("webgpu"), which requests a new device)',
        lost,
      );
    }
    return { buffer: g.buffer, offset: g.offset, size: this.size * 4 };
  }

  /** The CPU values (throws on the GPU). */
  get array(): Float32Array {
    this.#alive();
    const c = this.storage.cpu;
    if (!c) throw new Error("Cannot get CPU array: tensor is on the GPU: use await data()");
    return c.length === this.size ? c : c.subarray(0, this.size);
  }

  /** Whether {@linkcode Tensor.dispose} has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Whether the tensor survives its {@linkcode tidy} scope. */
  get kept(): boolean {
    return this.#kept;
  }

  /**
   * Keeps the tensor alive past the enclosing {@linkcode tidy}.
   *
   * @returns this tensor.
   */
  keep(): this {
    this.#kept = true;
    return this;
  }

  #alive(): void {
    if (this.#disposed) {
      throw new Error(`Cannot use tensor ${this.name || `[${this.shape}]`}: it was disposed`);
    }
  }

  /** Releases this tensor's reference to its storage (idempotent). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (--this.storage.refs === 0) this.storage.release?.();
    for (const s of scopes) s.delete(this);
  }

  /**
   * A view with another shape of the same size; gradients flow through it.
   *
   * @param shape New shape; one entry may be -1.
   * @returns the view.
   */
  reshape(shape: readonly number[]): Tensor {
    this.#alive();
    const s = [...shape];
    const neg = s.indexOf(-1);
    if (neg >= 0) s[neg] = this.size / s.reduce((a, b) => (b === -1 ? a : a * b), 1);
    const n = s.reduce((a, b) => a * b, 1);
    if (n !== this.size || !s.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new TypeError(
        `Cannot reshape [${this.shape}]: expected ${this.size} values: shape [${shape}] holds ${n}`,
      );
    }
    this.storage.refs++;
    const v = new Tensor(this.storage, s, this.device);
    if (gradEnabled && this.requiresGrad) {
      const from = this.shape;
      v.requiresGrad = true;
      v.node = { name: "reshape", inputs: [this], backward: (gy) => [gy.reshape(from)] };
    }
    return v;
  }

  /** Values as a Float32Array (one read-back on the GPU). */
  data(): Promise<Float32Array> {
    this.#alive();
    return H().read(this);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new TypeError(`Cannot take item: tensor has ${this.size} values: expected 1`);
    }
    return (await this.data())[0];
  }

  /**
   * Back-propagates from this scalar: gradients accumulate into the `grad` of
   * every leaf that requires it.
   *
   * @param seed Gradient of the output, default 1.
   */
  backward(seed?: Tensor): void {
    this.#alive();
    if (!this.requiresGrad) throw new Error("Cannot run backward: tensor does not require grad");
    if (!seed && this.size !== 1) {
      throw new TypeError(
        `Cannot run backward: output has ${this.size} values: pass a seed gradient`,
      );
    }
    const order: Tensor[] = [];
    const seen = new Set<Tensor>();
    // Uses of each tensor as an op's input within this graph.
    const uses = new Map<Tensor, number>();
    const visit = (t: Tensor) => {
      // Iterative DFS keeps deep graphs off the call stack.
      const stack: [Tensor, number][] = [[t, 0]];
      seen.add(t);
      while (stack.length) {
        const top = stack[stack.length - 1];
        const ins = top[0].node?.inputs ?? [];
        if (top[1] < ins.length) {
          const c = ins[top[1]++];
          if (c.requiresGrad) uses.set(c, (uses.get(c) ?? 0) + 1);
          if (c.requiresGrad && !seen.has(c)) {
            seen.add(c);
            stack.push([c, 0]);
          }
        } else {
          order.push(top[0]);
          stack.pop();
        }
      }
    };
    visit(this);
    const h = H();
    const grads = new Map<Tensor, Tensor>();
    // A parameter used once whose slot holds nothing yet may take its gradient straight into
    // the slot (no fresh tensor, no copy): the weight-gradient kernels write there.
    const slotOf = (inp: Tensor): Tensor | null =>
      !inp.node && inp.gradSlot && !inp.gradSlot.defined && inp.grad && uses.get(inp) === 1
        ? inp.grad
        : null;
    // Ops whose leaky ReLU backward (and bias gradient, unless true) the op after did.
    const folded = new Map<Tensor, boolean>();
    grads.set(this, seed ? seed.reshape(this.shape) : h.fill(this.shape, 1, this.device));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        accumulateLeaf(t, g, h);
        continue;
      }
      const into = t.node.inputs.map(slotOf);
      const fold: BackwardFold = {};
      const left = folded.get(t);
      if (left !== undefined) fold.folded = { biasLeft: left };
      // This op's input 0 comes from an op with a fused leaky ReLU and feeds nothing else:
      // this op's input gradient does that ReLU's backward, and its bias gradient into the
      // bias's slot when it has a free one (BackwardFold).
      const x0 = t.node.inputs[0];
      const act = x0.node?.act;
      const b = act?.bias?.requiresGrad ? act.bias : null;
      if (t.node.foldsInputAct && act && x0.requiresGrad && uses.get(x0) === 1) {
        const gb = b && slotOf(b);
        fold.inputAct = { y: x0, slope: act.slope, gb };
        folded.set(x0, !!b && !gb);
      }
      const gins = t.node.backward(
        g,
        into.some((d) => d) ? into : undefined,
        fold.folded || fold.inputAct ? fold : undefined,
      );
      if (fold.inputAct?.gb) b!.gradSlot!.defined = true;
      g.dispose();
      t.node.inputs.forEach((inp, k) => {
        const gi = gins[k];
        if (!gi) return;
        if (gi === into[k]) {
          inp.gradSlot!.defined = true;
          return;
        }
        if (!inp.requiresGrad) {
          gi.dispose();
          return;
        }
        const prev = grads.get(inp);
        if (prev) {
          grads.set(inp, h.add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else {
          grads.set(inp, gi);
        }
      });
    }
  }
}

function accumulateLeaf(t: Tensor, g: Tensor, h: TensorHooks): void {
  if (t.gradSlot && t.grad) {
    h.accumulate(t.grad, g, !t.gradSlot.defined);
    t.gradSlot.defined = true;
    g.dispose();
  } else if (t.grad) {
    const s = h.add(t.grad, g);
    t.grad.dispose();
    g.dispose();
    t.grad = adoptGrad(t, s);
  } else {
    t.grad = adoptGrad(t, g);
  }
}

/**
 * Moves a leaf's new gradient, made in whatever {@linkcode tidy} scope `backward()` ran in,
 * into the leaf's own scope: the innermost that holds the leaf, or none for a leaf made
 * outside every scope. Else a `backward()` inside `tidy` would dispose the gradient of a leaf
 * that outlives it (and the next accumulation would use the disposed tensor).
 */
function adoptGrad(leaf: Tensor, g: Tensor): Tensor {
  for (const s of scopes) s.delete(g);
  for (let i = scopes.length - 1; i >= 0; i--) {
    if (scopes[i].has(leaf)) {
      scopes[i].add(g);
      break;
    }
  }
  return g;
}
