// An independent float64 LSTM for the tests: written straight from the equations, per gate and
// per unit, sharing no code with the library's kernels. Gates in Keras order i, f, c, o.
export interface RefConfig {
  inputSize: number;
  units: number;
  act: (x: number) => number;
  recAct: (x: number) => number;
  cellAct?: (x: number) => number;
  returnSequences: boolean;
  goBackwards?: boolean;
  zeroOutputForMask?: boolean;
}
export interface RefWeights {
  kernel: number[][]; // [I][4U]
  recurrentKernel: number[][]; // [U][4U]
  bias?: number[]; // [4U]
}
export interface RefCall {
  input: number[][][];
  h0?: number[][];
  c0?: number[][];
  mask?: number[][];
  lengths?: number[];
}
export interface RefResult {
  output: number[][][] | number[][];
  h: number[][];
  c: number[][];
  trace: Record<'i' | 'f' | 'g' | 'o' | 'c' | 'h', number[][][]>;
}

export const F64 = {
  tanh: Math.tanh,
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  hardSigmoid: (x: number) => Math.min(1, Math.max(0, x / 6 + 0.5)),
  linear: (x: number) => x,
  relu: (x: number) => Math.max(0, x),
  softsign: (x: number) => x / (1 + Math.abs(x)),
  elu: (x: number) => (x > 0 ? x : Math.exp(x) - 1),
};

export function referenceLstm(cfg: RefConfig, w: RefWeights, call: RefCall): RefResult {
  const { units: U, inputSize: I } = cfg;
  const cellAct = cfg.cellAct ?? cfg.act;
  const B = call.input.length;
  const T = call.input[0]!.length;
  const zeros = () => Array.from({ length: U }, () => 0);
  const trace: RefResult['trace'] = { i: [], f: [], g: [], o: [], c: [], h: [] };
  const outputs: number[][][] = [];
  const hs: number[][] = [];
  const cs: number[][] = [];
  for (let b = 0; b < B; b++) {
    let h = call.h0 ? [...call.h0[b]!] : zeros();
    let c = call.c0 ? [...call.c0[b]!] : zeros();
    const len = call.lengths ? call.lengths[b]! : T;
    const rowOut: number[][] = [];
    for (const k of ['i', 'f', 'g', 'o', 'c', 'h'] as const) trace[k].push([]);
    let lastMasked = false;
    for (let s = 0; s < T; s++) {
      // Steps at or past the length are padding (going backwards, the first ones processed).
      const t = cfg.goBackwards ? T - 1 - s : s;
      if (t >= len) {
        rowOut.push(zeros());
        for (const k of ['i', 'f', 'g', 'o'] as const) trace[k][b]!.push(zeros());
        trace.c[b]!.push([...c]);
        trace.h[b]!.push([...h]);
        lastMasked = false;
        continue;
      }
      const x = call.input[b]![t]!;
      if (call.mask && !call.mask[b]![t]) {
        rowOut.push(cfg.zeroOutputForMask ? zeros() : [...h]);
        for (const k of ['i', 'f', 'g', 'o'] as const) trace[k][b]!.push(zeros());
        trace.c[b]!.push([...c]);
        trace.h[b]!.push([...h]);
        lastMasked = true;
        continue;
      }
      lastMasked = false;
      const pre = (gate: number, u: number) => {
        let z = w.bias ? w.bias[gate * U + u]! : 0;
        for (let k = 0; k < I; k++) z += x[k]! * w.kernel[k]![gate * U + u]!;
        for (let k = 0; k < U; k++) z += h[k]! * w.recurrentKernel[k]![gate * U + u]!;
        return z;
      };
      const ig = zeros().map((_, u) => cfg.recAct(pre(0, u)));
      const fg = zeros().map((_, u) => cfg.recAct(pre(1, u)));
      const gg = zeros().map((_, u) => cfg.act(pre(2, u)));
      const og = zeros().map((_, u) => cfg.recAct(pre(3, u)));
      c = c.map((cp, u) => fg[u]! * cp + ig[u]! * gg[u]!);
      h = c.map((cn, u) => og[u]! * cellAct(cn));
      rowOut.push([...h]);
      trace.i[b]!.push(ig);
      trace.f[b]!.push(fg);
      trace.g[b]!.push(gg);
      trace.o[b]!.push(og);
      trace.c[b]!.push([...c]);
      trace.h[b]!.push([...h]);
    }
    // Without sequences the output is the last step's: zeros if it was masked and masked steps output zeros.
    outputs.push(cfg.returnSequences ? rowOut : [lastMasked && cfg.zeroOutputForMask ? zeros() : [...h]]);
    hs.push(h);
    cs.push(c);
  }
  return { output: cfg.returnSequences ? outputs : outputs.map((r) => r[0]!), h: hs, c: cs, trace };
}
