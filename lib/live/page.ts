// The live inspector's page script (bundled into dist/live/app.js; `lstm-runtime serve` serves it).
// It loads the served model in the browser on WebAssembly and, whenever the input changes, runs it
// with every gate traced, attributes the chosen output and redraws the report (lib/report) in a
// frame: the same pictures `lstm-runtime inspect --out` writes, computed here.
import { sequentialOnly } from '../load/index.js';
import { encodeText, loadModel, renderReport, reportData, vocabularyFrom, type AttributionMethod, type Sequential, type Tensor, type Vocabulary } from '../browser.js';
import { inputShape, modelInput } from '../tools/model-input.js';

interface Meta {
  /** The model's file name, served under /model/. */
  model: string;
  title: string;
  /** A character model's vocabulary { char: index }, or null (then the input is a series). */
  vocab: Record<string, number> | null;
}

/** Characters a character model reads at most: the text's last ones. */
const MAX_CHARACTERS = 200;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => ($('status').textContent = text);

/** A series: one step per line, its features separated by commas or spaces; lines that do not parse are left out. */
function parseSeries(model: Sequential, text: string): Tensor {
  const { features } = modelInput(model);
  const steps = text
    .split('\n')
    .map((line) => line.trim().split(/[,;\s]+/).filter(Boolean).map(Number))
    .filter((row) => row.length === features && row.every(Number.isFinite));
  return { data: Float32Array.from(steps.flat()), shape: inputShape(model, steps.length) };
}

/** The input a character model reads: the text's last characters the vocabulary has. */
function textInput(model: Sequential, text: string, vocabulary: Vocabulary): Tensor | null {
  const known = Array.from(text).filter((c) => vocabulary.indices.has(c)).slice(-MAX_CHARACTERS);
  return known.length ? encodeText(model, known.join(''), vocabulary) : null;
}

async function main(): Promise<void> {
  const meta = (await (await fetch('/meta.json')).json()) as Meta;
  const model = sequentialOnly(await loadModel(new URL(`/model/${encodeURIComponent(meta.model)}`, location.href)), 'The live page');
  const vocabulary = meta.vocab ? vocabularyFrom(meta.vocab) : null;
  const input = $<HTMLTextAreaElement>('input');
  const target = $<HTMLSelectElement>('target');
  const method = $<HTMLSelectElement>('method');
  const frame = $<HTMLIFrameElement>('report');
  const { features } = modelInput(model);
  if (vocabulary) {
    $('input-label').textContent = 'Text (the last 200 characters the vocabulary has are read)';
    input.value = 'the meaning of life is not a question of';
  } else {
    $('input-label').textContent = `Series: one step per line, ${features} value${features > 1 ? 's' : ''} each`;
    input.value = Array.from({ length: 12 }, (_, t) => Array.from({ length: features }, (_, f) => Math.sin(1.3 * t + f).toFixed(2)).join(', ')).join('\n');
  }
  let drawn = 0;
  let latest = 0;
  const redraw = async () => {
    const call = ++latest;
    const x = vocabulary ? textInput(model, input.value, vocabulary) : parseSeries(model, input.value);
    if (!x || x.data.length === 0) return status('nothing to run: type some input');
    const started = performance.now();
    try {
      const data = await reportData(model, x, {
        title: meta.title,
        method: method.value as AttributionMethod,
        ...(target.value !== '' && { target: Number(target.value) }),
        ...(vocabulary && { vocabulary }),
      });
      if (call !== latest) return; // a newer input is on its way
      if (target.options.length === 1) {
        const outputs = data.outputShape[data.outputShape.length - 1]!;
        for (let k = 0; k < outputs; k++) target.add(new Option(vocabulary?.tokens[k] !== undefined ? `${k}: ${JSON.stringify(vocabulary.tokens[k])}` : `output ${k}`, String(k)));
      }
      await new Promise<void>((resolve) => {
        frame.addEventListener('load', () => resolve(), { once: true });
        frame.srcdoc = renderReport(data);
      });
      document.body.dataset.drawn = String(++drawn); // what tests wait for
      status(`${data.backends.join(', ')} · ${x.shape[1]} steps · computed and drawn in ${(performance.now() - started).toFixed(0)} ms`);
    } catch (error) {
      status((error as Error).message);
    }
  };
  let frameRequest = 0;
  const schedule = () => {
    cancelAnimationFrame(frameRequest);
    frameRequest = requestAnimationFrame(() => void redraw());
  };
  for (const control of [input, target, method]) control.addEventListener(control === input ? 'input' : 'change', schedule);
  await redraw();
}

main().catch((error: Error) => status(`could not start: ${error.message}`));
