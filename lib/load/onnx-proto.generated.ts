// Generated from lib/load/onnx.proto by scripts/gen-onnx-decoder.mjs (npm run gen:onnx): do not edit.
// Static readers and writers over pbf, one per message of onnx.proto's subset; see the script for
// how they read (typed camelCase fields, protobuf's defaults, lengths checked).
import type { DeepPartial } from 'pbf';
import { PbfReader, PbfWriter } from 'pbf';

/** The value of an absent bytes field (empty, so nothing can write into it). */
const EMPTY = new Uint8Array(0);

/** The end of the length-delimited field starting here, which must lie within its message's end. */
function fieldEnd(pbf: PbfReader, end: number): number {
  const start = pbf.pos;
  const length = pbf.readVarint();
  if (pbf.pos + length > end) throw new Error(`a field of ${length} bytes at byte ${start} runs past the end of its message (byte ${end})`);
  return pbf.pos + length;
}

/** A message ends exactly at its length: not past it (a field ran over), not before (field number 0). */
function checkEnd(pbf: PbfReader, end: number): void {
  if (pbf.pos > end) throw new Error(`a field runs past the end of its message (byte ${end}) to byte ${pbf.pos}`);
  if (pbf.pos < end) throw new Error(`invalid field number 0 at byte ${pbf.pos}`);
}

/** Reads a whole buffer as the message read reads. */
export function decode<T>(bytes: Uint8Array, read: (pbf: PbfReader, end: number) => T): T {
  const pbf = new PbfReader(bytes);
  return read(pbf, pbf.length);
}

/** Encodes a message with its write function. */
export function encode<T>(obj: DeepPartial<T>, write: (obj: DeepPartial<T>, pbf: PbfWriter) => void): Uint8Array {
  const pbf = new PbfWriter();
  write(obj, pbf);
  return pbf.finish();
}

/** onnx.AttributeProto */
export interface AttributeProto {
  /** optional string name = 1 */
  name: string;
  /** optional string ref_attr_name = 21 */
  refAttrName: string;
  /** optional AttributeType type = 20 */
  type: number;
  /** optional float f = 2 */
  f: number;
  /** optional int64 i = 3 */
  i: number;
  /** optional bytes s = 4 */
  s: Uint8Array;
  /** optional TensorProto t = 5 */
  t: TensorProto | null;
  /** optional GraphProto g = 6 */
  g: GraphProto | null;
  /** repeated float floats = 7 */
  floats: number[];
  /** repeated int64 ints = 8 */
  ints: number[];
  /** repeated bytes strings = 9 */
  strings: Uint8Array[];
  /** repeated TensorProto tensors = 10 */
  tensors: TensorProto[];
  /** repeated GraphProto graphs = 11 */
  graphs: GraphProto[];
}

export function readAttributeProto(pbf: PbfReader, end: number): AttributeProto {
  const obj: AttributeProto = { name: '', refAttrName: '', type: 0, f: 0, i: 0, s: EMPTY, t: null, g: null, floats: [], ints: [], strings: [], tensors: [], graphs: [] };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 2) obj.name = pbf.readString();
    else if (field === 21 && pbf.type === 2) obj.refAttrName = pbf.readString();
    else if (field === 20 && pbf.type === 0) obj.type = pbf.readVarint(true);
    else if (field === 2 && pbf.type === 5) obj.f = pbf.readFloat();
    else if (field === 3 && pbf.type === 0) obj.i = pbf.readVarint(true);
    else if (field === 4 && pbf.type === 2) obj.s = pbf.readBytes();
    else if (field === 5 && pbf.type === 2) obj.t = readTensorProto(pbf, fieldEnd(pbf, end));
    else if (field === 6 && pbf.type === 2) obj.g = readGraphProto(pbf, fieldEnd(pbf, end));
    else if (field === 7 && (pbf.type === 2 || pbf.type === 5)) pbf.readPackedFloat(obj.floats);
    else if (field === 8 && (pbf.type === 2 || pbf.type === 0)) pbf.readPackedVarint(obj.ints, true);
    else if (field === 9 && pbf.type === 2) obj.strings.push(pbf.readBytes());
    else if (field === 10 && pbf.type === 2) obj.tensors.push(readTensorProto(pbf, fieldEnd(pbf, end)));
    else if (field === 11 && pbf.type === 2) obj.graphs.push(readGraphProto(pbf, fieldEnd(pbf, end)));
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeAttributeProto(obj: DeepPartial<AttributeProto>, pbf: PbfWriter): void {
  if (obj.name != null && obj.name !== '') pbf.writeStringField(1, obj.name);
  if (obj.refAttrName != null && obj.refAttrName !== '') pbf.writeStringField(21, obj.refAttrName);
  if (obj.type != null && obj.type !== 0) pbf.writeVarintField(20, obj.type);
  if (obj.f != null && obj.f !== 0) pbf.writeFloatField(2, obj.f);
  if (obj.i != null && obj.i !== 0) pbf.writeVarintField(3, obj.i);
  if (obj.s?.length) pbf.writeBytesField(4, obj.s);
  if (obj.t) pbf.writeMessage(5, writeTensorProto, obj.t);
  if (obj.g) pbf.writeMessage(6, writeGraphProto, obj.g);
  for (const item of obj.floats ?? []) pbf.writeFloatField(7, item);
  for (const item of obj.ints ?? []) pbf.writeVarintField(8, item);
  for (const item of obj.strings ?? []) pbf.writeBytesField(9, item);
  for (const item of obj.tensors ?? []) pbf.writeMessage(10, writeTensorProto, item);
  for (const item of obj.graphs ?? []) pbf.writeMessage(11, writeGraphProto, item);
}

