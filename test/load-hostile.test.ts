// Hostile model files: each is refused with ERR_LSTM_MODEL naming what was wrong (or
// ERR_LSTM_RESOURCES past a size bound), within seconds and without reading what it must not:
// zip bombs and lying zip headers, declared tensor sizes the bytes do not hold, weight shards and ONNX
// external data named outside the model's folder (climbing out with '..', absolute, on another origin, through links,
// endless devices), and an .h5 file on which the HDF5 library loops for ever.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { strToU8, zipSync } from 'fflate';
import h5wasm from 'h5wasm/node';
import { loadModel, LstmError, type LstmErrorCode } from '../lib/index.js';
import { setHdf5TimeBudget } from '../lib/load/hdf5.js';
import { encode, writeModelProto } from '../lib/load/onnx-proto.generated.js';
import { decodeModelProto, type OnnxTensor } from '../lib/load/onnx-schema.js';

const DIR = new URL('./fixtures/models/', import.meta.url).pathname;
const TMP = mkdtempSync(join(tmpdir(), 'lstm-hostile-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** Awaits `run` and expects an LstmError with `code` whose message matches every pattern, within `ms`. */
async function expectRefused(run: () => Promise<unknown>, code: LstmErrorCode, ms: number, ...patterns: (string | RegExp)[]): Promise<LstmError> {
  const started = performance.now();
  let error: unknown;
  try {
    const model = (await run()) as { dispose?: () => void } | undefined;
    model?.dispose?.();
  } catch (e) {
    error = e;
  }
  const took = performance.now() - started;
  if (!(error instanceof LstmError)) throw new Error(`expected LstmError ${code}, got ${error === undefined ? 'a loaded model' : String(error)}`);
  expect(error.code, error.message).toBe(code);
  for (const p of patterns) expect(error.message).toMatch(p);
  expect(took, `refused after ${took.toFixed(0)} ms`).toBeLessThan(ms);
  return error;
}

// ------------------------------------------------------------------ .keras archives

/** The entries of a zip (names and bytes), read with fflate's own unzip (the fixtures are honest). */
const keras = async () => (await import('fflate')).unzipSync(new Uint8Array(readFileSync(`${DIR}keras/options.keras`)));

/** Rewrites the uncompressed size an entry declares, in the central directory and its local header. */
function declareSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = Uint8Array.from(zip);
  const view = new DataView(out.buffer);
  let eocd = out.length - 22;
  while (view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  let at = view.getUint32(eocd + 16, true);
  for (let k = 0; k < view.getUint16(eocd + 10, true); k++) {
    const nameLength = view.getUint16(at + 28, true);
    const entry = new TextDecoder().decode(out.subarray(at + 46, at + 46 + nameLength));
    if (entry === name) {
      view.setUint32(at + 24, size, true);
      view.setUint32(view.getUint32(at + 42, true) + 22, size, true);
      return out;
    }
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  throw new Error(`no entry ${name}`);
}

describe('.keras archives: sizes bounded before inflating, lying headers caught', () => {
  it('a config.json declared at 2.2 GB is refused before anything is inflated', async () => {
    const zip = declareSize(zipSync(await keras()), 'config.json', 2_200_000_000);
    await expectRefused(() => loadModel(zip), 'ERR_LSTM_MODEL', 2000, /config\.json/, /2200000000/, /at most 67108864 bytes/);
    const weights = declareSize(zipSync(await keras()), 'model.weights.h5', 0xfffffff0);
    await expectRefused(() => loadModel(weights), 'ERR_LSTM_MODEL', 2000, /model\.weights\.h5/, /4294967280/, /at most 2147483648 bytes/);
  });

  it('a zip bomb: a config.json of 80 MB that compresses to a few KB', async () => {
    const entries = await keras();
    const padded = new Uint8Array(80 * 2 ** 20).fill(0x20);
    padded.set(entries['config.json']!);
    const zip = zipSync({ ...entries, 'config.json': [padded, { level: 9 }] });
    expect(zip.length).toBeLessThan(2 * 2 ** 20);
    await expectRefused(() => loadModel(zip), 'ERR_LSTM_MODEL', 2000, /config\.json/, new RegExp(`declares ${padded.length}`));
  });

  it('an entry that inflates past the size its header declares stops there', async () => {
    const entries = await keras();
    const padded = new Uint8Array(50 * 2 ** 20).fill(0x20);
    padded.set(entries['config.json']!);
    const zip = declareSize(zipSync({ ...entries, 'config.json': [padded, { level: 9 }] }), 'config.json', 4096);
    await expectRefused(() => loadModel(zip), 'ERR_LSTM_MODEL', 2000, /config\.json/, /inflates past the 4096 bytes its header declares/);
    // And one that gives fewer bytes than it declares.
    const short = declareSize(zipSync(entries), 'config.json', entries['config.json']!.length + 10);
    await expectRefused(() => loadModel(short), 'ERR_LSTM_MODEL', 2000, /config\.json/, new RegExp(`inflates to ${entries['config.json']!.length} bytes, its header declares ${entries['config.json']!.length + 10}`));
    // The honest archive, rewritten by fflate (stored and deflated entries), still loads.
    (await loadModel(zipSync(entries))).dispose();
    (await loadModel(zipSync(entries, { level: 0 }))).dispose();
  });
});

// ------------------------------------------------------------------ declared sizes against the bytes present

/** A safetensors file of one tensor entry given as JSON, with `data` bytes after the header. */
function safetensors(header: object, data: number): Uint8Array {
  const json = strToU8(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('declared tensor sizes are checked against the bytes present', () => {
  it('safetensors: a shape the data offsets do not hold names the tensor', async () => {
    for (const shape of [[1000, 1000], [2 ** 40, 2 ** 40], [2 ** 26, 2 ** 26, 2 ** 26]]) {
      await expectRefused(() => loadModel(safetensors({ 'rnn.weight_hh_l0': { dtype: 'F32', shape, data_offsets: [0, 16] } }, 16)), 'ERR_LSTM_MODEL', 2000, /rnn\.weight_hh_l0/);
    }
    await expectRefused(() => loadModel(safetensors({ 'rnn.weight_hh_l0': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 2 ** 40] } }, 16)), 'ERR_LSTM_MODEL', 2000, /rnn\.weight_hh_l0/, /reach past/);
  });

  it('TF.js: a manifest declaring more than fits, or other sizes than the shards hold, names the weight', async () => {
    const folder = `${DIR}keras/options.tfjs/`;
    const json = JSON.parse(readFileSync(`${folder}model.json`, 'utf8'));
    const files = Object.fromEntries(['group1-shard1of1.bin', 'group2-shard1of1.bin', 'group3-shard1of1.bin'].map((p) => [p, new Uint8Array(readFileSync(folder + p))]));
    const variant = (edit: (j: typeof json) => void) => {
      const copy = structuredClone(json);
      edit(copy);
      return () => loadModel(strToU8(JSON.stringify(copy)), { files });
    };
    await expectRefused(variant((j) => (j.weightsManifest[0].weights[0].shape = [2 ** 20, 2 ** 20])), 'ERR_LSTM_MODEL', 2000, /gru_2\/gru_cell\/kernel/, /more than the 2147483648/);
    await expectRefused(variant((j) => (j.weightsManifest[0].weights[0].shape = [2 ** 40, 2 ** 40])), 'ERR_LSTM_MODEL', 2000, /gru_2\/gru_cell\/kernel/);
    await expectRefused(variant((j) => (j.weightsManifest[0].weights[0].shape = [4, 18])), 'ERR_LSTM_MODEL', 2000, /weight 'gru_2\/gru_cell\/\w+'/, /expected \d+ bytes at offset/);
  });

  it('ONNX: raw_data of another length than its dims say names the initializer', async () => {
    const bytes = new Uint8Array(readFileSync(`${DIR}onnx/lstm_last_softmax.onnx`));
    const model = decodeModelProto(bytes);
    const tensor = model.graph!.initializer.find((t) => t.rawData.length > 0 && t.dims.length > 0 && t.dims[0]! < 100)!;
    // TensorProto: dims (field 1) come first, then data_type (2) ... name (8): find "name" and the dims before it.
    const name = strToU8(tensor.name);
    let at = -1;
    for (let k = 0; k < bytes.length - name.length && at < 0; k++) {
      if (bytes[k] === 0x42 && bytes[k + 1] === name.length && name.every((b, j) => bytes[k + 2 + j] === b)) at = k;
    }
    let dims = at - 2; // data_type: tag 0x10 and a one-byte varint
    while (bytes[dims - 2] === 0x08) dims -= 2; // one-byte dims, each tag 0x08
    expect(bytes[dims]).toBe(0x08);
    const mutated = Uint8Array.from(bytes);
    mutated[dims + 1] = tensor.dims[0]! + 1;
    await expectRefused(() => loadModel(mutated), 'ERR_LSTM_MODEL', 2000, new RegExp(`initializer '${tensor.name}'`), /bytes of raw data/);
  });

  it('HDF5: a dataset whose shape declares more than 2 GiB, or more than the file holds, names the dataset', async () => {
    await h5wasm.ready;
    const make = (shape: number[]) => {
      const path = join(TMP, `resized-${shape.join('x')}.h5`);
      writeFileSync(path, readFileSync(`${DIR}keras/options.h5`));
      const file = new h5wasm.File(path, 'a');
      const weights = file.get('model_weights') as InstanceType<typeof h5wasm.Group>;
      const layer = weights.get(weights.keys().find((k) => (weights.get(k) as InstanceType<typeof h5wasm.Group>).attrs['weight_names']?.value)!) as InstanceType<typeof h5wasm.Group>;
      const names = ([] as string[]).concat(layer.attrs['weight_names']!.value as string[]);
      const big = layer.create_dataset({ name: 'resized', data: new Float32Array(4), shape: [2, 2], dtype: '<f4', maxshape: [null, null], chunks: [2, 2] });
      big.resize(shape); // storage that was never written: HDF5 would hand fill values for all of it
      layer.delete_attribute('weight_names');
      layer.create_attribute('weight_names', ['resized', ...names.slice(1)]);
      file.close();
      return path;
    };
    await expectRefused(() => loadModel(make([100_000, 100_000])), 'ERR_LSTM_MODEL', 15_000, /resized/, /more than the 2147483648/);
    await expectRefused(() => loadModel(make([2000, 2000])), 'ERR_LSTM_MODEL', 15_000, /resized/, /more than the \d+ bytes of the whole file/);
  });
});

// ------------------------------------------------------------------ ONNX external data

const DYNAMO = `${DIR}onnx/dynamo_lstm_last_softmax`;

/**
 * torch's dynamo export copied to `folder`, each external tensor's external_data entries edited
 * (the first tensor's only, with `firstOnly`); the data file is copied as it is. Returns the model's path.
 */
function onnxCopy(folder: string, edit: (entries: Record<string, string>) => void, firstOnly = false): string {
  mkdirSync(folder, { recursive: true });
  const model = decodeModelProto(new Uint8Array(readFileSync(`${DYNAMO}.onnx`)));
  const external = model.graph!.initializer.filter((t: OnnxTensor) => t.dataLocation === 1);
  for (const t of firstOnly ? external.slice(0, 1) : external) {
    const entries = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
    edit(entries);
    t.externalData = Object.entries(entries).map(([key, value]) => ({ key, value }));
  }
  writeFileSync(join(folder, 'model.onnx'), encode(model, writeModelProto));
  writeFileSync(join(folder, 'dynamo_lstm_last_softmax.onnx.data'), readFileSync(`${DYNAMO}.onnx.data`));
  return join(folder, 'model.onnx');
}

describe('ONNX external data is confined to the model folder, and read only as far as the model declares', () => {
  it("the exporter's own file loads; '..', absolute paths and URLs are refused before anything is read", async () => {
    (await loadModel(onnxCopy(join(TMP, 'onnx-plain'), () => {}))).dispose();
    rmSync(join(TMP, 'onnx-plain', 'dynamo_lstm_last_softmax.onnx.data'));
    await expectRefused(() => loadModel(join(TMP, 'onnx-plain', 'model.onnx')), 'ERR_LSTM_MODEL', 2000,
      /model\.onnx: initializer '[^']+' keeps its data in an external file \(data_location EXTERNAL\): 'dynamo_lstm_last_softmax\.onnx\.data' could not be read \(it belongs beside the model under that name, or in options\.files\): .*no such file/);
    writeFileSync(join(TMP, 'secret.bin'), readFileSync(`${DYNAMO}.onnx.data`));
    const cases: [string, RegExp][] = [
      ['../secret.bin', /'\.\.' segment/],
      ['%2e%2e/secret.bin', /'\.\.' segment/],
      ['/dev/zero', /absolute path/],
      ['file:///dev/zero', /absolute URL/],
      ['', /no file name/],
    ];
    for (const [k, [location, why]] of cases.entries()) {
      const model = onnxCopy(join(TMP, `onnx-climb-${k}`), (e) => (e.location = location));
      await expectRefused(() => loadModel(model), 'ERR_LSTM_MODEL', 2000, /initializer '[^']+' keeps its data in an external file/, /expected a path inside the model's folder/, why);
    }
  });

  it('links leading out, FIFOs and files longer than the tensors declare are refused; offsets past the end name the tensor', async () => {
    const folder = join(TMP, 'onnx-links');
    const model = onnxCopy(folder, () => {});
    const data = join(folder, 'dynamo_lstm_last_softmax.onnx.data');
    writeFileSync(join(TMP, 'outside.data'), readFileSync(`${DYNAMO}.onnx.data`));
    rmSync(data);
    symlinkSync(join(TMP, 'outside.data'), data);
    await expectRefused(() => loadModel(model), 'ERR_LSTM_MODEL', 2000, /link leading out of it/);
    rmSync(data);
    execFileSync('mkfifo', [data]);
    await expectRefused(() => loadModel(model), 'ERR_LSTM_MODEL', 2000, /expected a regular file/);
    rmSync(data);
    const size = readFileSync(`${DYNAMO}.onnx.data`).length;
    writeFileSync(data, new Uint8Array(64 * 2 ** 20));
    await expectRefused(() => loadModel(model), 'ERR_LSTM_MODEL', 2000, new RegExp(`expected at most ${size} bytes, got a file of 67108864`));
    const past = onnxCopy(join(TMP, 'onnx-past'), (e) => (e.offset = String(size)), true);
    await expectRefused(() => loadModel(past), 'ERR_LSTM_MODEL', 2000, /initializer '[^']+' keeps its data in an external file/, new RegExp(`expected bytes ${size} to \\d+ of 'dynamo_lstm_last_softmax\\.onnx\\.data', got a file of ${size} bytes`));
    const negative = onnxCopy(join(TMP, 'onnx-negative'), (e) => (e.length = '-4'), true);
    await expectRefused(() => loadModel(negative), 'ERR_LSTM_MODEL', 2000, /expected its offset and length in 'dynamo_lstm_last_softmax\.onnx\.data' as byte counts, got .* and "-4"/);
    const huge = onnxCopy(join(TMP, 'onnx-huge'), (e) => (e.length = '9007199254740991'), true);
    await expectRefused(() => loadModel(huge), 'ERR_LSTM_MODEL', 2000, /past the \d+ a model may hold here/);
  });

  it('from a URL: the data file is fetched beside the model, and an endless one is cut off at the size its tensors declare', async () => {
    const golden = JSON.parse(readFileSync(`${DYNAMO}.json`, 'utf8')) as { cases: { input: number[][][]; output: number[][] }[] };
    let dataRequests = 0;
    const server: Server = createServer((request, response) => {
      const path = request.url!;
      if (path === '/m/model.onnx' || path === '/e/model.onnx') response.end(readFileSync(`${DYNAMO}.onnx`));
      else if (path === '/m/dynamo_lstm_last_softmax.onnx.data') response.end(readFileSync(`${DYNAMO}.onnx.data`));
      else if (path === '/e/dynamo_lstm_last_softmax.onnx.data') {
        dataRequests++;
        const chunk = new Uint8Array(65536);
        const more = () => {
          while (response.write(chunk));
          response.once('drain', more);
        };
        response.on('close', () => response.removeAllListeners('drain'));
        more();
      } else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const model = await loadModel(`${origin}/m/model.onnx`, { backend: 'js' });
      const y = model.forward(golden.cases[0]!.input).output.data;
      golden.cases[0]!.output.flat().forEach((v, k) => expect(Math.abs(y[k]! - v)).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(v)));
      model.dispose();
      await expectRefused(() => loadModel(`${origin}/e/model.onnx`), 'ERR_LSTM_MODEL', 5000, /dynamo_lstm_last_softmax\.onnx\.data/, /expected at most \d+ bytes/);
      expect(dataRequests).toBe(1);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

// ------------------------------------------------------------------ TF.js shard paths

/** options.tfjs copied to `folder`, with the manifest's shard paths edited; returns model.json's path. */
function tfjsCopy(folder: string, paths: (old: string) => string): string {
  const from = `${DIR}keras/options.tfjs/`;
  mkdirSync(folder, { recursive: true });
  const json = JSON.parse(readFileSync(`${from}model.json`, 'utf8'));
  for (const group of json.weightsManifest) {
    group.paths = group.paths.map((p: string) => {
      const to = paths(p);
      if (to !== '' && !to.includes('..') && !to.includes(':') && !to.startsWith('/') && !to.startsWith('\\')) {
        mkdirSync(join(folder, to, '..'), { recursive: true });
        writeFileSync(join(folder, to), readFileSync(from + p));
      }
      return to;
    });
  }
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
  return join(folder, 'model.json');
}

describe('TF.js shard paths are confined to the model folder', () => {
  it('shards in the folder and its subfolders load', async () => {
    (await loadModel(tfjsCopy(join(TMP, 'plain'), (p) => p))).dispose();
    (await loadModel(tfjsCopy(join(TMP, 'nested'), (p) => `weights/${p}`))).dispose();
  });

  it("'..' segments, absolute paths and URLs are refused before anything is read", async () => {
    writeFileSync(join(TMP, 'secret.bin'), readFileSync(`${DIR}keras/options.tfjs/group1-shard1of1.bin`));
    const cases: [string, RegExp][] = [
      ['../secret.bin', /'\.\.' segment/],
      ['../../../../../../../../dev/zero', /'\.\.' segment/],
      ['weights/../../secret.bin', /'\.\.' segment/],
      ['%2e%2e/secret.bin', /'\.\.' segment/],
      ['..\\secret.bin', /'\.\.' segment/],
      ['/dev/zero', /absolute path/],
      ['\\\\server\\share\\x.bin', /absolute path/],
      ['C:\\x.bin', /absolute URL or drive/],
      ['file:///dev/zero', /absolute URL/],
      ['http://127.0.0.1:9/x.bin', /absolute URL/],
      ['', /no file name/],
    ];
    for (const [path, why] of cases) {
      const model = tfjsCopy(join(TMP, `climb-${cases.findIndex((c) => c[0] === path)}`), (p) => (p.startsWith('group1') ? path : p));
      await expectRefused(() => loadModel(model), 'ERR_LSTM_MODEL', 2000, /expected a path inside the model's folder/, why);
    }
  });

  it('links leading out of the folder, devices and oversized files are refused', async () => {
    const folder = join(TMP, 'links');
    const model = tfjsCopy(folder, (p) => p);
    writeFileSync(join(TMP, 'outside.bin'), readFileSync(`${DIR}keras/options.tfjs/group1-shard1of1.bin`));
    rmSync(join(folder, 'group1-shard1of1.bin'));
    symlinkSync(join(TMP, 'outside.bin'), join(folder, 'group1-shard1of1.bin'));
    await expectRefused(() => loadModel(model), 'ERR_LSTM_MODEL', 2000, /link leading out of it/);
    rmSync(join(folder, 'group1-shard1of1.bin'));
    symlinkSync('/dev/zero', join(folder, 'group1-shard1of1.bin'));
    await expectRefused(() => loadModel(model), 'ERR_LSTM_MODEL', 2000, /link leading out of it/);
    // A link inside the folder is fine; a device or FIFO inside it is not read.
    rmSync(join(folder, 'group1-shard1of1.bin'));
    writeFileSync(join(folder, 'real.bin'), readFileSync(`${DIR}keras/options.tfjs/group1-shard1of1.bin`));
    symlinkSync('real.bin', join(folder, 'group1-shard1of1.bin'));
    (await loadModel(model)).dispose();
    rmSync(join(folder, 'group1-shard1of1.bin'));
    execFileSync('mkfifo', [join(folder, 'group1-shard1of1.bin')]);
    await expectRefused(() => loadModel(model), 'ERR_LSTM_MODEL', 2000, /expected a regular file/);
    // A shard larger than its group's weights declare is refused before it is read.
    rmSync(join(folder, 'group1-shard1of1.bin'));
    writeFileSync(join(folder, 'group1-shard1of1.bin'), new Uint8Array(64 * 2 ** 20));
    await expectRefused(() => loadModel(model), 'ERR_LSTM_MODEL', 2000, /group1-shard1of1\.bin/, /expected at most \d+ bytes, got a file of 67108864/);
    // The model file itself: a device is refused, not read for ever.
    await expectRefused(() => loadModel('/dev/zero', { format: 'tfjs' }), 'ERR_LSTM_MODEL', 2000, /expected a regular file/);
  });

  it('from a URL: shards on another origin are refused, an endless shard is cut off at its declared size', async () => {
    const json = JSON.parse(readFileSync(`${DIR}keras/options.tfjs/model.json`, 'utf8'));
    let shardRequests = 0;
    const server: Server = createServer((request, response) => {
      const path = request.url!;
      if (path.endsWith('.json')) {
        const copy = structuredClone(json);
        if (path === '/m/other-origin.json') copy.weightsManifest[0].paths = ['//evil.example/x.bin'];
        if (path === '/m/endless.json') copy.weightsManifest[0].paths = ['endless.bin'];
        response.end(JSON.stringify(copy));
      } else if (path === '/m/endless.bin') {
        shardRequests++;
        const chunk = new Uint8Array(65536);
        const more = () => {
          while (response.write(chunk));
          response.once('drain', more);
        };
        response.on('close', () => response.removeAllListeners('drain'));
        more();
      } else {
        response.end(readFileSync(`${DIR}keras/options.tfjs${path.slice(2)}`));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/m/`;
    try {
      (await loadModel(new URL('model.json', base))).dispose();
      await expectRefused(() => loadModel(new URL('other-origin.json', base)), 'ERR_LSTM_MODEL', 2000, /absolute path/);
      await expectRefused(() => loadModel(`${base}endless.json`), 'ERR_LSTM_MODEL', 5000, /endless\.bin/, /expected at most \d+ bytes/);
      expect(shardRequests).toBe(1);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

// ------------------------------------------------------------------ HDF5 that never returns

describe('an .h5 file on which HDF5 loops for ever', () => {
  // Found by scripts/find-h5-hang.mjs (seed 1, mutation #57): one byte of options.h5 changed, in the
  // global heap that holds the variable-length strings (an object's size, 34 -> 222). Loading it
  // in the process used to hang it for good inside one synchronous call of h5wasm.
  const HANG = { offset: 5792, value: 222 };

  it('fails within its time budget with ERR_LSTM_MODEL, and the process goes on', async () => {
    const bytes = new Uint8Array(readFileSync(`${DIR}keras/options.h5`));
    expect(bytes[HANG.offset]).toBe(34);
    bytes[HANG.offset] = HANG.value;
    const path = join(TMP, 'hang.h5');
    writeFileSync(path, bytes);
    setHdf5TimeBudget(3000);
    try {
      await expectRefused(() => loadModel(path), 'ERR_LSTM_MODEL', 8000, /HDF5 parsing did not finish within 3 s/);
    } finally {
      setHdf5TimeBudget(null);
    }
    // The worker that looped was stopped, not left spinning a core...
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000, 'ms of CPU in 500 ms of idling').toBeLessThan(250);
    // ...and HDF5 still reads the file undamaged.
    (await loadModel(`${DIR}keras/options.h5`)).dispose();
  }, 20_000);
});
