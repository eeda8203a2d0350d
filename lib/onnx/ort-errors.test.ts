import { describe, expect, it } from 'vitest';
import { ortClientMessage } from './ort-errors.js';

// Messages as onnxruntime-node 1.30 gives them, for models that fail to load or to run.
describe('ortClientMessage', () => {
  it('drops C++ source locations and signatures, keeping the reason', () => {
    const message =
      'Exception during initialization: /onnxruntime_src/onnxruntime/core/optimizer/initializer.cc:51 ' +
      'onnxruntime::Initializer::Initializer(const onnx::TensorProto&, const std::filesystem::__cxx11::path&) ' +
      '[ONNXRuntimeError] : 1 : FAIL : tensorprotoutils.cc:1469 ValidateEmbeddedTensorProtoDataSizeAndShape ' +
      "Initializer 'w': raw_data size (6 bytes) does not match expected size from shape and data type (16 bytes)";
    expect(ortClientMessage(message)).toBe(
      "Exception during initialization: Initializer 'w': raw_data size (6 bytes) does not match expected size " +
        'from shape and data type (16 bytes)',
    );
  });

  it('keeps only the file name of absolute paths', () => {
    const message =
      'External data path validation failed for initializer: w. Error: tensorprotoutils.cc:461 ' +
      'ValidateExternalDataPathFromDir External data path does not exist: "/tmp/ai-code-model-x1/weights.bin"';
    expect(ortClientMessage(message)).toBe(
      'External data path validation failed for initializer: w. Error: External data path does not exist: "weights.bin"',
    );
  });

  it('names the model instead of its path', () => {
    const path = '/data/model-cache/1234.onnx';
    expect(ortClientMessage(`Load model from ${path} failed:Type Error: bound to different types`, path)).toBe(
      'Type Error: bound to different types',
    );
  });

  it('cleans run failures', () => {
    const message =
      "Non-zero status code returned while running Reshape node. Name:'' Status Message: " +
      '/onnxruntime_src/onnxruntime/core/providers/cpu/tensor/reshape_helper.h:91 ' +
      'onnxruntime::ReshapeHelper::ReshapeHelper(const onnxruntime::TensorShape&, onnxruntime::TensorShapeVector&, bool) ' +
      'input_shape_size == requested_shape_size was false. The input tensor cannot be reshaped to the requested shape. ' +
      'Input shape:{3}, requested shape:{5}';
    expect(ortClientMessage(message)).toBe(
      "Non-zero status code returned while running Reshape node. Name:'' Status Message: input_shape_size == " +
        'requested_shape_size was false. The input tensor cannot be reshaped to the requested shape. ' +
        'Input shape:{3}, requested shape:{5}',
    );
  });

  it('leaves ordinary messages alone', () => {
    expect(ortClientMessage('Protobuf parsing failed.')).toBe('Protobuf parsing failed.');
    expect(ortClientMessage('Type Error: tensor(float) and tensor(int64)')).toBe(
      'Type Error: tensor(float) and tensor(int64)',
    );
  });
});