/** onnx.ValueInfoProto */
export interface ValueInfoProto {
  /** optional string name = 1 */
  name: string;
  /** optional TypeProto type = 2 */
  type: TypeProto | null;
}

export function readValueInfoProto(pbf: PbfReader, end: number): ValueInfoProto {
  const obj: ValueInfoProto = { name: '', type: null };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 2) obj.name = pbf.readString();
    else if (field === 2 && pbf.type === 2) obj.type = readTypeProto(pbf, fieldEnd(pbf, end));
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeValueInfoProto(obj: DeepPartial<ValueInfoProto>, pbf: PbfWriter): void {
  if (obj.name != null && obj.name !== '') pbf.writeStringField(1, obj.name);
  if (obj.type) pbf.writeMessage(2, writeTypeProto, obj.type);
}

/** onnx.NodeProto */
export interface NodeProto {
  /** repeated string input = 1 */
  input: string[];
  /** repeated string output = 2 */
  output: string[];
  /** optional string name = 3 */
  name: string;
  /** optional string op_type = 4 */
  opType: string;
  /** optional string domain = 7 */
  domain: string;
  /** repeated AttributeProto attribute = 5 */
  attribute: AttributeProto[];
}

export function readNodeProto(pbf: PbfReader, end: number): NodeProto {
  const obj: NodeProto = { input: [], output: [], name: '', opType: '', domain: '', attribute: [] };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 2) obj.input.push(pbf.readString());
    else if (field === 2 && pbf.type === 2) obj.output.push(pbf.readString());
    else if (field === 3 && pbf.type === 2) obj.name = pbf.readString();
    else if (field === 4 && pbf.type === 2) obj.opType = pbf.readString();
    else if (field === 7 && pbf.type === 2) obj.domain = pbf.readString();
    else if (field === 5 && pbf.type === 2) obj.attribute.push(readAttributeProto(pbf, fieldEnd(pbf, end)));
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeNodeProto(obj: DeepPartial<NodeProto>, pbf: PbfWriter): void {
  for (const item of obj.input ?? []) pbf.writeStringField(1, item);
  for (const item of obj.output ?? []) pbf.writeStringField(2, item);
  if (obj.name != null && obj.name !== '') pbf.writeStringField(3, obj.name);
  if (obj.opType != null && obj.opType !== '') pbf.writeStringField(4, obj.opType);
  if (obj.domain != null && obj.domain !== '') pbf.writeStringField(7, obj.domain);
  for (const item of obj.attribute ?? []) pbf.writeMessage(5, writeAttributeProto, item);
}

/** onnx.ModelProto */
export interface ModelProto {
  /** optional int64 ir_version = 1 */
  irVersion: number;
  /** repeated OperatorSetIdProto opset_import = 8 */
  opsetImport: OperatorSetIdProto[];
  /** optional string producer_name = 2 */
  producerName: string;
  /** optional string producer_version = 3 */
  producerVersion: string;
  /** optional GraphProto graph = 7 */
  graph: GraphProto | null;
}

