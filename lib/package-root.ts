// Where the installed package's own files are (package.json, the native addon, the HDF5 worker
// script), found by the package's name rather than by this module's depth below the root: the Node
// entry ships bundled (scripts/bundle.mjs), so compiled code does not sit where lib/ has it.
type NodeModule = typeof import('node:module');
type NodeUrl = typeof import('node:url');

const builtin = <T>(name: string): T | undefined =>
  (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(name) as T | undefined;

let root: URL | null | undefined;

/** The package's root directory (ending in the path separator), resolved by name through `require` (createRequire's). */
export function rootDirectory(require: { resolve(id: string): string }): string {
  // A package may import itself by name (exports has ./package.json); from elsewhere, node_modules.
  const manifest = require.resolve('lstm-runtime/package.json');
  return manifest.slice(0, -'package.json'.length);
}

/**
 * The package's root directory as a file: URL ending in '/', or null where there is none to find
 * (browsers, runtimes without node:module, a bundle that left the package behind).
 */
export function packageRoot(): URL | null {
  if (root !== undefined) return root;
  root = null;
  try {
    const module = builtin<NodeModule>('node:module');
    const url = builtin<NodeUrl>('node:url');
    // Inside the try: workerd (with nodejs_compat) has node:module but no import.meta.url.
    if (module && url && import.meta.url.startsWith('file:')) {
      root = url.pathToFileURL(rootDirectory(module.createRequire(import.meta.url)));
    }
  } catch {
    root = null;
  }
  return root;
}
