// (being written) ONNX reader.
import { modelError, type LayerSpec } from './spec.js';
import type { ModelFile } from './source.js';

export async function readOnnx(file: ModelFile): Promise<LayerSpec[]> {
  return modelError(file.name, 'ONNX is not read yet');
}