export function readModelProto(pbf: PbfReader, end: number): ModelProto {
  const obj: ModelProto = { irVersion: 0, opsetImport: [], producerName: '', producerVersion: '', graph: null };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 0) obj.irVersion = pbf.readVarint(true);
    else if (field === 8 && pbf.type === 2) obj.opsetImport.push(readOperatorSetIdProto(pbf, fieldEnd(pbf, end)));
    else if (field === 2 && pbf.type === 2) obj.producerName = pbf.readString();
    else if (field === 3 && pbf.type === 2) obj.producerVersion = pbf.readString();
    else if (field === 7 && pbf.type === 2) obj.graph = readGraphProto(pbf, fieldEnd(pbf, end));
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeModelProto(obj: DeepPartial<ModelProto>, pbf: PbfWriter): void {
  if (obj.irVersion != null && obj.irVersion !== 0) pbf.writeVarintField(1, obj.irVersion);
  for (const item of obj.opsetImport ?? []) pbf.writeMessage(8, writeOperatorSetIdProto, item);
  if (obj.producerName != null && obj.producerName !== '') pbf.writeStringField(2, obj.producerName);
  if (obj.producerVersion != null && obj.producerVersion !== '') pbf.writeStringField(3, obj.producerVersion);
  if (obj.graph) pbf.writeMessage(7, writeGraphProto, obj.graph);
}

/** onnx.StringStringEntryProto */
export interface StringStringEntryProto {
  /** optional string key = 1 */
  key: string;
  /** optional string value = 2 */
  value: string;
}

export function readStringStringEntryProto(pbf: PbfReader, end: number): StringStringEntryProto {
  const obj: StringStringEntryProto = { key: '', value: '' };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 2) obj.key = pbf.readString();
    else if (field === 2 && pbf.type === 2) obj.value = pbf.readString();
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeStringStringEntryProto(obj: DeepPartial<StringStringEntryProto>, pbf: PbfWriter): void {
  if (obj.key != null && obj.key !== '') pbf.writeStringField(1, obj.key);
  if (obj.value != null && obj.value !== '') pbf.writeStringField(2, obj.value);
}

/** onnx.GraphProto */
export interface GraphProto {
  /** repeated NodeProto node = 1 */
  node: NodeProto[];
  /** optional string name = 2 */
  name: string;
  /** repeated TensorProto initializer = 5 */
  initializer: TensorProto[];
  /** repeated SparseTensorProto sparse_initializer = 15 */
  sparseInitializer: SparseTensorProto[];
  /** repeated ValueInfoProto input = 11 */
  input: ValueInfoProto[];
  /** repeated ValueInfoProto output = 12 */
  output: ValueInfoProto[];
}

export function readGraphProto(pbf: PbfReader, end: number): GraphProto {
  const obj: GraphProto = { node: [], name: '', initializer: [], sparseInitializer: [], input: [], output: [] };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 2) obj.node.push(readNodeProto(pbf, fieldEnd(pbf, end)));
    else if (field === 2 && pbf.type === 2) obj.name = pbf.readString();
    else if (field === 5 && pbf.type === 2) obj.initializer.push(readTensorProto(pbf, fieldEnd(pbf, end)));
    else if (field === 15 && pbf.type === 2) obj.sparseInitializer.push(readSparseTensorProto(pbf, fieldEnd(pbf, end)));
    else if (field === 11 && pbf.type === 2) obj.input.push(readValueInfoProto(pbf, fieldEnd(pbf, end)));
    else if (field === 12 && pbf.type === 2) obj.output.push(readValueInfoProto(pbf, fieldEnd(pbf, end)));
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeGraphProto(obj: DeepPartial<GraphProto>, pbf: PbfWriter): void {
  for (const item of obj.node ?? []) pbf.writeMessage(1, writeNodeProto, item);
  if (obj.name != null && obj.name !== '') pbf.writeStringField(2, obj.name);
  for (const item of obj.initializer ?? []) pbf.writeMessage(5, writeTensorProto, item);
  for (const item of obj.sparseInitializer ?? []) pbf.writeMessage(15, writeSparseTensorProto, item);
  for (const item of obj.input ?? []) pbf.writeMessage(11, writeValueInfoProto, item);
  for (const item of obj.output ?? []) pbf.writeMessage(12, writeValueInfoProto, item);
}

/** onnx.TensorProto */
export interface TensorProto {
  /** repeated int64 dims = 1 */
  dims: number[];
  /** optional int32 data_type = 2 */
  dataType: number;
  /** optional Segment segment = 3 */
  segment: TensorProtoSegment | null;
  /** repeated float float_data = 4 [packed = true] */
  floatData: number[];
  /** repeated int32 int32_data = 5 [packed = true] */
  int32Data: number[];
  /** repeated bytes string_data = 6 */
  stringData: Uint8Array[];
  /** repeated int64 int64_data = 7 [packed = true] */
  int64Data: number[];
  /** optional string name = 8 */
  name: string;
  /** optional bytes raw_data = 9 */
  rawData: Uint8Array;
  /** repeated StringStringEntryProto external_data = 13 */
  externalData: StringStringEntryProto[];
  /** optional DataLocation data_location = 14 */
  dataLocation: number;
  /** repeated double double_data = 10 [packed = true] */
  doubleData: number[];
  /** repeated uint64 uint64_data = 11 [packed = true] */
  uint64Data: number[];
}

