// node examples/inspect.mjs <model file> [steps]: each recurrent layer's gates on a random input,
// the report `lstm-runtime inspect` prints (lib/tools/inspect.ts, lib/explain/gate-stats.ts).
import { formatInspection, inspectModel, loadModel } from 'lstm-runtime';

const [file, steps = '20'] = process.argv.slice(2);
if (!file) throw new Error('usage: node examples/inspect.mjs <model file> [steps]');
const model = await loadModel(file);
process.stdout.write(formatInspection(inspectModel(model, { steps: Number(steps) }), file));
model.dispose();
