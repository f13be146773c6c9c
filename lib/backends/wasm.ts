// The WebAssembly modules built from the same C++ sources (wasm/dist/*.wasm), loaded without
// emscripten's JS glue: they are standalone, with two trivial imports.
import { gatesOf, unsupportedPrecision, type Backend, type BackendName, type BackwardBuffers, type CanonicalWeights, type Conv1dKernel, type Conv1dKernelConfig, type ForwardBuffers, type RnnKernel, type RnnKernelConfig, type StreamKernel } from '../backend.js';
import { LstmError } from '../errors.js';
import { CELL, checkStatus, ISA, PRECISION } from './status.js';

/**
 * The most memory a module's heap can grow to: 2 GiB (CMakeLists.txt, -sMAXIMUM_MEMORY=2GB; with
 * 4 GiB, emscripten 3.1.6's allocator gave out wrapped pointers near the top). Pointers are read
 * unsigned (`>>> 0`) all the same, so a module built with more works.
 */
export const WASM_HEAP_LIMIT = 2 ** 31;
/** The largest block asked of the allocator (native/rnn_runtime.cc keeps its own below it too). */
export const WASM_MAX_BLOCK = 2 ** 31 - 65536;

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** The error of a heap that cannot hold what a layer or a call needs. */
function outOfMemory(what: string, bytes: number): LstmError {
  return new LstmError('ERR_LSTM_RESOURCES', `${what} needs ${MiB(bytes)} of the WebAssembly heap, more than it can give (it grows to ${MiB(WASM_HEAP_LIMIT)} at most, shared by every layer of the backend): ${what === 'this layer' ? "use int8 weights, dispose layers no longer needed, or backend 'native'" : "use a smaller batch or sequence, dispose layers no longer needed, or backend 'native'"}`);
}

/** The C functions each module exports (native/rnn_runtime.h); pointers are byte offsets. */
interface RnnWasmExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  malloc(bytes: number): number;
  free(ptr: number): void;
  rnn_create(config: number, kernel: number, recurrent: number, bias: number, recurrentBias: number, peepholes: number, out: number): number;
  rnn_destroy(layer: number): void;
  rnn_forward(layer: number, batch: number, steps: number, flags: number, input: number, h: number, c: number, output: number, mask: number, lengths: number, trace: number): number;
  rnn_backward(layer: number, kernel: number, recurrent: number, recurrentBias: number, peepholes: number, batch: number, steps: number, flags: number, mask: number, lengths: number, trace: number, gradOutput: number, gradInput: number): number;
  rnn_layer_isa(layer: number): number;
  /** Absent from modules built before the convolution (a module given to configureWasm). */
  rnn_conv1d_create?(config: number, kernel: number, bias: number, out: number): number;
  rnn_conv1d_destroy?(conv: number): void;
  rnn_conv1d_forward?(conv: number, batch: number, steps: number, padLeft: number, padRight: number, input: number, output: number): number;
  rnn_conv1d_isa?(conv: number): number;
}

/** The backends built from the WebAssembly modules, one module each. */
export type WasmBackendName = Extract<BackendName, 'wasm-relaxed' | 'wasm-simd' | 'wasm'>;

/** A module's bytes or the compiled module, with a name for messages (the URL it came from). */
export type WasmSource = () => Promise<{ name: string; bytes: BufferSource } | { name: string; module: WebAssembly.Module }>;

const REQUIRED_EXPORTS = ['memory', '_initialize', 'malloc', 'free', 'rnn_create', 'rnn_destroy', 'rnn_forward', 'rnn_backward', 'rnn_layer_isa'] as const;

/** Compiles the bytes, or says what they are when they are not a WebAssembly module. */
async function compile(bytes: BufferSource, name: string): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    const view = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
    const head = new TextDecoder().decode(view.subarray(0, 64)).trimStart().toLowerCase();
    const what = head.startsWith('<!doctype') || head.startsWith('<html') ? ': it starts like an HTML page (a server answering with its fallback page?)' : '';
    throw new Error(`${name} is not a WebAssembly module${what} (${(e as Error).message})`);
  }
}

/** The wasm32 heap of one instance, with typed views refreshed after memory growth. */
class Heap {
  private buffer: ArrayBuffer | null = null;
  private f32!: Float32Array;
  private u8!: Uint8Array;
  private i32!: Int32Array;

