// Reads an HDF5 file with h5wasm (the HDF5 library itself, compiled to WebAssembly) into plain data:
// every group and dataset with its attributes, and the values of the datasets a reader asked for.
// Plain JavaScript, not TypeScript, because it is also the entry of the Node worker thread that
// lstm-runtime parses HDF5 in (hdf5.ts): a damaged file can make the HDF5 library loop for ever
// inside one synchronous call, and only a worker that can be terminated gets the process back.
// It imports no Node built-in, so the browser entry can run it inline. Types: hdf5-snapshot.d.ts.

/** Groups and datasets one file may hold, and how deep they may nest (hard links can make cycles). */
const MAX_NODES = 100_000;
const MAX_DEPTH = 64;
/** The most bytes one dataset's values may take (2 GiB, as any buffer of lstm-runtime). */
const MAX_VALUE_BYTES = 2 ** 31;

let opened = 0;
let reading = 0; // reads in progress on this thread, which share h5wasm's error handler

const message = (error) => (error instanceof Error ? error.message : String(error));

/**
 * The file in `bytes` as a tree of { kind: 'group', path, attrs, children } and { kind: 'dataset',
 * path, attrs, shape, dtype, value }; values are read for datasets under one of the `valuesUnder`
 * paths only ('' for all). What cannot be read is recorded where it is (`error`, `attrsError`), so
 * the reader reports it as before. Returns { root } or { openError } when HDF5 cannot open the file.
 * @param {Uint8Array} bytes
 * @param {readonly string[]} valuesUnder
 */
export async function snapshotHdf5(bytes, valuesUnder) {
  const h5 = await import('h5wasm');
  const module = await h5.ready;
  const path = `/lstm-runtime-${++opened}.h5`;
  module.FS.writeFile(path, bytes);
  // HDF5's errors become exceptions with their message, instead of a trace on stderr (until the
  // last read in progress ends).
  if (reading++ === 0) module.activate_throwing_error_handler();
  let file = null;
  try {
    try {
      file = new h5.File(path, 'r');
    } catch (error) {
      return { openError: message(error) };
    }
    const state = { nodes: 0, fileSize: bytes.length, valuesUnder };
    return { root: walk(h5, file, '', 0, state) };
  } finally {
    try {
      file?.close();
    } finally {
      if (--reading === 0) module.deactivate_throwing_error_handler();
      module.FS.unlink(path);
    }
  }
}

function attributes(entity, node) {
  let attrs;
  try {
    attrs = entity.attrs;
  } catch (error) {
    node.attrsError = message(error);
    return;
  }
  node.attrs = {};
  for (const name of Object.keys(attrs)) {
    try {
      const value = attrs[name].value;
      node.attrs[name] = { value: value ?? undefined };
    } catch (error) {
      node.attrs[name] = { error: message(error) };
    }
  }
}

function walk(h5, entity, path, depth, state) {
  if (++state.nodes > MAX_NODES) throw new Error(`more than ${MAX_NODES} groups and datasets`);
  if (depth > MAX_DEPTH) throw new Error(`groups nested more than ${MAX_DEPTH} deep at '${path}' (a cycle of links?)`);
  if (entity instanceof h5.Group) {
    const node = { kind: 'group', path: path || '/', children: {} };
    attributes(entity, node);
    let keys = [];
    try {
      keys = entity.keys();
    } catch (error) {
      node.error = message(error);
    }
    for (const key of keys) {
      const childPath = `${path}/${key}`;
      let child;
      try {
        child = entity.get(key);
      } catch (error) {
        node.children[key] = { kind: 'error', path: childPath, error: message(error) };
        continue;
      }
      node.children[key] = walk(h5, child, childPath, depth + 1, state);
    }
    return node;
  }
  if (entity instanceof h5.Dataset) return dataset(entity, path, state);
  return { kind: 'other', path, type: entity ? entity.constructor.name : 'nothing' };
}

function dataset(entity, path, state) {
  const node = { kind: 'dataset', path };
  attributes(entity, node);
  try {
    node.shape = entity.shape ?? [];
    node.dtype = entity.dtype;
    const wanted = state.valuesUnder.some((prefix) => prefix === '' || path === `/${prefix}` || path.startsWith(`/${prefix}/`));
    if (!wanted) return node;
    // The declared size is checked before HDF5 allocates it: a damaged shape could ask for any amount,
    // and HDF5 hands fill values for storage that was never written.
    const count = node.shape.reduce((a, b) => a * b, 1);
    const size = entity.metadata.size;
    const bytes = count * size;
    if (!Number.isSafeInteger(bytes) || bytes > MAX_VALUE_BYTES) {
      node.error = `its shape [${node.shape.join(', ')}] of ${size}-byte values declares ${bytes} bytes, more than the ${MAX_VALUE_BYTES} a tensor may have here`;
      return node;
    }
    const filtered = entity.filters.length > 0;
    if (!filtered && bytes > state.fileSize) {
      node.error = `its shape [${node.shape.join(', ')}] of ${size}-byte values declares ${bytes} bytes, more than the ${state.fileSize} bytes of the whole file`;
      return node;
    }
    const value = entity.value;
    if (ArrayBuffer.isView(value) && value.length !== count) {
      node.error = `holds ${value.length} values, its shape [${node.shape.join(', ')}] declares ${count}`;
      return node;
    }
    node.value = value ?? undefined;
  } catch (error) {
    node.error = message(error);
  }
  return node;
}

/** The ArrayBuffers of every dataset value, to transfer rather than copy. */
function buffersOf(node, out = new Set()) {
  if (node.kind === 'dataset' && ArrayBuffer.isView(node.value)) out.add(node.value.buffer);
  if (node.children) for (const child of Object.values(node.children)) buffersOf(child, out);
  return out;
}

/** The name hdf5.ts gives the Web Worker it starts on this file. */
export const WEB_WORKER_NAME = 'lstm-runtime-hdf5';

/** A worker's loop: says it is ready, then answers each request with its snapshot. */
function serve(post, onRequest) {
  // Said first: an error before it is a worker that could not start, not a file that broke it.
  post({ ready: true });
  onRequest(async ({ id, bytes, valuesUnder }) => {
    let answer;
    try {
      answer = await snapshotHdf5(bytes, valuesUnder);
    } catch (error) {
      answer = { error: message(error) };
    }
    try {
      post({ id, ...answer }, answer.root ? [...buffersOf(answer.root)] : []);
    } catch (error) {
      post({ id, error: `its contents could not be passed on (${message(error)})` });
    }
  });
}

// Started as lstm-runtime's HDF5 worker thread in Node (hdf5.ts), or as its Web Worker in a browser.
// (process.getBuiltinModule: no import of a Node built-in, so that bundlers for browsers see none.)
const threads = globalThis.process?.getBuiltinModule?.('node:worker_threads');
if (threads && !threads.isMainThread && threads.workerData?.lstmRuntimeHdf5 === 1) {
  serve((data, transfer) => threads.parentPort.postMessage(data, transfer), (handle) => threads.parentPort.on('message', handle));
} else if (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope && globalThis.name === WEB_WORKER_NAME) {
  serve((data, transfer = []) => globalThis.postMessage(data, transfer), (handle) => globalThis.addEventListener('message', (event) => handle(event.data)));
}