export function readTensorProto(pbf: PbfReader, end: number): TensorProto {
  const obj: TensorProto = { dims: [], dataType: 0, segment: null, floatData: [], int32Data: [], stringData: [], int64Data: [], name: '', rawData: EMPTY, externalData: [], dataLocation: 0, doubleData: [], uint64Data: [] };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && (pbf.type === 2 || pbf.type === 0)) pbf.readPackedVarint(obj.dims, true);
    else if (field === 2 && pbf.type === 0) obj.dataType = pbf.readVarint(true);
    else if (field === 3 && pbf.type === 2) obj.segment = readTensorProtoSegment(pbf, fieldEnd(pbf, end));
    else if (field === 4 && (pbf.type === 2 || pbf.type === 5)) pbf.readPackedFloat(obj.floatData);
    else if (field === 5 && (pbf.type === 2 || pbf.type === 0)) pbf.readPackedVarint(obj.int32Data, true);
    else if (field === 6 && pbf.type === 2) obj.stringData.push(pbf.readBytes());
    else if (field === 7 && (pbf.type === 2 || pbf.type === 0)) pbf.readPackedVarint(obj.int64Data, true);
    else if (field === 8 && pbf.type === 2) obj.name = pbf.readString();
    else if (field === 9 && pbf.type === 2) obj.rawData = pbf.readBytes();
    else if (field === 13 && pbf.type === 2) obj.externalData.push(readStringStringEntryProto(pbf, fieldEnd(pbf, end)));
    else if (field === 14 && pbf.type === 0) obj.dataLocation = pbf.readVarint(true);
    else if (field === 10 && (pbf.type === 2 || pbf.type === 1)) pbf.readPackedDouble(obj.doubleData);
    else if (field === 11 && (pbf.type === 2 || pbf.type === 0)) pbf.readPackedVarint(obj.uint64Data);
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeTensorProto(obj: DeepPartial<TensorProto>, pbf: PbfWriter): void {
  for (const item of obj.dims ?? []) pbf.writeVarintField(1, item);
  if (obj.dataType != null && obj.dataType !== 0) pbf.writeVarintField(2, obj.dataType);
  if (obj.segment) pbf.writeMessage(3, writeTensorProtoSegment, obj.segment);
  if (obj.floatData?.length) pbf.writePackedFloat(4, obj.floatData);
  if (obj.int32Data?.length) pbf.writePackedVarint(5, obj.int32Data);
  for (const item of obj.stringData ?? []) pbf.writeBytesField(6, item);
  if (obj.int64Data?.length) pbf.writePackedVarint(7, obj.int64Data);
  if (obj.name != null && obj.name !== '') pbf.writeStringField(8, obj.name);
  if (obj.rawData?.length) pbf.writeBytesField(9, obj.rawData);
  for (const item of obj.externalData ?? []) pbf.writeMessage(13, writeStringStringEntryProto, item);
  if (obj.dataLocation != null && obj.dataLocation !== 0) pbf.writeVarintField(14, obj.dataLocation);
  if (obj.doubleData?.length) pbf.writePackedDouble(10, obj.doubleData);
  if (obj.uint64Data?.length) pbf.writePackedVarint(11, obj.uint64Data);
}

/** onnx.TensorProto.Segment */
export interface TensorProtoSegment {
  /** optional int64 begin = 1 */
  begin: number;
  /** optional int64 end = 2 */
  end: number;
}

export function readTensorProtoSegment(pbf: PbfReader, end: number): TensorProtoSegment {
  const obj: TensorProtoSegment = { begin: 0, end: 0 };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 0) obj.begin = pbf.readVarint(true);
    else if (field === 2 && pbf.type === 0) obj.end = pbf.readVarint(true);
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeTensorProtoSegment(obj: DeepPartial<TensorProtoSegment>, pbf: PbfWriter): void {
  if (obj.begin != null && obj.begin !== 0) pbf.writeVarintField(1, obj.begin);
  if (obj.end != null && obj.end !== 0) pbf.writeVarintField(2, obj.end);
}

/** onnx.SparseTensorProto */
export interface SparseTensorProto {
  /** optional TensorProto values = 1 */
  values: TensorProto | null;
  /** repeated int64 dims = 3 */
  dims: number[];
}

