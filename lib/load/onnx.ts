// ONNX models: the LSTM / GRU / Gemm / MatMul path from the graph's input to its first output becomes
// a Sequential (readOnnx; a Gather of integer ids from a constant table first is an Embedding), and
// every LSTM / GRU node anywhere in a model, subgraphs included, can be read with its folded weights
// (readOnnxRecurrent) for models that are more than a Sequential.
//
// Exporters never hand over a clean layer list: weights come out of small constant computations
// (Slice, Concat, Unsqueeze of initializers, even inside If branches), initial states out of
// Shape/ConstantOfShape/Expand chains, and the data is squeezed, transposed and reshaped between
// layers. The reader folds the constants and follows the data through that plumbing, tracking what
// each axis holds (batch, time, features, directions), and accepts a graph only when the Sequential
// it builds computes the same thing; otherwise it names what it cannot map. A graph whose first
// recurrent node takes the input as [time, batch, ...] is read again with the input time-major and
// becomes a timeMajor Sequential.
//
// The parts: onnx-decode.ts (the ModelProto, node attributes), onnx-constants.ts (tensors, constant
// folding), onnx-recurrent.ts (LSTM / GRU nodes, readOnnxRecurrent's walk), onnx-values.ts and
// onnx-path.ts (readOnnx's main path).
import type { Activation } from '../activations.js';
import { LstmError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { decode, guarded } from './onnx-decode.js';
import { readExternalData } from './onnx-external.js';
import { PathReader, TimeMajorInput } from './onnx-path.js';
import { findRecurrentNodes } from './onnx-recurrent.js';
import { checkFiles, openModel, type ModelFile } from './source.js';
import type { LayerSpec } from './spec.js';

/** ONNX LSTM/GRU weights of one direction or of all: W [D,G*U,I], R [D,G*U,U], B [D,2*G*U], P [D,3U] (LSTM). */
export interface OnnxWeightTensors {
  W: Tensor;
  R: Tensor;
  B?: Tensor;
  P?: Tensor;
}

/** A node's attributes as Lstm.create / Gru.create options (with weightLayout 'onnx'). */
export interface OnnxRecurrentOptions {
  weightLayout: 'onnx';
  units: number;
  /** ONNX's g (LSTM candidate c~, GRU h~). */
  activation: Activation;
  /** ONNX's f (the gates). */
  recurrentActivation: Activation;
  /** LSTM: ONNX's h (applied to c before the output gate). */
  cellActivation?: Activation;
  clip?: number;
  /** LSTM: input_forget. */
  inputForget?: boolean;
  /** GRU: linear_before_reset. */
  resetAfter?: boolean;
  /** direction 'reverse' (and the backward half of a bidirectional node). */
  goBackwards?: boolean;
  /** 'input' with goBackwards: the output sequence in input order, as ONNX's Y. */
  outputOrder?: 'input';
}

/** An LSTM or GRU node of an ONNX model, its weights folded to constants. */
export interface OnnxRecurrentNode {
  /** The node's name (`<op> -> <first output>` when it has none). */
  name: string;
  opType: 'LSTM' | 'GRU';
  /** Where the node sits: [] in the main graph, else one `<node>.<attribute>` per subgraph level (e.g. an If's then_branch). */
  graph: string[];
  direction: 'forward' | 'reverse' | 'bidirectional';
  /** 0: X is [time, batch, features] (ONNX's default); 1: [batch, time, features]. */
  layout: 0 | 1;
  inputSize: number;
  hiddenSize: number;
  /** W, R, B, P as the node receives them (num_directions first). */
  weights: OnnxWeightTensors;
  /**
   * Options for `Lstm.create({ weights: node.weights, ...node.options })` (`Gru.create` for a GRU).
   * A bidirectional node has two directions: build it from `directions`.
   */
  options: OnnxRecurrentOptions;
  /** Per direction (forward first): its weights with num_directions 1 and its options (the backward one with goBackwards). */
  directions: { weights: OnnxWeightTensors; options: OnnxRecurrentOptions }[];
  /** The node's input names (X, W, R, B, sequence_lens, initial_h, initial_c, P) and output names as in the file; '' for absent ones. */
  inputs: string[];
  outputs: string[];
}

/** Reads a model's path from its input to its first output as Sequential layers. */
export async function readOnnx(file: ModelFile): Promise<LayerSpec[]> {
  const model = await decode(file.name, file.bytes);
  await readExternalData(model, file);
  return guarded(file.name, () => {
    try {
      return new PathReader(file.name, model, false).layers();
    } catch (error) {
      if (!(error instanceof TimeMajorInput)) throw error;
      return new PathReader(file.name, model, true).layers();
    }
  });
}

/**
 * Every LSTM and GRU node of an ONNX model, subgraphs included, with its weights folded to
 * constants and its attributes as layer options: for models that are more than a Sequential
 * (convolutions before the recurrent layer, an If on the sample rate, a state fed back by the caller).
 * External data (torch's model.onnx.data) comes in `files`, by the location the model names.
 */
export async function readOnnxRecurrent(
  bytes: Uint8Array | ArrayBuffer,
  name = 'the given bytes',
  files?: Readonly<Record<string, Uint8Array | ArrayBuffer>>,
): Promise<OnnxRecurrentNode[]> {
  if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) {
    throw new LstmError('ERR_LSTM_CONFIG', `readOnnxRecurrent: expected the model's bytes (a Uint8Array or ArrayBuffer), got ${bytes === null ? 'null' : typeof bytes}`);
  }
  checkFiles(files, 'readOnnxRecurrent: files');
  const file = { ...(await openModel(bytes, files)), name };
  const model = await decode(name, file.bytes);
  await readExternalData(model, file);
  return guarded(name, () => findRecurrentNodes(name, model));
}
