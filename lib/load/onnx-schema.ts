// The part of onnx.proto (onnx/onnx.proto, IR version 10+) the ONNX reader needs, as a protobufjs
// reflection schema: field numbers exactly as onnx.proto; fields left out here are skipped on decode.
// Enums are read as plain integers (AttributeProto.type, TensorProto.data_type and data_location).
import protobuf from 'protobufjs/light.js';

/** An int64 field as protobufjs decodes it: a number, or a Long (from the `long` package) when it is installed. */
export type Int64 = number | { toNumber(): number };

export interface OnnxOperatorSet {
  domain: string;
  version: Int64;
}

export interface OnnxStringEntry {
  key: string;
  value: string;
}

export interface OnnxTensor {
  dims: Int64[];
  dataType: number;
  segment: object | null;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: Int64[];
  name: string;
  rawData: Uint8Array;
  externalData: OnnxStringEntry[];
  dataLocation: number;
  doubleData: number[];
  uint64Data: Int64[];
}

export interface OnnxDimension {
  dimValue: Int64;
  dimParam: string;
}

export interface OnnxType {
  tensorType: { elemType: number; shape: { dim: OnnxDimension[] } | null } | null;
}

export interface OnnxValueInfo {
  name: string;
  type: OnnxType | null;
}

export interface OnnxAttribute {
  name: string;
  refAttrName: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t: OnnxTensor | null;
  g: OnnxGraph | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: OnnxTensor[];
  graphs: OnnxGraph[];
}

export interface OnnxNode {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: OnnxAttribute[];
}

export interface OnnxGraph {
  node: OnnxNode[];
  name: string;
  initializer: OnnxTensor[];
  sparseInitializer: { values: OnnxTensor | null }[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: Int64;
  opsetImport: OnnxOperatorSet[];
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph | null;
}

const field = (id: number, type: string, rule?: 'repeated') => (rule ? { id, type, rule } : { id, type });

/** onnx.proto's messages by name, with their field numbers. */
export const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        OperatorSetIdProto: { fields: { domain: field(1, 'string'), version: field(2, 'int64') } },
        StringStringEntryProto: { fields: { key: field(1, 'string'), value: field(2, 'string') } },
        TensorProto: {
          fields: {
            dims: field(1, 'int64', 'repeated'),
            dataType: field(2, 'int32'),
            segment: field(3, 'Segment'),
            floatData: field(4, 'float', 'repeated'),
            int32Data: field(5, 'int32', 'repeated'),
            stringData: field(6, 'bytes', 'repeated'),
            int64Data: field(7, 'int64', 'repeated'),
            name: field(8, 'string'),
            rawData: field(9, 'bytes'),
            doubleData: field(10, 'double', 'repeated'),
            uint64Data: field(11, 'uint64', 'repeated'),
            externalData: field(13, 'StringStringEntryProto', 'repeated'),
            dataLocation: field(14, 'int32'),
          },
          nested: { Segment: { fields: { begin: field(1, 'int64'), end: field(2, 'int64') } } },
        },
        TensorShapeProto: {
          fields: { dim: field(1, 'Dimension', 'repeated') },
          nested: { Dimension: { fields: { dimValue: field(1, 'int64'), dimParam: field(2, 'string') } } },
        },
        TypeProto: {
          fields: { tensorType: field(1, 'Tensor') },
          nested: { Tensor: { fields: { elemType: field(1, 'int32'), shape: field(2, 'TensorShapeProto') } } },
        },
        ValueInfoProto: { fields: { name: field(1, 'string'), type: field(2, 'TypeProto') } },
        AttributeProto: {
          fields: {
            name: field(1, 'string'),
            f: field(2, 'float'),
            i: field(3, 'int64'),
            s: field(4, 'bytes'),
            t: field(5, 'TensorProto'),
            g: field(6, 'GraphProto'),
            floats: field(7, 'float', 'repeated'),
            ints: field(8, 'int64', 'repeated'),
            strings: field(9, 'bytes', 'repeated'),
            tensors: field(10, 'TensorProto', 'repeated'),
            graphs: field(11, 'GraphProto', 'repeated'),
            type: field(20, 'int32'),
            refAttrName: field(21, 'string'),
          },
        },
        NodeProto: {
          fields: {
            input: field(1, 'string', 'repeated'),
            output: field(2, 'string', 'repeated'),
            name: field(3, 'string'),
            opType: field(4, 'string'),
            attribute: field(5, 'AttributeProto', 'repeated'),
            domain: field(7, 'string'),
          },
        },
        SparseTensorProto: { fields: { values: field(1, 'TensorProto'), dims: field(3, 'int64', 'repeated') } },
        GraphProto: {
          fields: {
            node: field(1, 'NodeProto', 'repeated'),
            name: field(2, 'string'),
            initializer: field(5, 'TensorProto', 'repeated'),
            input: field(11, 'ValueInfoProto', 'repeated'),
            output: field(12, 'ValueInfoProto', 'repeated'),
            sparseInitializer: field(15, 'SparseTensorProto', 'repeated'),
          },
        },
        ModelProto: {
          fields: {
            irVersion: field(1, 'int64'),
            producerName: field(2, 'string'),
            producerVersion: field(3, 'string'),
            graph: field(7, 'GraphProto'),
            opsetImport: field(8, 'OperatorSetIdProto', 'repeated'),
          },
        },
      },
    },
  },
};

let root: protobuf.Root | null = null;

/** The schema's message types (built once). Tests also use them to encode small models. */
export function onnxType(name: 'ModelProto' | 'GraphProto' | 'NodeProto' | 'TensorProto' | 'AttributeProto'): protobuf.Type {
  root ??= protobuf.Root.fromJSON(ONNX_SCHEMA);
  return root.lookupType(`onnx.${name}`);
}

/** Decodes a ModelProto; throws protobufjs' error on bytes that are not one. */
export function decodeModelProto(bytes: Uint8Array): OnnxModel {
  return onnxType('ModelProto').decode(bytes) as unknown as OnnxModel;
}
