// A TF.js IOHandler reading a model.json and its weight shards from disk: TF.js' own file://
// handler lives in tfjs-node, which cannot be installed here. Used by models.mjs and by
// scripts/gen_tfjs_golden.mjs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function fromDisk(modelJson) {
  return {
    async load() {
      const json = JSON.parse(readFileSync(modelJson, 'utf8'));
      const shards = json.weightsManifest.flatMap((group) => group.paths.map((path) => readFileSync(join(dirname(modelJson), path))));
      const bytes = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
        weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      };
    },
  };
}