  constructor(readonly fns: RnnWasmExports) {}

  private views() {
    if (this.buffer !== this.fns.memory.buffer) {
      this.buffer = this.fns.memory.buffer;
      this.f32 = new Float32Array(this.buffer);
      this.u8 = new Uint8Array(this.buffer);
      this.i32 = new Int32Array(this.buffer);
    }
  }
  /** A block of `bytes`, or ERR_LSTM_RESOURCES naming `what` needed it. */
  malloc(bytes: number, what: string): number {
    const ptr = bytes <= WASM_MAX_BLOCK ? this.fns.malloc(Math.max(bytes, 4)) >>> 0 : 0;
    if (!ptr) throw outOfMemory(what, bytes);
    return ptr;
  }
  free(ptr: number): void {
    if (ptr) this.fns.free(ptr);
  }
  writeF32(ptr: number, data: Float32Array): void {
    this.views();
    this.f32.set(data, ptr >>> 2);
  }
  writeBytes(ptr: number, data: Uint8Array | Int32Array): void {
    this.views();
    if (data instanceof Int32Array) this.i32.set(data, ptr >>> 2);
    else this.u8.set(data, ptr);
  }
  readU32(ptr: number): number {
    this.views();
    return this.i32[ptr >>> 2]! >>> 0;
  }
  f32View(ptr: number, length: number): Float32Array {
    this.views();
    return this.f32.subarray(ptr >>> 2, (ptr >>> 2) + length);
  }
  readF32(ptr: number, into: Float32Array): void {
    into.set(this.f32View(ptr, into.length));
  }
  string(ptr: number): string {
    this.views();
    ptr >>>= 0;
    let end = ptr;
    while (this.u8[end] !== 0) end++;
    return new TextDecoder().decode(this.u8.subarray(ptr, end));
  }
}

const CONFIG_BYTES = 72;

/** Writes an rnn_config (all 4-byte fields, in the C header's order) at ptr. */
function writeConfig(heap: Heap, ptr: number, c: RnnKernelConfig, isa: number): void {
  const i32 = new Int32Array(CONFIG_BYTES / 4);
  const f32 = new Float32Array(i32.buffer);
  i32[0] = CELL[c.cell];
  i32[1] = c.inputSize;
  i32[2] = c.units;
  [c.activation, c.cellActivation, c.recurrentActivation].forEach((a, k) => {
    i32[3 + 3 * k] = a[0];
    f32[4 + 3 * k] = a[1];
    f32[5 + 3 * k] = a[2];
  });
  f32[12] = c.clip;
  i32[13] = c.inputForget ? 1 : 0;
  i32[14] = c.resetAfter ? 1 : 0;
  i32[15] = isa;
  i32[16] = 1; // no threads in the WebAssembly build
  i32[17] = PRECISION[c.weightPrecision];
  heap.writeBytes(ptr, i32);
}

/** Lays arrays one after another from ptr (copying in those to be read), returning where each went (0 for null). */
function placer(heap: Heap, ptr: number) {
  return (data: Float32Array | Int32Array | Uint8Array | null, write: boolean): number => {
    if (!data) return 0;
    const at = ptr;
    if (write) data instanceof Float32Array ? heap.writeF32(at, data) : heap.writeBytes(at, data);
    ptr += data.byteLength;
    return at;
  };
}

/** Grow-only scratch region in the wasm heap, reused by every call of one layer. */
class Arena {
  ptr = 0;
  private bytes = 0;
  constructor(private readonly heap: Heap) {}
  reserve(bytes: number): number {
    if (bytes > this.bytes) {
      // The old block goes first (the new one may need its room); until the new one is there the
      // arena is empty, so a failure leaves no pointer to memory it does not own.
      this.release();
      this.ptr = this.heap.malloc(bytes, 'this call');
      this.bytes = bytes;
    }
    return this.ptr;
  }
  release(): void {
    this.heap.free(this.ptr);
    this.ptr = 0;
    this.bytes = 0;
  }
}

class WasmStream implements StreamKernel {
  private readonly region: number;
  private readonly xPtr: number;
  private readonly hPtr: number;
  private readonly cPtr: number;
  private memoryBuffer: ArrayBuffer | null = null;
  private hView!: Float32Array;
  private cView: Float32Array | null = null;
  private xView!: Float32Array;
  private disposed = false;

