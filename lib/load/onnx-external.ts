// ONNX external data: tensors whose bytes live in a file beside the model (data_location EXTERNAL, as
// torch.onnx.export(..., dynamo=True) writes every initializer over 256 bytes to <model>.onnx.data).
// Each file is read once through the model's sibling(), which confines it to the model's folder
// exactly as TF.js weight shards are (see source.ts), and each tensor gets its bytes as raw_data
// before any reader looks at it.
import { MAX_BUFFER_BYTES } from '../tensor.js';
import { nodeLabel } from './onnx-decode.js';
import type { OnnxGraph, OnnxModel, OnnxTensor } from './onnx-schema.js';
import type { ModelFile } from './source.js';
import { modelError } from './spec.js';

/** TensorProto.DataLocation.EXTERNAL. */
const EXTERNAL = 1;

/** A tensor stored outside the model, and where it is named in the model (for messages). */
interface ExternalTensor {
  tensor: OnnxTensor;
  where: string;
}

/** Every tensor of a graph and its subgraphs that keeps its data in an external file. */
function externalTensors(graph: OnnxGraph, path: string, out: ExternalTensor[]): ExternalTensor[] {
  const isExternal = (t: OnnxTensor) => t.dataLocation === EXTERNAL || t.externalData.length > 0;
  for (const t of graph.initializer) if (isExternal(t)) out.push({ tensor: t, where: `initializer '${t.name}'${path}` });
  for (const node of graph.node) {
    for (const a of node.attribute) {
      for (const t of [a.t, ...a.tensors]) if (t && isExternal(t)) out.push({ tensor: t, where: `attribute '${a.name}' of node ${nodeLabel(node)}${path}` });
      for (const g of [a.g, ...a.graphs]) if (g) externalTensors(g, ` (in ${nodeLabel(node)}'s ${a.name})`, out);
    }
  }
  return out;
}

/** A non-negative integer written as decimal text, as external_data's offset and length are; NaN for anything else. */
function byteCount(text: string | undefined): number | null {
  if (text === undefined) return null;
  return /^\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : NaN;
}

/**
 * Gives every external tensor of the model its bytes from the file it names (location, offset,
 * length), read beside the model (or from loadModel's `files`); the model is changed in place.
 * Each file is read once, and only if it is no longer than its tensors' offsets and lengths say.
 * Refused, naming the tensor and the file: a name outside the model's folder, a file that is
 * missing, not a regular file or longer than declared, an offset or length that is not a byte
 * count inside the file.
 */
export async function readExternalData(model: OnnxModel, file: ModelFile): Promise<void> {
  const refuse = (where: string, why: string): never => modelError(file.name, `${where} keeps its data in an external file (data_location EXTERNAL): ${why}`);
  const parts = (model.graph ? externalTensors(model.graph, '', []) : []).map(({ tensor, where }) => {
    const entry = (key: string) => tensor.externalData.find((e) => e.key === key)?.value;
    const location = entry('location') ?? refuse(where, "expected a 'location' entry in external_data naming the file, got none");
    const [offset, length] = [byteCount(entry('offset')) ?? 0, byteCount(entry('length'))];
    if (Number.isNaN(offset) || Number.isNaN(length)) {
      refuse(where, `expected its offset and length in '${location}' as byte counts, got ${JSON.stringify(entry('offset'))} and ${JSON.stringify(entry('length'))}`);
    }
    return { tensor, where, location, offset, length };
  });
  // The most bytes each file may have: up to the end of its last tensor (any size when a length is not given).
  const bounds = new Map<string, number>();
  for (const { where, location, offset, length } of parts) {
    const end = length === null ? MAX_BUFFER_BYTES : offset + length;
    if (end > MAX_BUFFER_BYTES) refuse(where, `its offset and length in '${location}' reach byte ${end}, past the ${MAX_BUFFER_BYTES} a model may hold here`);
    bounds.set(location, Math.max(bounds.get(location) ?? 0, end));
  }
  const files = new Map<string, Uint8Array>();
  for (const [location, bound] of bounds) {
    const where = parts.find((p) => p.location === location)!.where;
    const bytes = await file.sibling(location, bound).catch((error: Error) => {
      // The sibling's message starts with the model's name, which this one gives already.
      const why = error.message.startsWith(`${file.name}: `) ? error.message.slice(file.name.length + 2) : error.message;
      return refuse(where, `'${location}' could not be read (it belongs beside the model under that name, or in options.files): ${why}`);
    });
    files.set(location, bytes);
  }
  for (const { tensor, where, location, offset, length } of parts) {
    const bytes = files.get(location)!;
    const end = length === null ? bytes.length : offset + length;
    if (end > bytes.length || offset > end) refuse(where, `expected bytes ${offset} to ${end} of '${location}', got a file of ${bytes.length} bytes (cut short, or not this model's data?)`);
    tensor.rawData = bytes.subarray(offset, end);
    tensor.dataLocation = 0;
    tensor.externalData = [];
  }
}
