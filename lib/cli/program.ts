// The lstm-runtime command: each command and its options mapped onto the public API (the Node
// entry). Parsing, files in and out, and printing only; whatever a command computes is a library
// function that an API user can call the same way.
//
// Exit codes: 0 success; 1 an LstmError ("lstm-runtime: ERR_LSTM_...: message" on one line), a
// file that cannot be read or written ("lstm-runtime: ENOENT: ..."), or an unexpected error (its
// stack, asking for a report: it is a bug); 2 a usage error (unknown command or option, missing
// argument, bad option value), with commander's message and a pointer to --help.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { sequentialOnly } from '../load/index.js';
import {
  backends, BENCH_CONFIGS, benchmarkModel, benchmarkSvg, benchTargets, encodeTensors, exampleModel, encodeText, formatBenchmarkTable, formatInspection, formatSystemInfo, inspectModel,
  inspectReport, loadModel, LstmError, packageVersion, randomInput, readModelInput, readVocabulary, resultTensors, runBenchmark, serveInspector, STANDARD_CONFIGS, systemInfo,
  tensorFormatOf, type BenchOptions, type InspectReportOptions, type LoadModelOptions,
} from '../index.js';


/** Where a run's text goes (process.stdout/stderr/stdin, or buffers in tests). */
export interface CliIo {
  stdout: { write(chunk: string | Uint8Array): unknown };
  stderr: { write(chunk: string): unknown };
  stdin: AsyncIterable<Uint8Array | string>;
}

const PRECISIONS = ['f32', 'f16', 'int8'] as const;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1.');
  return n;
}
function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer >= 0.');
  return n;
}
function integer(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer.');
  return n;
}
const ATTRIBUTION_METHODS = ['integrated-gradients', 'gradient', 'gradient-x-input', 'occlusion'] as const;

/** The inspect command's options. */
interface InspectFlags {
  labels?: string;
  steps?: number;
  backend?: string;
  out?: string;
  input?: string;
  text?: string;
  vocab?: string;
  method?: (typeof ATTRIBUTION_METHODS)[number];
  target?: number;
  targetStep?: number;
  igSteps?: number;
  topUnits?: number;
  maxColumns?: number;
}

const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** loadModel's options from --backend, --threads and --precision. */
function loadOptions(opts: { backend?: string; threads?: number; precision?: (typeof PRECISIONS)[number] }): LoadModelOptions {
  const o: LoadModelOptions = {};
  if (opts.backend !== undefined) o.backend = opts.backend;
  if (opts.threads !== undefined) o.threads = opts.threads;
  if (opts.precision !== undefined) o.weightPrecision = opts.precision;
  return o;
}

/** --backend: 'auto', a registered backend, or one of its implementations ('native/scalar'). */
async function checkBackend(name: string | undefined, command: Command): Promise<void> {
  if (name === undefined) return;
  const names = ['auto', ...(await backends()).map((b) => b.name)];
  if (!names.includes(name.split('/')[0]!)) command.error(`error: --backend ${name}: expected ${names.join(', ')} or an implementation such as native/scalar`, { exitCode: 2 });
}

function buildProgram(io: CliIo): Command {
  const program = new Command('lstm-runtime');
  const started = performance.now();
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(1).padStart(5);
  program
    .description('LSTM and GRU inference from the command line: run trained models, inspect their gates, benchmark the backends.')
    .version(packageVersion() ?? 'unknown', '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .helpCommand(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`lstm-runtime: ${s}`),
    })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Exit status: 0 success; 1 an error of the library or of a file (one line: lstm-runtime: ERR_LSTM_...: message);