  constructor(private readonly owner: WasmRnn, private readonly batch: number, private readonly inputSize: number, private readonly units: number, private readonly hasCell: boolean) {
    const heap = owner.heap;
    this.region = heap.malloc(4 * batch * (inputSize + 2 * units), `stream(${batch})`);
    this.xPtr = this.region;
    this.hPtr = this.xPtr + 4 * batch * inputSize;
    this.cPtr = hasCell ? this.hPtr + 4 * batch * units : 0;
    this.setState(new Float32Array(batch * units), hasCell ? new Float32Array(batch * units) : null);
  }
  private refresh(): void {
    if (this.memoryBuffer !== this.owner.heap.fns.memory.buffer) {
      this.memoryBuffer = this.owner.heap.fns.memory.buffer;
      this.xView = this.owner.heap.f32View(this.xPtr, this.batch * this.inputSize);
      this.hView = this.owner.heap.f32View(this.hPtr, this.batch * this.units);
      this.cView = this.hasCell ? this.owner.heap.f32View(this.cPtr, this.batch * this.units) : null;
    }
  }
  get h(): Float32Array {
    this.refresh();
    return this.hView;
  }
  get c(): Float32Array | null {
    this.refresh();
    return this.cView;
  }
  step(x: Float32Array): void {
    this.refresh();
    this.xView.set(x);
    const status = this.owner.heap.fns.rnn_forward(this.owner.layer, this.batch, 1, 0, this.xPtr, this.hPtr, this.cPtr, 0, 0, 0, 0);
    if (status !== 0) checkStatus(status, this.owner.name, 'step');
  }
  setState(h: Float32Array, c: Float32Array | null): void {
    this.refresh();
    this.hView.set(h);
    if (this.cView && c) this.cView.set(c);
  }
  dispose(): void {
    if (!this.disposed) this.owner.heap.free(this.region);
    this.disposed = true;
  }
}

class WasmRnn implements RnnKernel {
  readonly name: string;
  private readonly arena: Arena;
  private readonly streams = new Set<WasmStream>();

  constructor(readonly heap: Heap, readonly layer: number, private readonly config: RnnKernelConfig) {
    // Named by what the module itself reports ('wasm-relaxed', 'wasm-simd', or 'scalar' in lstm.wasm),
    // not by what was asked for.
    const isa = heap.string(heap.fns.rnn_layer_isa(layer));
    this.name = isa === 'wasm-relaxed' || isa === 'wasm-simd' ? isa : 'wasm';
    this.arena = new Arena(heap);
  }

  forward(b: ForwardBuffers): void {
    const { heap } = this;
    const parts = [b.input, b.h, b.c, b.output, b.trace];
    const floats = parts.reduce((n, p) => n + (p ? p.length : 0), 0);
    const bytes = 4 * floats + (b.sequenceLengths ? 4 * b.batch : 0) + (b.mask ? b.mask.length : 0);
    // What the kernel then reserves besides (rnn_forward: the input projection and the state),
    // checked with this against the heap's limit before anything is allocated.
    const padded = Math.ceil(this.config.units / 4) * 4;
    const scratch = 4 * (b.batch * b.steps * gatesOf(this.config.cell) * padded + 5 * b.batch * padded);
    if (bytes + scratch >= WASM_HEAP_LIMIT) throw outOfMemory('this call', bytes + scratch);
    const place = placer(heap, this.arena.reserve(bytes));
    const input = place(b.input, true);
    const h = place(b.h, true);
    const c = place(b.c, true);
    const output = place(b.output, false);
    const trace = place(b.trace, false);
    const lengths = place(b.sequenceLengths, true);
    const mask = place(b.mask, true);
    const status = heap.fns.rnn_forward(this.layer, b.batch, b.steps, b.flags, input, h, c, output, mask, lengths, trace);
    if (status === ALLOC) throw outOfMemory('this call', scratch);
    checkStatus(status, this.name, 'forward');
    heap.readF32(h, b.h);
    if (b.c) heap.readF32(c, b.c);
    heap.readF32(output, b.output);
    if (b.trace) heap.readF32(trace, b.trace);
  }
  async forwardAsync(b: ForwardBuffers): Promise<void> {
    this.forward(b);
  }
  backward(b: BackwardBuffers): void {
    const { heap } = this;
    const w = b.weights;
    const parts = [w.kernel, w.recurrentKernel, w.recurrentBias, w.peepholes, b.trace, b.gradOutput, b.gradInput, b.sequenceLengths, b.mask];
    const bytes = parts.reduce((n, p) => n + (p ? p.byteLength : 0), 0);
    if (bytes >= WASM_HEAP_LIMIT) throw outOfMemory('this attribution', bytes);
    const place = placer(heap, this.arena.reserve(bytes));
    const [kernel, recurrent, recurrentBias, peepholes, trace, gradOutput] = parts.slice(0, 6).map((p) => place(p, true));
    const gradInput = place(b.gradInput, false);
    const lengths = place(b.sequenceLengths, true);
    const mask = place(b.mask, true);
    const status = heap.fns.rnn_backward(this.layer, kernel!, recurrent!, recurrentBias!, peepholes!, b.batch, b.steps, b.flags, mask, lengths, trace!, gradOutput!, gradInput);
    if (status === ALLOC) throw outOfMemory('this attribution', bytes);
    checkStatus(status, this.name, 'backward');
    heap.readF32(gradInput, b.gradInput);
  }
  stream(batch: number): StreamKernel {
    const s = new WasmStream(this, batch, this.config.inputSize, this.config.units, this.config.cell === 'lstm');
    this.streams.add(s);
    return s;
  }
  dispose(): void {
    for (const s of this.streams) s.dispose();
    this.streams.clear();
    this.arena.release();
    this.heap.fns.rnn_destroy(this.layer);
  }
}

