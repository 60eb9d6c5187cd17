/**
 * The part of ONNX's protobuf schema (onnx/onnx.proto, IR version 8) that pixelgrad reads and
 * writes, as a protobufjs JSON descriptor. Field numbers are the schema's; fields left out
 * (sparse tensors, sequence/map types, functions, training info, nested graphs in attributes) are
 * skipped on reading as unknown fields, so a graph cannot nest graphs here: decoding recursion is
 * bounded by this schema's depth (model → graph → node → attribute → tensor). Browser-safe.
 */
import protobuf from 'protobufjs/light.js';
import { PixelgradError } from '../../errors.js';

/** An ONNX file or buffer that breaks the format or pixelgrad's limits; the message is one line. */
export class OnnxError extends PixelgradError {}

const str = (id: number) => ({ type: 'string', id });
const i64 = (id: number) => ({ type: 'int64', id });
const many = (type: string, id: number) => ({ rule: 'repeated', type, id });

const schema = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: str(1), value: str(2) } },
        OperatorSetIdProto: { fields: { domain: str(1), version: i64(2) } },
        TensorShapeProto: {
          fields: { dim: many('Dimension', 1) },
          nested: { Dimension: { fields: { dimValue: i64(1), dimParam: str(2) } } },
        },
        TypeProto: {
          fields: { tensorType: { type: 'TensorType', id: 1 } },
          nested: { TensorType: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'onnx.TensorShapeProto', id: 2 } } } },
        },
        ValueInfoProto: { fields: { name: str(1), type: { type: 'TypeProto', id: 2 }, docString: str(3) } },
        TensorProto: {
          fields: {
            dims: many('int64', 1), dataType: { type: 'int32', id: 2 }, floatData: many('float', 4),
            int32Data: many('int32', 5), int64Data: many('int64', 7), name: str(8), rawData: { type: 'bytes', id: 9 },
            doubleData: many('double', 10), docString: str(12), externalData: many('StringStringEntryProto', 13),
            dataLocation: { type: 'int32', id: 14 },
          },
        },
        AttributeProto: {
          fields: {
            name: str(1), f: { type: 'float', id: 2 }, i: i64(3), s: { type: 'bytes', id: 4 }, t: { type: 'TensorProto', id: 5 },
            floats: many('float', 7), ints: many('int64', 8), strings: many('bytes', 9), type: { type: 'int32', id: 20 },
          },
        },
        NodeProto: {
          fields: {
            input: many('string', 1), output: many('string', 2), name: str(3), opType: str(4),
            attribute: many('AttributeProto', 5), docString: str(6), domain: str(7),
          },
        },
        GraphProto: {
          fields: {
            node: many('NodeProto', 1), name: str(2), initializer: many('TensorProto', 5), docString: str(10),
            input: many('ValueInfoProto', 11), output: many('ValueInfoProto', 12), valueInfo: many('ValueInfoProto', 13),
          },
        },
        ModelProto: {
          fields: {
            irVersion: i64(1), producerName: str(2), producerVersion: str(3), domain: str(4), modelVersion: i64(5),
            docString: str(6), graph: { type: 'GraphProto', id: 7 }, opsetImport: many('OperatorSetIdProto', 8),
            metadataProps: many('StringStringEntryProto', 14),
          },
        },
      },
    },
  },
};

const ModelType = protobuf.Root.fromJSON(schema).lookupType('onnx.ModelProto');

/** ONNX's TensorProto.DataType codes used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;
/** ONNX's AttributeProto.AttributeType codes used here. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** An int64 as decoded (a decimal string) or as given to the encoder (a number). */
export type Int64 = number | string;

export interface TensorProto {
  dims: Int64[]; dataType: number; floatData: number[]; int32Data: number[]; int64Data: Int64[];
  doubleData: number[]; name: string; rawData: Uint8Array; externalData: { key: string; value: string }[]; dataLocation: number;
}
export interface AttributeProto {
  name: string; type: number; f: number; i: Int64; s: Uint8Array; t?: TensorProto | null; floats: number[]; ints: Int64[]; strings: Uint8Array[];
}
export interface NodeProto { input: string[]; output: string[]; name: string; opType: string; domain: string; attribute: AttributeProto[] }
export interface ValueInfoProto {
  name: string;
  type?: { tensorType?: { elemType: number; shape?: { dim: { dimValue?: Int64; dimParam?: string }[] } | null } | null } | null;
}
export interface GraphProto { node: NodeProto[]; name: string; initializer: TensorProto[]; input: ValueInfoProto[]; output: ValueInfoProto[] }
export interface ModelProto {
  irVersion: Int64; producerName: string; producerVersion: string; graph?: GraphProto | null;
  opsetImport: { domain: string; version: Int64 }[];
}

/** An int64 field as a JS number; `what` names it in the error when it is not a safe integer. */
export function toInt(v: Int64, what: string, op = 'parseOnnx'): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new OnnxError(op, `${what} ${v} is not a usable integer`);
  return n;
}

/**
 * Decodes ONNX model bytes. Every repeated and optional field comes back filled in (protobufjs
 * defaults), so callers need not test for undefined arrays. A truncated or corrupt buffer (bad
 * varint, length past the end, wrong wire type, groups nested too deep) is an `OnnxError`.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  try {
    const msg = ModelType.decode(bytes);
    return ModelType.toObject(msg, { defaults: true, arrays: true, longs: String }) as unknown as ModelProto;
  } catch (e) {
    const why = e instanceof RangeError && /call stack/i.test(e.message) ? 'nesting too deep' : (e as Error).message.split('\n')[0];
    throw new OnnxError('parseOnnx', `not a valid ONNX model (${why})`);
  }
}

/** Encodes a model object (the shape of `ModelProto`, with plain numbers for int64s) to bytes. */
export function encodeModel(model: object): Uint8Array {
  return ModelType.encode(ModelType.fromObject(model)).finish();
}
