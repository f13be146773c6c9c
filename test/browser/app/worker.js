// The module Worker: the same suite, answered to the page.
import { runSuite } from './suite.js';

const start = performance.now();
let imported;
const lib = import('lstm-runtime').then((l) => ((imported = performance.now()), l));

self.onmessage = async () => {
  try {
    self.postMessage(await runSuite(await lib, { start, imported }));
  } catch (e) {
    self.postMessage({ error: String(e?.stack ?? e) });
  }
};