const CONV1D_CONFIG_BYTES = 40;

/** A convolution in one module's heap; each call copies its input in and its output out. */
class WasmConv1d implements Conv1dKernel {
  readonly name: string;
  private readonly arena: Arena;
  constructor(private readonly heap: Heap, private readonly conv: number, private readonly config: Conv1dKernelConfig) {
    const isa = heap.string(heap.fns.rnn_conv1d_isa!(conv));
    this.name = isa === 'wasm-relaxed' || isa === 'wasm-simd' ? isa : 'wasm';
    this.arena = new Arena(heap);
  }
  forward(batch: number, steps: number, padLeft: number, padRight: number, input: Float32Array, output: Float32Array): void {
    const { heap, config: c } = this;
    // The kernel's padded copy of the input comes on top of the two buffers.
    const padded = 4 * batch * (steps + padLeft + padRight) * c.inChannels;
    const bytes = input.byteLength + output.byteLength;
    if (bytes + padded >= WASM_HEAP_LIMIT) throw outOfMemory('this call', bytes + padded);
    const place = placer(heap, this.arena.reserve(bytes));
    const x = place(input, true);
    const y = place(output, false);
    const status = heap.fns.rnn_conv1d_forward!(this.conv, batch, steps, padLeft, padRight, x, y);
    if (status === ALLOC) throw outOfMemory('this call', padded);
    checkStatus(status, this.name, 'conv1d');
    heap.readF32(y, output);
  }
  dispose(): void {
    this.arena.release();
    this.heap.fns.rnn_conv1d_destroy!(this.conv);
  }
}

/** rnn_status RNN_ERR_ALLOC of the C header. */
const ALLOC = 5;

/**
 * The least heap a layer needs: its two kernels as given in float32 (copied in for rnn_create) and
 * their packed copy, the kernel in floats and the recurrent kernel at its precision. The biases and
 * what rnn_create adds (padding, int8's scales and packing room) only make it more.
 */
function layerBytes(config: RnnKernelConfig): number {
  const columns = gatesOf(config.cell) * config.units;
  const element = config.weightPrecision === 'int8' ? 1 : 4;
  return (4 + 4) * config.inputSize * columns + (4 + element) * config.units * columns;
}

/** Refuses a layer whose weights alone pass the heap's limit (Backend.admitRnn). */
function admitRnn(config: RnnKernelConfig): void {
  const need = layerBytes(config);
  if (need >= WASM_HEAP_LIMIT) throw outOfMemory('this layer', need);
}

/**
 * A WebAssembly backend. `source` supplies the module or its bytes (wasm-source.ts: the entry's
 * default file or what configureWasm was given); it is compiled and instantiated once, on first use.
 */