export function readSparseTensorProto(pbf: PbfReader, end: number): SparseTensorProto {
  const obj: SparseTensorProto = { values: null, dims: [] };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 2) obj.values = readTensorProto(pbf, fieldEnd(pbf, end));
    else if (field === 3 && (pbf.type === 2 || pbf.type === 0)) pbf.readPackedVarint(obj.dims, true);
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeSparseTensorProto(obj: DeepPartial<SparseTensorProto>, pbf: PbfWriter): void {
  if (obj.values) pbf.writeMessage(1, writeTensorProto, obj.values);
  for (const item of obj.dims ?? []) pbf.writeVarintField(3, item);
}

/** onnx.TensorShapeProto */
export interface TensorShapeProto {
  /** repeated Dimension dim = 1 */
  dim: TensorShapeProtoDimension[];
}

export function readTensorShapeProto(pbf: PbfReader, end: number): TensorShapeProto {
  const obj: TensorShapeProto = { dim: [] };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 2) obj.dim.push(readTensorShapeProtoDimension(pbf, fieldEnd(pbf, end)));
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeTensorShapeProto(obj: DeepPartial<TensorShapeProto>, pbf: PbfWriter): void {
  for (const item of obj.dim ?? []) pbf.writeMessage(1, writeTensorShapeProtoDimension, item);
}

/** onnx.TensorShapeProto.Dimension */
export interface TensorShapeProtoDimension {
  /** oneof value: int64 dim_value = 1 */
  dimValue: number;
  /** oneof value: string dim_param = 2 */
  dimParam: string;
}

export function readTensorShapeProtoDimension(pbf: PbfReader, end: number): TensorShapeProtoDimension {
  const obj: TensorShapeProtoDimension = { dimValue: 0, dimParam: '' };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 0) { obj.dimValue = pbf.readVarint(true); obj.dimParam = ''; }
    else if (field === 2 && pbf.type === 2) { obj.dimParam = pbf.readString(); obj.dimValue = 0; }
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeTensorShapeProtoDimension(obj: DeepPartial<TensorShapeProtoDimension>, pbf: PbfWriter): void {
  if (obj.dimValue != null) pbf.writeVarintField(1, obj.dimValue);
  if (obj.dimParam != null) pbf.writeStringField(2, obj.dimParam);
}

/** onnx.TypeProto */
export interface TypeProto {
  /** oneof value: Tensor tensor_type = 1 */
  tensorType: TypeProtoTensor | null;
}

export function readTypeProto(pbf: PbfReader, end: number): TypeProto {
  const obj: TypeProto = { tensorType: null };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 2) obj.tensorType = readTypeProtoTensor(pbf, fieldEnd(pbf, end));
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeTypeProto(obj: DeepPartial<TypeProto>, pbf: PbfWriter): void {
  if (obj.tensorType) pbf.writeMessage(1, writeTypeProtoTensor, obj.tensorType);
}

/** onnx.TypeProto.Tensor */
export interface TypeProtoTensor {
  /** optional int32 elem_type = 1 */
  elemType: number;
  /** optional TensorShapeProto shape = 2 */
  shape: TensorShapeProto | null;
}

export function readTypeProtoTensor(pbf: PbfReader, end: number): TypeProtoTensor {
  const obj: TypeProtoTensor = { elemType: 0, shape: null };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 0) obj.elemType = pbf.readVarint(true);
    else if (field === 2 && pbf.type === 2) obj.shape = readTensorShapeProto(pbf, fieldEnd(pbf, end));
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeTypeProtoTensor(obj: DeepPartial<TypeProtoTensor>, pbf: PbfWriter): void {
  if (obj.elemType != null && obj.elemType !== 0) pbf.writeVarintField(1, obj.elemType);
  if (obj.shape) pbf.writeMessage(2, writeTensorShapeProto, obj.shape);
}

/** onnx.OperatorSetIdProto */
export interface OperatorSetIdProto {
  /** optional string domain = 1 */
  domain: string;
  /** optional int64 version = 2 */
  version: number;
}

export function readOperatorSetIdProto(pbf: PbfReader, end: number): OperatorSetIdProto {
  const obj: OperatorSetIdProto = { domain: '', version: 0 };
  let field: number;
  while ((field = pbf.nextField(end))) {
    if (field === 1 && pbf.type === 2) obj.domain = pbf.readString();
    else if (field === 2 && pbf.type === 0) obj.version = pbf.readVarint(true);
  }
  checkEnd(pbf, end);
  return obj;
}

export function writeOperatorSetIdProto(obj: DeepPartial<OperatorSetIdProto>, pbf: PbfWriter): void {
  if (obj.domain != null && obj.domain !== '') pbf.writeStringField(1, obj.domain);
  if (obj.version != null && obj.version !== 0) pbf.writeVarintField(2, obj.version);
}
