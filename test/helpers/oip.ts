import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS whose exports Node cannot detect statically: only the default import works at runtime.
const { onnx } = onnxProto;
const { FLOAT, UINT32, BOOL, INT64 } = onnx.TensorProto.DataType;

const valueInfo = (name: string, elemType: number, dims: number[]): onnxProto.onnx.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } },
});

function floats(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  const rawData = new Uint8Array(values.length * 4);
  const view = new DataView(rawData.buffer);
  values.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return { name, dims, dataType: FLOAT, rawData };
}

/**
 * The model of the KServe V2 specification's examples ("mymodel"): inputs `input0` UINT32 [2, 2] and `input1`
 * BOOL [3]; outputs `output0` FP32 [3, 2] = input1 as 0/1 down each row plus [[0, 0.1], [2, 2.1], [2, 2.1]],
 * and `output1` FP32 [2, 2] = input0 + 9. With the examples' inputs [1, 2, 3, 4] and [true, false, true] the
 * outputs are the examples' [1.0, 1.1, 2.0, 2.1, 3.0, 3.1] and [10.0, 11.0, 12.0, 13.0].
 */
export function buildSpecExampleModel(): Uint8Array {
  const cast = (to: number): onnxProto.onnx.IAttributeProto => ({
    name: 'to',
    type: onnx.AttributeProto.AttributeType.INT,
    i: to,
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'ai-code',
    graph: {
      name: 'mymodel',
      node: [
        { name: 'Cast0', opType: 'Cast', input: ['input0'], output: ['input0_f'], attribute: [cast(FLOAT)] },
        { name: 'Add1', opType: 'Add', input: ['input0_f', 'nine'], output: ['output1'] },
        { name: 'Cast1', opType: 'Cast', input: ['input1'], output: ['input1_f'], attribute: [cast(FLOAT)] },
        { name: 'Column', opType: 'Unsqueeze', input: ['input1_f', 'axis1'], output: ['column'] },
        { name: 'Add0', opType: 'Add', input: ['column', 'offsets'], output: ['output0'] },
      ],
      initializer: [
        floats('nine', [], [9]),
        floats('offsets', [3, 2], [0, 0.1, 2, 2.1, 2, 2.1]),
        { name: 'axis1', dims: [1], dataType: INT64, int64Data: [1] },
      ],
      input: [valueInfo('input0', UINT32, [2, 2]), valueInfo('input1', BOOL, [3])],
      output: [valueInfo('output0', FLOAT, [3, 2]), valueInfo('output1', FLOAT, [2, 2])],
    },
  }).finish();
}

/** A binary tensor data request body: the JSON header, then each tensor's bytes in order. */
export function binaryBody(header: unknown, tensors: Buffer[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...tensors]), headerLength: json.length };
}

/** BYTES elements as the binary extension writes them: a 4-byte little-endian length before each. */
export function bytesElements(strings: string[]): Buffer {
  return Buffer.concat(
    strings.flatMap((text) => {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    }),
  );
}

/** Splits a binary tensor data response into its JSON header and binary section. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on the header's shape
export function splitBinaryResponse(body: Buffer, headerLength: number): { header: any; binary: Buffer } {
  return { header: JSON.parse(body.subarray(0, headerLength).toString('utf8')), binary: body.subarray(headerLength) };
}
