// The ONNX messages the reader uses, as onnx-proto.generated.ts reads them from onnx.proto's subset
// (lib/load/onnx.proto, field numbers exactly as onnx/onnx.proto; other fields are skipped): camelCase
// fields, and protobuf's defaults for absent ones ([] for a repeated field, '' and 0, an empty
// Uint8Array for bytes, null for a message). int64 fields are plain numbers (exact up to 2^53).
// Enums are read as plain integers (AttributeProto.type, TensorProto.data_type and data_location).
// The decoder is static code over pbf: reading a model compiles nothing at run time (no eval).
import { decode, readModelProto } from './onnx-proto.generated.js';
import type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  OperatorSetIdProto,
  StringStringEntryProto,
  TensorProto,
  TensorShapeProtoDimension,
  TypeProto,
  ValueInfoProto,
} from './onnx-proto.generated.js';

export type OnnxOperatorSet = OperatorSetIdProto;
export type OnnxStringEntry = StringStringEntryProto;
export type OnnxTensor = TensorProto;
export type OnnxDimension = TensorShapeProtoDimension;
export type OnnxType = TypeProto;
export type OnnxValueInfo = ValueInfoProto;
export type OnnxAttribute = AttributeProto;
export type OnnxNode = NodeProto;
export type OnnxGraph = GraphProto;
export type OnnxModel = ModelProto;

/**
 * Decodes a ModelProto. Throws a plain Error on bytes that are not one: a length or field running
 * past its message or the input, field number 0, a wire type protobuf does not have (a RangeError on
 * nesting deeper than the stack). Bytes fields (raw_data, an attribute's s and strings) are subarrays
 * of `bytes`, not copies: keep it unchanged while the model is in use.
 */
export function decodeModelProto(bytes: Uint8Array): OnnxModel {
  return decode(bytes, readModelProto);
}
