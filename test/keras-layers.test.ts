// readKerasLayers: Keras 3 weights-only files (save_weights in Keras 3's .weights.h5 layout and in
// Keras 2's layer_names layout) and a branching model loadModel refuses, built as a user builds
// them (the layers the file gives, with what the model's code says; loadModel runs it as a Model now) and checked against Keras'
// outputs on every backend. Fixtures: scripts/gen_keras_weights.py (Keras 3.15.1, JAX backend).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Bidirectional, Dense, Embedding, Gru, loadModel, Lstm, LstmError, Model, readKerasLayers, Sequential, type KerasFileLayer, type SequentialLayer } from '../lib/index.js';
import { expectClose, implementations, type Nested } from './helpers.js';

const DIR = new URL('./fixtures/models/keras-weights/', import.meta.url).pathname;
interface Case {
  input: Nested;
  output: Nested;
  build: { name: string; options: Record<string, unknown> }[];
}
const expected = JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8')) as { models: Record<string, Case> };
const IMPLEMENTATIONS = await implementations();
const STACKS = ['lstm_stack', 'gru_stack', 'bidirectional_stack', 'dense_stack'];

/** A layer from readKerasLayers with the options the model's code gave it, as the KerasFileLayer docs say. */
async function create(layer: KerasFileLayer, code: Record<string, unknown>, backend: string): Promise<SequentialLayer> {
  switch (layer.kind) {
    case 'lstm':
      return Lstm.create({ weights: layer.weights, ...layer.options, ...code, backend });
    case 'gru':
      return Gru.create({ weights: layer.weights, ...layer.options, ...code, backend });
    case 'bidirectional': {
      const { mergeMode, ...inner } = code as { mergeMode?: 'sum' };
      const [forward, backward] = layer.directions;
      return Bidirectional.create({
        ...layer.options,
        ...(mergeMode && { mergeMode }),
        layer: { type: layer.cell, weights: forward.weights, ...forward.options, ...inner, backend } as never,
        backwardWeights: backward.weights,
      });
    }
    case 'dense':
      return Dense.create({ ...layer.weights, ...layer.options, ...code });
    case 'embedding':
      return Embedding.create({ ...layer.weights, ...layer.options, ...code });
    case 'other':
      throw new Error(`layer ${layer.name} is not one to build`);
  }
}

async function build(layers: KerasFileLayer[], c: Case, backend: string): Promise<Sequential> {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const built: SequentialLayer[] = [];
  for (const { name, options } of c.build) {
    const layer = byName.get(name);
    expect(layer, `layer '${name}' in the file`).toBeDefined();
    built.push(await create(layer!, options, backend));
  }
  return Sequential.create(built);
}

describe.each(IMPLEMENTATIONS)('readKerasLayers on %s', (backend) => {
  describe.each(['.weights.h5', '.h5'])('weights-only %s (Keras 3 save_weights; .h5 in Keras 2 layout)', (extension) => {
    it.each(STACKS)('%s built from its layers reproduces Keras', async (name) => {
      const c = expected.models[name]!;
      const layers = await readKerasLayers(`${DIR}${name}${extension}`);
      // Weights only: no config, so no class; the names are the layers' own.
      expect(layers.every((l) => l.className === undefined && l.config === undefined)).toBe(true);
      expect(layers.map((l) => l.name).sort()).toEqual(c.build.map((b) => b.name).sort());
      const model = await build(layers, c, backend);
      try {
        expectClose(model.forward(c.input).output, c.output, { abs: 1e-5, rel: 1e-5 }, name);
      } finally {
        model.dispose();
      }
    });
  });

  it.each(['.keras', '.h5'])('a branching model (branched%s): loadModel gives a Model, and readKerasLayers reads every layer', async (extension) => {
    const path = `${DIR}branched${extension}`;
    const whole = await loadModel(path, { backend });
    expect(whole).toBeInstanceOf(Model);
    expect([(whole as Model).inputNames, (whole as Model).outputNames]).toEqual([['x'], ['head']]);
    whole.dispose();
    const layers = await readKerasLayers(path);
    expect(layers.map((l) => [l.name, l.className, l.kind])).toEqual([
      ['x', 'InputLayer', 'other'],
      ['encoder', 'LSTM', 'lstm'],
      ['pool', 'GlobalAveragePooling1D', 'other'],
      ['join', 'Concatenate', 'other'],
      ['head', 'Dense', 'dense'],
    ]);
    const encoder = layers[1] as Extract<KerasFileLayer, { kind: 'lstm' }>;
    // From the config: the activations Keras 3 runs, and no sequences.
    expect(encoder.options).toMatchObject({ name: 'encoder', units: 4, activation: 'tanh', recurrentActivation: 'sigmoid', returnSequences: false, weightLayout: 'keras' });
    expect(encoder.config?.units).toBe(4);
    const c = expected.models.branched!;
    const model = await build(layers, c, backend);
    try {
      expectClose(model.forward(c.input).output, c.output, { abs: 1e-5, rel: 1e-5 }, 'encoder');
    } finally {
      model.dispose();
    }
  });
});

describe('readKerasLayers refusals', () => {
  it('names the kind of file it was given and the reader for it', async () => {
    const tfjs = new URL('./fixtures/models/keras/options.tfjs/model.json', import.meta.url).pathname;
    await expect(readKerasLayers(tfjs)).rejects.toThrow(/expected a Keras HDF5 file \(\.h5, \.weights\.h5\) or a \.keras archive, got a tfjs file: load it with loadModel/);
    await expect(readKerasLayers(new Uint8Array([1, 2, 3]))).rejects.toThrow(LstmError);
  });

  it('loadModel refuses a weights-only file, pointing to readKerasLayers', async () => {
    await expect(loadModel(`${DIR}lstm_stack.weights.h5`)).rejects.toThrow(/weights only \(save_weights\): readKerasLayers/);
    await expect(loadModel(`${DIR}lstm_stack.h5`)).rejects.toThrow(/weights only \(save_weights\): readKerasLayers/);
  });
});