export async function loadWasmBackend(name: WasmBackendName, source: WasmSource): Promise<Backend> {
  const given = await source();
  const module = 'module' in given ? given.module : await compile(given.bytes, given.name);
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((e) => !exported.has(e));
  if (missing.length) throw new Error(`${given.name} is not one of lstm-runtime's WebAssembly modules (it does not export ${missing.join(', ')})`);
  const instance = await WebAssembly.instantiate(module, {
    env: { emscripten_notify_memory_growth: () => {} },
    wasi_snapshot_preview1: {
      proc_exit: (code: number) => {
        throw new Error(`lstm-runtime wasm module exited (${code})`);
      },
    },
  });
  const fns = instance.exports as unknown as RnnWasmExports;
  fns._initialize();
  const heap = new Heap(fns);
  const isa = name === 'wasm' ? ISA.scalar : ISA[name];
  return {
    name,
    implementation: name,
    implementations: [name],
    admitRnn,
    createRnn(config: RnnKernelConfig, w: CanonicalWeights): RnnKernel {
      // Half weights need F16C or NEON; int8 and f32 run everywhere.
      if (config.weightPrecision === 'f16') throw unsupportedPrecision(config, name);
      // A layer that could never fit is refused before a byte is copied (buildLayer asks earlier).
      admitRnn(config);
      const tensors = [w.kernel, w.recurrentKernel, w.bias, w.recurrentBias, w.peepholes];
      const ptrs: number[] = [];
      try {
        // Every block taken is freed below, whichever allocation fails.
        for (const t of tensors) ptrs.push(t ? heap.malloc(t.byteLength, 'this layer') : 0);
        const cfg = heap.malloc(CONFIG_BYTES, 'this layer');
        ptrs.push(cfg);
        const out = heap.malloc(4, 'this layer');
        ptrs.push(out);
        tensors.forEach((t, k) => t && heap.writeF32(ptrs[k]!, t));
        writeConfig(heap, cfg, config, isa);
        const status = fns.rnn_create(cfg, ptrs[0]!, ptrs[1]!, ptrs[2]!, ptrs[3]!, ptrs[4]!, out);
        if (status === ALLOC) throw outOfMemory('this layer', layerBytes(config));
        checkStatus(status, name, 'create');
        return new WasmRnn(heap, heap.readU32(out), config);
      } finally {
        for (const p of ptrs) heap.free(p);
      }
    },
    createConv1d(config: Conv1dKernelConfig, kernel: Float32Array, bias: Float32Array | null): Conv1dKernel {
      if (!fns.rnn_conv1d_create) throw new LstmError('ERR_LSTM_UNSUPPORTED', `${given.name} was built before lstm-runtime had convolutions (it does not export rnn_conv1d_create); use the module of this version`);
      const weightBytes = 2 * kernel.byteLength + (bias ? 2 * bias.byteLength : 0);
      if (weightBytes >= WASM_HEAP_LIMIT) throw outOfMemory('this layer', weightBytes);
      const ptrs: number[] = [];
      try {
        const k = heap.malloc(kernel.byteLength, 'this layer');
        ptrs.push(k);
        const b = bias ? heap.malloc(bias.byteLength, 'this layer') : 0;
        ptrs.push(b);
        const cfg = heap.malloc(CONV1D_CONFIG_BYTES, 'this layer');
        ptrs.push(cfg);
        const out = heap.malloc(4, 'this layer');
        ptrs.push(out);
        heap.writeF32(k, kernel);
        if (bias) heap.writeF32(b, bias);
        const i32 = new Int32Array(CONV1D_CONFIG_BYTES / 4);
        const f32 = new Float32Array(i32.buffer);
        i32.set([config.inChannels, config.outChannels, config.kernelSize, config.stride, config.dilation, config.groups, config.activation[0]]);
        f32[7] = config.activation[1];
        f32[8] = config.activation[2];
        i32[9] = isa;
        heap.writeBytes(cfg, i32);
        const status = fns.rnn_conv1d_create(cfg, k, b, out);
        if (status === ALLOC) throw outOfMemory('this layer', weightBytes);
        checkStatus(status, name, 'createConv1d');
        return new WasmConv1d(heap, heap.readU32(out), config);
      } finally {
        for (const p of ptrs) heap.free(p);
      }
    },
  };
}
