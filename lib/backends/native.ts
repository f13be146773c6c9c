// The N-API addon (native/binding.cc). Node only: the browser entry never imports this file.
import { createRequire } from 'node:module';
import { BackendUnavailable, MAX_THREADS, unsupportedPrecision, type Backend, type BackwardBuffers, type CanonicalWeights, type Conv1dKernel, type Conv1dKernelConfig, type ForwardBuffers, type RnnKernel, type RnnKernelConfig, type StreamKernel } from '../backend.js';
import { LstmError } from '../errors.js';
import { rootDirectory } from '../package-root.js';
import { firstNonFinite } from '../tensor.js';
import { CELL, checkStatus, ISA, PRECISION } from './status.js';

/** The binding's status for a result array that was detached or shrunk during forwardAsync. */
const BUFFER_GONE = -3;

// The addon scans for NaN and infinity 11-14x faster than JS's ~1 ns per value, but below about
// a thousand values the call itself costs more than it saves.
const NATIVE_SCAN_FROM = 1024;

type Buf = Float32Array | Uint8Array | Int32Array | null;
interface NativeHandle {
  forward(batch: number, steps: number, flags: number, input: Buf, h: Buf, c: Buf, output: Buf, mask: Buf, lengths: Buf, trace: Buf): number;
  forwardAsync(batch: number, steps: number, flags: number, input: Buf, h: Buf, c: Buf, output: Buf, mask: Buf, lengths: Buf, trace: Buf): Promise<number>;
  bindStream(batch: number, x: Float32Array, h: Float32Array, c: Float32Array | null): number;
  step(): number;
  backward(kernel: Buf, recurrent: Buf, recurrentBias: Buf, peepholes: Buf, batch: number, steps: number, flags: number, mask: Buf, lengths: Buf, trace: Buf, gradOutput: Buf, gradInput: Buf): number;
  isa(): string;
  dispose(): void;
}
interface NativeConv1dHandle {
  forward(batch: number, steps: number, padLeft: number, padRight: number, input: Float32Array, output: Float32Array): number;
  isa(): string;
  dispose(): void;
}
interface NativeAddon {
  createConv1d(config: object, kernel: Float32Array, bias: Float32Array | null): { status: number; handle: NativeConv1dHandle };
  createRnn(config: object, kernel: Float32Array, recurrent: Float32Array, bias: Float32Array | null, recurrentBias: Float32Array | null, peepholes: Float32Array | null): { status: number; handle: NativeHandle };
  isaAvailable(isa: number): boolean;
  isaBest(): number;
  precisionAvailable(isa: number, precision: number): boolean;
  isaCalls(isa: number): number;
  firstNonFinite(data: Float32Array): number;
  threadStats(): NativeThreadStats;
}

/** What calls with `threads` > 1 did in this process (native/rnn_runtime.h, rnn_threads_stats). */
export interface NativeThreadStats {
  /** Calls split across threads. */
  split: number;
  /** Of those, calls in which a helper fell behind (a busy machine) and the calling thread finished alone. */
  late: number;
  /** Calls run on one thread because helpers had just fallen behind. */
  alone: number;
}


/** Where the loaded addon came from: shipped with the package, compiled here, or named by LSTM_RUNTIME_ADDON. */
export type AddonOrigin = 'prebuilt' | 'compiled' | 'explicit';