2 a usage error. Run "lstm-runtime <command> --help" for each command's options.`);

  program
    .command('info')
    .description('this machine and package: version, CPU, each backend with what it runs or why it cannot load, threads')
    .option('--json', 'print JSON (the object systemInfo() returns)')
    .action(async (opts: { json?: boolean }) => {
      const info = await systemInfo();
      io.stdout.write(opts.json ? JSON.stringify(info, null, 2) + '\n' : formatSystemInfo(info));
    });

  program
    .command('run')
    .description('run a model file on an input and print (or write) its output, and with --trace every gate')
    .argument('<model>', 'a model file loadModel reads: TF.js model.json, .keras, .h5, .onnx, .safetensors (config in its metadata)')
    .requiredOption('-i, --input <file>', "the input: .json (nested arrays or {data, shape}), .npy, or .csv (one step per row); '-' reads JSON or CSV from stdin")
    .option('-o, --out <file>', 'write to a file instead of stdout: .json, .npy (the output only) or .npz (output and trace arrays)')
    .option('--backend <name>', "backend: auto, native, wasm-relaxed, wasm-simd, wasm, js, or an implementation such as native/scalar")
    .option('--threads <n>', 'threads per call (native backend)', positiveInt)
    .addOption(new Option('--precision <p>', 'weight precision of the recurrent kernels').choices(PRECISIONS))
    .option('--trace', "also every recurrent layer's gates and states at every step")
    .addHelpText('after', `
The input may leave out the batch axis: [steps, features] (or [steps] of ids) is one sequence; a CSV
file is always one sequence (for a model of ids, one column of ids). A model of ids (an Embedding
first) takes integer ids.

Output, JSON (stdout or --out x.json): { "output": { "shape": [...], "data": <nested to the shape> },
"trace": { "<layer>_<cell>": { "<gate>": { "shape", "data" } } } } with layer indices of the model,
e.g. trace["0_lstm"].f, trace["1_bidirectional"].forward.i; gates i, f, g (the candidate), o, c, h
(LSTM) and z, r, g, h (GRU), each [batch, steps, units]. In --out x.npz the same arrays are named
output, trace/0_lstm/f, trace/1_bidirectional/forward/i, ...

Examples:
  lstm-runtime run model.keras --input x.npy
  lstm-runtime run model.json --input steps.csv --trace --out result.npz
  cat x.json | lstm-runtime run model.onnx --input - --backend wasm-simd`)
    .action(async (modelPath: string, opts: { input: string; out?: string; backend?: string; threads?: number; precision?: (typeof PRECISIONS)[number]; trace?: boolean }, command: Command) => {
      const format = opts.out === undefined ? 'json' : tensorFormatOf(opts.out);
      if (format === null || format === 'csv') command.error(`error: --out ${opts.out}: expected a file ending in .json, .npy or .npz`, { exitCode: 2 });
      if (format === 'npy' && opts.trace) command.error(`error: --out ${opts.out}: a .npy file holds one array (the output); with --trace write .npz or .json`, { exitCode: 2 });
      await checkBackend(opts.backend, command);
      const model = sequentialOnly(await loadModel(modelPath, loadOptions(opts)), 'lstm-runtime run');
      try {
        const bytes = opts.input === '-' ? await readAll(io.stdin) : await readFile(opts.input);
        const input = readModelInput(model, bytes, { name: opts.input === '-' ? 'stdin' : opts.input });
        const result = model.forward(input, { trace: opts.trace ?? false });
        const encoded = await encodeTensors(resultTensors(model, result), format);
        if (opts.out === undefined) io.stdout.write(encoded);
        else await writeFile(opts.out, encoded);
      } finally {
        model.dispose();
      }
    });

  program
    .command('bench')
    .description('time every backend (native implementations apart) on the standard configurations S1-S5, or on a model')
    .argument('[model]', 'a model file to time instead, on a random input of --batch sequences of --steps')
    .option('--config <ids>', `configurations, comma-separated: ${BENCH_CONFIGS.map((c) => c.id).join(', ')} (default ${STANDARD_CONFIGS.join(',')})`, list)
    .option('--backend <names>', 'backends or implementations to run, comma-separated, e.g. native/avx2,wasm-simd,js (default: all)', list)
    .option('--quick', 'fewer calls per cell (5 after 1 warm-up; S1 loops of 200 steps): a rough picture fast')
    .option('--steps <n>', 'with a model: steps per sequence (default 100)', positiveInt)
    .option('--batch <n>', 'with a model: sequences per call (default 1)', positiveInt)
    .option('--threads <n>', 'threads per call (native backend; others report unsupported)', positiveInt)
    .addOption(new Option('--precision <p>', 'weight precision of the recurrent kernels').choices(PRECISIONS))
    .option('--json', 'print the report as JSON instead of a table')
    .option('--svg <file>', 'also write a bar chart of the speedups (SVG)')
    .addHelpText('after', `
Progress goes to stderr, the table (or JSON) to stdout. Each cell: the median time per call (S1: per
step), GFLOP/s for the standard configurations, and the speedup over the js backend (over the first
row when js is left out). Configurations as in bench/run.mjs, which also times onnxruntime and TF.js.

Examples:
  lstm-runtime bench --quick
  lstm-runtime bench --config S2,S3 --backend native,wasm-simd --svg bench.svg
  lstm-runtime bench model.keras --steps 50 --batch 8 --json`)
    .action(async (modelPath: string | undefined, opts: { config?: string[]; backend?: string[]; quick?: boolean; steps?: number; batch?: number; threads?: number; precision?: (typeof PRECISIONS)[number]; json?: boolean; svg?: string }, command: Command) => {
      const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: 2 });
      if (modelPath !== undefined && opts.config) usage('--config names standard configurations; with a model, use --steps and --batch');
      if (modelPath === undefined && (opts.steps !== undefined || opts.batch !== undefined)) usage('--steps and --batch apply to a model: lstm-runtime bench <model> --steps n');
      const unknownConfig = opts.config?.find((id) => !BENCH_CONFIGS.some((c) => c.id === id.toUpperCase()));
      if (unknownConfig !== undefined) usage(`--config ${unknownConfig}: expected ids among ${BENCH_CONFIGS.map((c) => c.id).join(', ')}`);
      if (opts.backend) {
        const known = (await benchTargets()).map((t) => t.backend);
        const unknown = opts.backend.find((b) => !known.some((k) => k === b || k.split('/')[0] === b));
        if (unknown !== undefined) usage(`--backend ${unknown}: expected names among ${known.join(', ')} (or native for every native implementation)`);
      }
      const options: BenchOptions = { quick: opts.quick ?? false, onProgress: (m) => io.stderr.write(`[${elapsed()}s] ${m}\n`) };
      if (opts.backend) options.backends = opts.backend;
      if (opts.threads !== undefined) options.threads = opts.threads;
      if (opts.precision !== undefined) options.weightPrecision = opts.precision;
      const report = modelPath === undefined
        ? await runBenchmark({ ...options, configs: opts.config?.map((c) => c.toUpperCase()) ?? STANDARD_CONFIGS })
        : await benchmarkModel(modelPath, { ...options, steps: opts.steps ?? 100, batch: opts.batch ?? 1 });
      if (opts.svg) await writeFile(opts.svg, benchmarkSvg(report, `lstm-runtime bench${modelPath ? ` ${modelPath}` : ''}`));
      io.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatBenchmarkTable(report));
    });

  program
    .command('inspect')
    .description("load a model, run it with every gate traced and summarise each recurrent layer's gates; with --out, write an HTML report")
    .argument('<model>', 'a model file loadModel reads')
    .option('--steps <n>', 'steps of the random input (default 20; a model with a Flatten takes its own)', positiveInt)
    .option('--backend <name>', 'backend to run on (default auto)')
    .option('-o, --out <file>', 'write the HTML report (one self-contained file) instead of printing the summary')
    .option('-i, --input <file>', 'report: the input, as run --input takes it (.json, .npy, .csv); the first sequence is explained (default: a random one of --steps)')
    .option('--text <text>', 'report: the input as text, one step per character, through --vocab (one-hot, or ids for an Embedding)')
    .option('--vocab <file>', 'report: a JSON vocabulary (token -> index, as Keras char_indices, or an array of tokens) naming steps, features and outputs')
    .option('--labels <file>', "report: the steps' labels, one line each (timestamps of a series, say)")
    .addOption(new Option('--method <m>', 'report: attribution method (default integrated-gradients)').choices(ATTRIBUTION_METHODS))
    .option('--target <k>', "report: the output explained (default the model's largest output)", nonNegativeInt)
    .option('--target-step <k>', 'report: for a sequence output, the step explained (default the last; negative counts from the end)', integer)
    .option('--ig-steps <n>', 'report: integrated gradients steps (default 50)', positiveInt)
    .option('--top-units <n>', 'report: units drawn per layer at most, those of highest mean |h| (default 64)', positiveInt)
    .option('--max-columns <n>', 'report: columns per heatmap at most; longer inputs are drawn in bins of steps (default 200)', positiveInt)
    .addHelpText('after', `
Without --out, prints the layers, the output's shape and first values, then per recurrent layer (per
direction of a Bidirectional) each gate's mean and the share of values shut (< 0.05) or open (> 0.95),
and the units holding the most cell state at the last step, for a random input of --steps.

With --out, writes one HTML file (no network, opens from file://): the layers, the input as labels,
the attribution of one output over steps x features with a bar per step, and per recurrent layer the
gate statistics and heatmaps of i, f, c~, o, c and h over steps x units.

Examples:
  lstm-runtime inspect model.keras --steps 50
  lstm-runtime inspect model.json --text "the will to power is" --vocab char_indices.json --out report.html
  lstm-runtime inspect model.keras --input series.csv --method gradient-x-input --out report.html
  lstm-runtime inspect model.keras --input series.csv --labels times.txt --out report.html`)
    .action(async (modelPath: string, opts: InspectFlags, command: Command) => {
      const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: 2 });
      const reportOnly = (['input', 'text', 'vocab', 'labels', 'method', 'target', 'targetStep', 'igSteps', 'topUnits', 'maxColumns'] as const).filter((k) => opts[k] !== undefined);
      if (opts.out === undefined && reportOnly.length > 0) usage(`--${reportOnly[0]!.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} applies to the HTML report: add --out report.html`);
      if (opts.text !== undefined && opts.input !== undefined) usage('--text and --input both give the input: use one');
      if (opts.text !== undefined && opts.vocab === undefined) usage('--text needs --vocab, the file mapping its characters to the model\'s inputs');
      await checkBackend(opts.backend, command);
      const model = sequentialOnly(await loadModel(modelPath, loadOptions(opts)), 'lstm-runtime inspect');
      try {
        if (opts.out === undefined) {
          io.stdout.write(formatInspection(inspectModel(model, { steps: opts.steps ?? 20 }), modelPath));
          return;
        }
        const vocabulary = opts.vocab === undefined ? undefined : readVocabulary(await readFile(opts.vocab, 'utf8'), opts.vocab);
        const input = opts.text !== undefined ? encodeText(model, opts.text, vocabulary!)
          : opts.input !== undefined ? readModelInput(model, await readFile(opts.input), { name: opts.input })
          : randomInput(model, { steps: opts.steps ?? 20 });
        // 'nietzsche/model.json' says more than 'model.json'.
        const options: InspectReportOptions = { title: basename(modelPath) === 'model.json' ? `${basename(dirname(resolve(modelPath)))}/model.json` : basename(modelPath) };
        if (vocabulary) options.vocabulary = vocabulary;
        if (opts.labels !== undefined) options.labels = (await readFile(opts.labels, 'utf8')).replace(/\r?\n$/, '').split(/\r?\n/);
        for (const k of ['method', 'target', 'targetStep', 'igSteps', 'topUnits', 'maxColumns'] as const) if (opts[k] !== undefined) (options as Record<string, unknown>)[k] = opts[k];
        await writeFile(opts.out, await inspectReport(model, input, options));
      } finally {
        model.dispose();
      }
    });

  program
    .command('serve')
    .description('serve a page on 127.0.0.1 that runs the model in the browser on WebAssembly and redraws its gates and attributions as you type')
    .argument('[model]', 'a model file loadModel reads (default: the example forecaster, examples/models/planted-lag.keras)')
    .option('--port <n>', 'port on 127.0.0.1 (default: any free port)', positiveInt)
    .option('--vocab <file>', "a character model's vocabulary, JSON { \"char\": index } (default: char_indices.json beside the model)")
    .addHelpText('after', `
The page loads the model from this server and runs it in the browser: type (a character model) or
edit the series, and it redraws every gate of every recurrent layer and the attribution of the
chosen output. Only 127.0.0.1 is served; Ctrl-C stops the server.

Example:
  lstm-runtime serve model.json --vocab char_indices.json --port 8080`)
    .action(async (modelPath: string | undefined, opts: { port?: number; vocab?: string }) => {
      const inspector = await serveInspector(modelPath ?? exampleModel(), { port: opts.port, vocab: opts.vocab });
      io.stdout.write(`lstm-runtime live: ${inspector.url} (Ctrl-C stops it)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await inspector.close();
    });

  return program;
}

/** A Node system error (ENOENT, EACCES, EISDIR, ...) of a file the user named. */
const isSystemError = (e: unknown): e is Error & { code: string } => e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && 'syscall' in e;

/** Runs the command line `argv` (without node and the script) and returns the exit status. */
export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    io.stderr.write(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof LstmError) {
      io.stderr.write(`lstm-runtime: ${e.code}: ${e.message.replace(/\s*\n\s*/g, '; ')}\n`);
      return 1;
    }
    if (isSystemError(e)) {
      io.stderr.write(`lstm-runtime: ${e.message.startsWith(e.code) ? '' : `${e.code}: `}${e.message}\n`);
      return 1;
    }
    io.stderr.write(`lstm-runtime: unexpected error, a bug of lstm-runtime (please report it with this output):\n${e instanceof Error ? e.stack : String(e)}\n`);
    return 1;
  }
}
