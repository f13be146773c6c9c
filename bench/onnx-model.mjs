// Builds an ONNX ModelProto with a single LSTM node (forward or bidirectional) or a single GRU node
// (opset 14) from Keras-layout weights, encoded with protobufjs from a minimal hand-written subset of
// onnx.proto (field numbers as in onnx.proto).
import protobuf from 'protobufjs';

const ONNX_SUBSET = `
syntax = "proto3";
package onnx;

message AttributeProto {
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  int32 type = 20; // AttributeType: FLOAT=1, INT=2, STRING=3, FLOATS=6, INTS=7, STRINGS=8
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string domain = 7;
}

message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2; // FLOAT = 1
  string name = 8;
  bytes raw_data = 9; // little-endian
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}

message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}

message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  string producer_version = 3;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const root = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
/** ONNX gate k (i, o, f, c) takes Keras gate KERAS_OF_ONNX[k] (Keras order i, f, c, o). */
export const KERAS_OF_ONNX = [0, 3, 1, 2];

/**
 * Keras weights (kernel [I][4U] flat row-major, recurrent [U][4U], bias [4U]) to ONNX
 * W [1,4U,I], R [1,4U,U], B [1,8U] (recurrence bias half zero).
 */
export function kerasToOnnx({ kernel, recurrentKernel, bias }, I, U) {
  const G = 4 * U;
  const W = new Float32Array(G * I);
  const R = new Float32Array(G * U);
  const B = new Float32Array(2 * G);
  for (let k = 0; k < 4; k++) {
    const kg = KERAS_OF_ONNX[k];
    for (let u = 0; u < U; u++) {
      const row = k * U + u;
      const col = kg * U + u;
      for (let i = 0; i < I; i++) W[row * I + i] = kernel[i * G + col];
      for (let j = 0; j < U; j++) R[row * U + j] = recurrentKernel[j * G + col];
      B[row] = bias[col];
    }
  }
  return { W, R, B };
}

function tensor(name, dims, data) {
  return {
    name,
    dims,
    data_type: FLOAT,
    raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function valueInfo(name, dims) {
  return {
    name,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } } },
  };
}

function encodeModel(node, initializer, inputs, outputs) {
  const model = {
    ir_version: 7,
    producer_name: 'lstm-runtime-bench',
    producer_version: '0',
    opset_import: [{ domain: '', version: 14 }],
    graph: { name: `${node.name}_graph`, node: [node], initializer, input: inputs, output: outputs },
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ONNX model: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/**
 * The ONNX model bytes of one LSTM node. X is [T, B, I] (layout 0); with `withState`, initial_h and
 * initial_c [1, B, U] are graph inputs too. Outputs Y [T,D,B,U], Y_h [D,B,U], Y_c [D,B,U], D = 1; with
 * `backwardWeights` (Keras layout too) the node is bidirectional (D = 2, direction 0 forward,
 * 1 backward; W [2,4U,I], R [2,4U,U], B [2,8U]). With `batchFirst` the node has layout 1: X [B, T, I],
 * Y [B,T,D,U] (the Keras layout for D = 1), states [B,D,U]; lstm-runtime reads it, onnxruntime 1.x refuses it on CPU.
 */
export function buildLstmOnnx(weights, { I, U, B, T, withState = false, backwardWeights = null, batchFirst = false }) {
  const dirs = backwardWeights ? [weights, backwardWeights] : [weights];
  const D = dirs.length;
  const G = 4 * U;
  const W = new Float32Array(D * G * I);
  const R = new Float32Array(D * G * U);
  const bias = new Float32Array(D * 2 * G);
  dirs.forEach((w, d) => {
    const o = kerasToOnnx(w, I, U);
    W.set(o.W, d * G * I);
    R.set(o.R, d * G * U);
    bias.set(o.B, d * 2 * G);
  });
  const state = batchFirst ? [B, D, U] : [D, B, U];
  const inputs = [valueInfo('X', batchFirst ? [B, T, I] : [T, B, I])];
  if (withState) inputs.push(valueInfo('initial_h', state), valueInfo('initial_c', state));
  const attribute = [{ name: 'hidden_size', type: ATTR_INT, i: U }];
  if (batchFirst) attribute.push({ name: 'layout', type: ATTR_INT, i: 1 });
  if (D === 2) attribute.push({ name: 'direction', type: ATTR_STRING, s: new TextEncoder().encode('bidirectional') });
  const node = {
    name: 'lstm',
    op_type: 'LSTM',
    input: withState ? ['X', 'W', 'R', 'B', '', 'initial_h', 'initial_c'] : ['X', 'W', 'R', 'B'],
    output: ['Y', 'Y_h', 'Y_c'],
    attribute,
  };
  return encodeModel(
    node,
    [tensor('W', [D, G, I], W), tensor('R', [D, G, U], R), tensor('B', [D, 2 * G], bias)],
    inputs,
    [valueInfo('Y', batchFirst ? [B, T, D, U] : [T, D, B, U]), valueInfo('Y_h', state), valueInfo('Y_c', state)],
  );
}

/**
 * Keras GRU weights (reset_after: kernel [I][3U] flat row-major, recurrent [U][3U], bias [2][3U],
 * input row then recurrent row; gates z, r, h) to ONNX W [1,3U,I], R [1,3U,U], B [1,6U]. ONNX's gate
 * order is z, r, h as well, so gate blocks map directly (transposed), and B is the two bias rows.
 */
export function kerasGruToOnnx({ kernel, recurrentKernel, bias }, I, U) {
  const G = 3 * U;
  const W = new Float32Array(G * I);
  const R = new Float32Array(G * U);
  for (let row = 0; row < G; row++) {
    for (let i = 0; i < I; i++) W[row * I + i] = kernel[i * G + row];
    for (let j = 0; j < U; j++) R[row * U + j] = recurrentKernel[j * G + row];
  }
  return { W, R, B: Float32Array.from(bias) };
}

/**
 * The ONNX model bytes of one GRU node with linear_before_reset = 1 (Keras reset_after=true).
 * X is [T, B, I] (layout 0); outputs Y [T,1,B,U], Y_h [1,B,U].
 */
export function buildGruOnnx(weights, { I, U, B, T }) {
  const { W, R, B: bias } = kerasGruToOnnx(weights, I, U);
  const node = {
    name: 'gru',
    op_type: 'GRU',
    input: ['X', 'W', 'R', 'B'],
    output: ['Y', 'Y_h'],
    attribute: [
      { name: 'hidden_size', type: ATTR_INT, i: U },
      { name: 'linear_before_reset', type: ATTR_INT, i: 1 },
    ],
  };
  return encodeModel(
    node,
    [tensor('W', [1, 3 * U, I], W), tensor('R', [1, 3 * U, U], R), tensor('B', [1, 6 * U], bias)],
    [valueInfo('X', [T, B, I])],
    [valueInfo('Y', [T, 1, B, U]), valueInfo('Y_h', [1, B, U])],
  );
}
