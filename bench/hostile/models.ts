import onnxProto from 'onnx-proto';

// CommonJS whose exports Node cannot detect statically: only the default import works (as lib/onnx/build-model.ts).
const { onnx } = onnxProto;

/**
 * y = ConstantOfShape(x): input 'x' int64 [1] (the length asked for), output 'y' float32 of that
 * length, every element `value`. One input element, as many output elements as the caller asks:
 * lib/onnx/build-model.ts has no such op, so it is built here, with the same IR 8 / opset 13.
 */
export function buildConstantOfShapeModel(value: number): Uint8Array {
  const rawData = new Uint8Array(4);
  new DataView(rawData.buffer).setFloat32(0, value, true);
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'ai-code-bench',
    graph: {
      name: 'constant-of-shape',
      node: [
        {
          name: 'ConstantOfShape',
          opType: 'ConstantOfShape',
          input: ['x'],
          output: ['y'],
          attribute: [
            {
              name: 'value',
              type: onnx.AttributeProto.AttributeType.TENSOR,
              t: { dims: [1], dataType: onnx.TensorProto.DataType.FLOAT, rawData },
            },
          ],
        },
      ],
      input: [
        {
          name: 'x',
          type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [{ dimValue: 1 }] } } },
        },
      ],
      output: [
        { name: 'y', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{}] } } } },
      ],
    },
  }).finish();
}