/** e.g. 'linux-x64 (glibc)': what node-gyp-build matches prebuilds against. */
function platformTag(): string {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`;
  const { header } = process.report.getReport() as { header: { glibcVersionRuntime?: string } };
  return `linux-${process.arch} (${header.glibcVersionRuntime ? 'glibc' : 'musl'})`;
}

/** How to get a native build where none fits: compile one from the sources the package ships. */
const BUILD_FROM_SOURCE =
  'compile it from the sources the package ships: install python3, make and a C++17 compiler, then run ' +
  '`npm rebuild lstm-runtime --build-from-source --foreground-scripts` (npm 11 asks first: `npm approve-scripts lstm-runtime`); ' +
  'offline, give node-gyp the Node headers with `npm_config_nodedir=/usr` (Debian/Ubuntu: apt-get install libnode-dev). ' +
  "Until then the 'wasm-simd' backend runs.";

/**
 * Loads the addon: LSTM_RUNTIME_ADDON (an explicit .node file, e.g. the sanitizer build), else
 * node-gyp-build's search (a build compiled here in build/Release, then the package's
 * prebuilds/<platform>-<arch>), with the reason and the fix for this machine when nothing loads.
 */
function loadAddon(): { addon: NativeAddon; origin: AddonOrigin; path: string } {
  const require = createRequire(import.meta.url);
  const explicit = process.env.LSTM_RUNTIME_ADDON;
  if (explicit) {
    // An explicit choice is never silently replaced by another build.
    try {
      return { addon: require(explicit) as NativeAddon, origin: 'explicit', path: explicit };
    } catch (e) {
      throw new BackendUnavailable(`LSTM_RUNTIME_ADDON=${explicit} did not load: ${(e as Error).message.split('\n')[0]}`, 'unset LSTM_RUNTIME_ADDON or point it at a .node file built for this Node');
    }
  }
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  let path: string;
  try {
    // By the package's name (package-root.ts), with this module's own require: Node 20.0-20.15 lack getBuiltinModule.
    path = nodeGypBuild.resolve(rootDirectory(require));
  } catch {
    throw new BackendUnavailable(`no prebuilt binary in lstm-runtime fits ${platformTag()} (Node ${process.versions.node}, N-API), and none was compiled here`, BUILD_FROM_SOURCE);
  }
  const origin: AddonOrigin = /[\\/]prebuilds[\\/]/.test(path) ? 'prebuilt' : 'compiled';
  try {
    return { addon: require(path) as NativeAddon, origin, path };
  } catch (e) {
    throw new BackendUnavailable(`the ${origin} addon ${path} did not load: ${(e as Error).message.split('\n')[0]}`, BUILD_FROM_SOURCE);
  }
}

const ISA_OF: Record<string, number> = { 'native/scalar': ISA.scalar, 'native/avx2': ISA.avx2, 'native/neon': ISA.neon };

function activationTuple(code: readonly number[]): number[] {
  return [code[0]!, code[1]!, code[2]!];
}

class NativeStream implements StreamKernel {
  readonly h: Float32Array;
  readonly c: Float32Array | null;
  private readonly x: Float32Array;

  constructor(private readonly owner: NativeRnn, private readonly batch: number, inputSize: number, units: number, hasCell: boolean) {
    this.x = new Float32Array(batch * inputSize);
    this.h = new Float32Array(batch * units);
    this.c = hasCell ? new Float32Array(batch * units) : null;
  }
  step(x: Float32Array): void {
    const { handle } = this.owner;
    // The handle binds one stream's buffers at a time; rebinding only happens when streams alternate.
    if (this.owner.boundStream !== this) {
      checkStatus(handle.bindStream(this.batch, this.x, this.h, this.c), this.owner.name, 'stream');
      this.owner.boundStream = this;
    }
    this.x.set(x);
    const status = handle.step();
    if (status !== 0) checkStatus(status, this.owner.name, 'step');
  }
  setState(h: Float32Array, c: Float32Array | null): void {
    this.h.set(h);
    if (this.c && c) this.c.set(c);
  }
  dispose(): void {}
}

class NativeRnn implements RnnKernel {
  readonly name: string;
  boundStream: NativeStream | null = null;
  private readonly args = (b: ForwardBuffers) =>
    [b.batch, b.steps, b.flags, b.input, b.h, b.c, b.output, b.mask, b.sequenceLengths, b.trace] as const;

  constructor(
    readonly handle: NativeHandle,
    private readonly config: RnnKernelConfig,
    private readonly scan: (data: Float32Array) => number,
  ) {
    this.name = `native/${handle.isa()}`;
  }
  firstNonFinite(data: Float32Array): number {
    return data.length >= NATIVE_SCAN_FROM ? this.scan(data) : firstNonFinite(data);
  }
  forward(b: ForwardBuffers): void {
    checkStatus(this.handle.forward(...this.args(b)), this.name, 'forward');
  }
  async forwardAsync(b: ForwardBuffers): Promise<void> {
    // The addon computes on its own copies and writes the results back on completion, into
    // these arrays if they are still whole (a caller may transfer or resize them meanwhile).
    const results = [['out.output', b.output], ['out.h', b.h], ['out.c', b.c]] as const;
    const lengths = results.map(([, a]) => a?.length ?? 0);
    const status = await this.handle.forwardAsync(...this.args(b));
    if (status === BUFFER_GONE) {
      // Only the caller's own arrays (options.out) can be gone: the others never left the facade.
      const gone = results.filter(([, a], k) => a && a.length < lengths[k]!).map(([name]) => `options.${name}`);
      throw new LstmError('ERR_LSTM_INPUT', `${this.name} forwardAsync: ${gone.join(' and ') || 'an array given for the results'} was detached or shrunk while the call ran (transferred, or its resizable ArrayBuffer resized), so the results could not be written; keep the arrays given to forwardAsync as they are until its promise settles`);
    }
    checkStatus(status, this.name, 'forwardAsync');
  }
  backward(b: BackwardBuffers): void {
    const w = b.weights;
    const status = this.handle.backward(w.kernel, w.recurrentKernel, w.recurrentBias, w.peepholes, b.batch, b.steps, b.flags, b.mask, b.sequenceLengths, b.trace, b.gradOutput, b.gradInput);
    checkStatus(status, this.name, 'backward');
  }
  stream(batch: number): StreamKernel {
    return new NativeStream(this, batch, this.config.inputSize, this.config.units, this.config.cell === 'lstm');
  }
  dispose(): void {
    this.handle.dispose();
  }
}

export function loadNativeBackend(): Backend {
  const { addon, origin, path } = loadAddon();
  const implementations = Object.keys(ISA_OF).filter((name) => addon.isaAvailable(ISA_OF[name]!));
  const best = Object.keys(ISA_OF).find((name) => ISA_OF[name] === addon.isaBest()) ?? 'native/scalar';
  return {
    name: 'native',
    implementation: best,
    implementations,
    maxThreads: MAX_THREADS,
    origin,
    path,
    createRnn(config: RnnKernelConfig, w: CanonicalWeights, implementation?: string): RnnKernel {
      const isa = implementation ? ISA_OF[implementation]! : ISA.auto;
      const precision = PRECISION[config.weightPrecision as keyof typeof PRECISION];
      if (precision === undefined || !addon.precisionAvailable(isa, precision)) throw unsupportedPrecision(config, implementation ?? best);
      const cfg = {
        cell: CELL[config.cell],
        resetAfter: config.resetAfter,
        inputSize: config.inputSize,
        units: config.units,
        activation: activationTuple(config.activation),
        cellActivation: activationTuple(config.cellActivation),
        recurrentActivation: activationTuple(config.recurrentActivation),
        clip: config.clip,
        inputForget: config.inputForget,
        isa,
        threads: config.threads,
        weightPrecision: precision,
      };
      const { status, handle } = addon.createRnn(cfg, w.kernel, w.recurrentKernel, w.bias, w.recurrentBias, w.peepholes);
      checkStatus(status, implementation ?? 'native', 'create');
      return new NativeRnn(handle, config, addon.firstNonFinite);
    },
    createConv1d(config: Conv1dKernelConfig, kernel: Float32Array, bias: Float32Array | null, implementation?: string): Conv1dKernel {
      const isa = implementation ? ISA_OF[implementation]! : ISA.auto;
      const { status, handle } = addon.createConv1d({ ...config, activation: activationTuple(config.activation), isa }, kernel, bias);
      checkStatus(status, implementation ?? 'native', 'createConv1d');
      const name = `native/${handle.isa()}`;
      return {
        name,
        forward: (batch, steps, padLeft, padRight, input, output) => checkStatus(handle.forward(batch, steps, padLeft, padRight, input, output), name, 'conv1d'),
        dispose: () => handle.dispose(),
        firstNonFinite: (data) => (data.length >= NATIVE_SCAN_FROM ? addon.firstNonFinite(data) : firstNonFinite(data)),
      };
    },
  };
}

/** How many forward calls each native instruction set has run (tests prove a forced one ran). */
export function nativeKernelCalls(): Record<string, number> {
  const { addon } = loadAddon();
  return Object.fromEntries(Object.entries(ISA_OF).map(([name, isa]) => [name, addon.isaCalls(isa)]));
}

/** What calls with `threads` > 1 did so far (tests and measurements of the helper team). */
export function nativeThreadStats(): NativeThreadStats {
  return loadAddon().addon.threadStats();
}
