// The live inspector's server (`lstm-runtime serve`): a page that runs a model in the browser on
// WebAssembly and redraws its gates and attributions as the user types. The server only hands out
// files, on 127.0.0.1: the page (dist/live/), the WebAssembly modules, and the model's own folder.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { LstmError } from '../errors.js';
import { createRequire } from 'node:module';
import { rootDirectory } from '../package-root.js';
import { REPORT_SCRIPT } from '../report/report.js';

export interface InspectorOptions {
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** A character model's vocabulary: a JSON object { char: index } (default: char_indices.json beside the model, when there is one). */
  vocab?: string;
}

export interface Inspector {
  /** Where the page is, e.g. http://127.0.0.1:41234/ */
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

// The page may run only its own scripts, the report's one inline script (by its hash: the report
// is drawn in a srcdoc frame, which keeps this policy) and WebAssembly, and talks to this server alone.
const CSP = `default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-${createHash('sha256').update(REPORT_SCRIPT).digest('base64')}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self'; frame-src 'self'`;

/** The page's shell; dist/live/app.js fills it. */
function page(title: string): string {
  const safe = title.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>lstm-runtime live: ${safe}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; color: #1b1b1f; }
header { display: flex; gap: 1rem; align-items: baseline; }
header h1 { font-size: 1.2rem; }
header .model { color: #555; font-family: ui-monospace, monospace; }
#controls { display: grid; grid-template-columns: 1fr auto auto; gap: 0.5rem 1rem; align-items: end; position: sticky; top: 0; background: #fff; padding: 0.5rem 0; z-index: 1; }
#controls label:first-child, #input, #status { grid-column: 1 / -1; }
#input { font: 15px ui-monospace, monospace; width: 100%; box-sizing: border-box; }
#status { color: #555; margin: 0; }
#report { width: 100%; height: calc(100vh - 12rem); min-height: 30rem; border: 1px solid #ddd; }
</style>
</head>
<body>
<header><h1>lstm-runtime live</h1><p class="model">${safe}</p></header>
<main>
<section id="controls">
  <label for="input" id="input-label">Input</label>
  <textarea id="input" rows="3" spellcheck="false"></textarea>
  <label>Target <select id="target"><option value="">largest output</option></select></label>
  <label>Method <select id="method">
    <option value="integrated-gradients">integrated gradients</option>
    <option value="gradient-x-input">gradient x input</option>
    <option value="gradient">gradient</option>
    <option value="occlusion">occlusion</option>
  </select></label>
  <p id="status" role="status">loading the model...</p>
</section>
<iframe id="report" title="report"></iframe>
</main>
<script type="module" src="/app.js"></script>
</body>
</html>
`;
}

/** The installed h5wasm's ES modules (the page's HDF5 reader), found as Node would find the package; null if absent. */
function h5wasmModules(): string | null {
  const require = createRequire(import.meta.url);
  for (const modules of require.resolve.paths('h5wasm') ?? []) {
    const dir = path.join(modules, 'h5wasm', 'dist', 'esm');
    if (existsSync(path.join(dir, 'hdf5_hl.js'))) return dir;
  }
  return null;
}

/** The model `serve` shows when given none: the planted-lag forecaster the examples ship. */
export const exampleModel = (): string => path.join(packageDirectory(), 'examples', 'models', 'planted-lag.keras');

const packageDirectory = (): string => rootDirectory(createRequire(import.meta.url));

/**
 * Serves the live inspector of the model at `modelPath` on 127.0.0.1 until close(). The page loads
 * the model from the server (its file and the files beside it: TF.js shards, ONNX external data)
 * and runs everything in the browser.
 */
export async function serveInspector(modelPath: string, options: InspectorOptions = {}): Promise<Inspector> {
  const modelFile = await realpath(modelPath);
  if (!(await stat(modelFile)).isFile()) throw new LstmError('ERR_LSTM_MODEL', `serve: expected a model file, got '${modelPath}' (not a regular file)`);
  const modelDir = path.dirname(modelFile);
  const root = packageDirectory();
  const liveDir = path.join(root, 'dist', 'live');
  const wasmDir = path.join(root, 'wasm', 'dist');
  const h5wasmDir = h5wasmModules();
  const vocabFile = options.vocab ?? path.join(modelDir, 'char_indices.json');
  let vocab: unknown = null;
  try {
    vocab = JSON.parse(await readFile(vocabFile, 'utf8'));
  } catch (error) {
    if (options.vocab !== undefined) throw new LstmError('ERR_LSTM_CONFIG', `serve --vocab: expected a JSON object { "char": index }, got '${options.vocab}' (${(error as Error).message})`);
  }
  // A TF.js model.json is known by its folder's name.
  const title = path.basename(modelFile) === 'model.json' ? path.basename(modelDir) : path.basename(modelFile);
  const meta = JSON.stringify({ model: path.basename(modelFile), title, vocab });

  /** A file inside `dir`, by a name of the URL: one path segment or a relative path without '..', real path inside. */
  const inside = async (dir: string, name: string): Promise<string | null> => {
    if (name === '' || name.split('/').some((s) => s === '..' || s === '' || s.includes('\\'))) return null;
    try {
      const file = await realpath(path.join(dir, name));
      return file.startsWith(dir + path.sep) && (await stat(file)).isFile() ? file : null;
    } catch {
      return null;
    }
  };

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const name = decodeURIComponent(url.pathname);
    const send = (status: number, body: string | Buffer, type: string) => {
      response.writeHead(status, { 'content-type': type, 'content-security-policy': CSP, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      response.end(body);
    };
    try {
      if (request.method !== 'GET') return send(405, 'GET only', 'text/plain');
      if (name === '/') return send(200, page(title), TYPES['.html']!);
      if (name === '/meta.json') return send(200, meta, TYPES['.json']!);
      if (name === '/favicon.ico') return send(204, '', 'image/x-icon');
      const [dir, rest] = name.startsWith('/model/') ? [modelDir, name.slice(7)]
        : name.startsWith('/wasm/dist/') ? [wasmDir, name.slice(11)]
        : name.startsWith('/vendor/h5wasm/') ? [h5wasmDir, name.slice(15)]
        : [liveDir, name.slice(1)];
      const file = dir === null ? null : await inside(dir, rest);
      if (!file) return send(404, 'not found', 'text/plain');
      return send(200, await readFile(file), TYPES[path.extname(file)] ?? 'application/octet-stream');
    } catch (error) {
      return send(500, String(error), 'text/plain');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  }).catch((error: NodeJS.ErrnoException) => {
    throw new LstmError('ERR_LSTM_CONFIG', `serve --port: expected a free port on 127.0.0.1, got ${options.port} (${error.code ?? error.message})`);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
