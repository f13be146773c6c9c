// Decoding an ONNX model: the ModelProto (the decoder generated from onnx.proto, static code that
// compiles nothing at run time, loads with the first model read), the protobuf enum values the
// readers use, and a node's label, domain and type-checked attributes.
import { LstmError } from '../errors.js';
import type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from './onnx-schema.js';
import { modelError } from './spec.js';

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 } as const;

/** TensorProto.DataType values. */
export const DATA_TYPE = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16,
} as const;

/** Whatever goes wrong inside (a protobuf error, a stack overflow on absurd nesting) is the file's fault. */
export function guarded<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof LstmError) throw error;
    return modelError(file, `could not be read as an ONNX model (${(error as Error)?.message ?? String(error)})`, error);
  }
}

/** Decodes the ModelProto: bytes that are not one (cut short, damaged, absurdly nested) are ERR_LSTM_MODEL. */
export async function decode(file: string, bytes: Uint8Array): Promise<OnnxModel> {
  const { decodeModelProto } = await import('./onnx-schema.js');
  let model: OnnxModel;
  try {
    model = decodeModelProto(bytes);
  } catch (error) {
    return modelError(file, `expected an ONNX model (a ModelProto), got ${bytes.length} bytes that are not one (${(error as Error)?.message ?? String(error)})`, error);
  }
  if (!model.graph || model.graph.node.length === 0 || model.graph.output.length === 0) {
    modelError(file, `expected an ONNX model with a graph of nodes and outputs, got ${model.graph ? `a graph with ${model.graph.node.length} nodes and ${model.graph.output.length} outputs` : 'no graph'}`);
  }
  return model;
}

/** An int64 field's value: the decoder reads int64 as a number already (exact up to 2^53). */
export const int = (v: number): number => v;
const utf8 = new TextDecoder();

/** The version of the default (ai.onnx) operator set the model imports. */
export function defaultOpset(file: string, model: OnnxModel): number {
  const entry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!entry) modelError(file, `expected the model to import the default ONNX operator set, got ${model.opsetImport.length ? `only ${model.opsetImport.map((o) => `'${o.domain}'`).join(', ')}` : 'no operator set'}`);
  return int(entry.version);
}

export const nodeLabel = (node: OnnxNode) => `'${node.name || `${node.opType} -> ${node.output[0] ?? '?'}`}' (${node.opType})`;
export const isDefaultDomain = (node: OnnxNode) => node.domain === '' || node.domain === 'ai.onnx';

export type Fail = (what: string) => never;

/** A node's attributes, type-checked as they are read. */
export class Attributes {
  private readonly byName = new Map<string, OnnxAttribute>();

  constructor(node: OnnxNode, private readonly fail: Fail) {
    for (const a of node.attribute) this.byName.set(a.name, a);
  }

  private get(name: string, type: number, what: string): OnnxAttribute | undefined {
    const a = this.byName.get(name);
    if (a && a.type !== type && a.type !== 0) this.fail(`attribute '${name}': expected ${what}, got attribute type ${a.type}`);
    return a;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }
  int(name: string, fallback: number): number {
    const a = this.get(name, ATTRIBUTE_TYPE.INT, 'an int');
    return a ? int(a.i) : fallback;
  }
  float(name: string, fallback: number): number {
    const a = this.get(name, ATTRIBUTE_TYPE.FLOAT, 'a float');
    return a ? a.f : fallback;
  }
  string(name: string, fallback: string): string {
    const a = this.get(name, ATTRIBUTE_TYPE.STRING, 'a string');
    return a ? utf8.decode(a.s) : fallback;
  }
  ints(name: string): number[] | undefined {
    return this.get(name, ATTRIBUTE_TYPE.INTS, 'ints')?.ints.map(int);
  }
  floats(name: string): number[] | undefined {
    return this.get(name, ATTRIBUTE_TYPE.FLOATS, 'floats')?.floats;
  }
  strings(name: string): string[] | undefined {
    return this.get(name, ATTRIBUTE_TYPE.STRINGS, 'strings')?.strings.map((s) => utf8.decode(s));
  }
  tensor(name: string): OnnxTensor | undefined {
    return this.get(name, ATTRIBUTE_TYPE.TENSOR, 'a tensor')?.t ?? undefined;
  }
  graph(name: string): OnnxGraph | undefined {
    return this.get(name, ATTRIBUTE_TYPE.GRAPH, 'a graph')?.g ?? undefined;
  }
}
