// Keras functional models that are more than a chain: each layer with the layers it is called on,
// from inbound_nodes in either form (Keras 3: args holding keras_history; Keras 2 and TF.js:
// [layer, node, tensor, kwargs] lists), the model's inputs and outputs from input_layers and
// output_layers. Chains keep loading as a Sequential (modelLayers).
import { describe } from '../errors.js';
import { activation, configLayers, kerasLayerSpec, layerName, modelLayers, type KerasLayerConfig, type KerasLayers, type KerasModel } from './keras-layers.js';
import { modelError, type GraphSpec } from './spec.js';

/**
 * A functional model's calls of layers. A call is named by its layer ('encoder'), a later call of
 * a shared layer with its index ('encoder#1', Keras' node index).
 */
export interface KerasGraph {
  /** The layers the outputs take, in the config's order. */
  layers: KerasLayerConfig[];
  /** The calls each call takes, in order (those the outputs take). */
  inbound: Map<string, string[]>;
  /** Each layer's calls, in order (those the outputs take). */
  calls: Map<string, string[]>;
  inputs: string[];
  outputs: string[];
}

/** The name of call `node` of layer `layer`. */
const callName = (layer: string, node: number) => (node === 0 ? layer : `${layer}#${node}`);

/** A Keras topology: the layers in the order they run and, for a functional model that is no chain, its graph. */
export interface KerasTopology extends KerasLayers {
  graph: KerasGraph | null;
}

type TensorRef = { layer: string; node: number; tensor: number };

/** The tensors each call of a layer takes (no calls for an input). */
function inboundTensors(file: string, layer: KerasLayerConfig & { inbound_nodes?: unknown }, name: string): TensorRef[][] {
  const calls = layer.inbound_nodes ?? (layer.config as { inbound_nodes?: unknown }).inbound_nodes;
  if (calls === undefined) return [];
  if (!Array.isArray(calls)) return modelError(file, `layer '${name}': expected inbound_nodes as a list, got ${describe(calls)}`);
  return calls.map((call: unknown) => {
    const refs: TensorRef[] = [];
    const visit = (x: unknown): void => {
      if (Array.isArray(x)) {
        if (typeof x[0] === 'string' && typeof x[1] === 'number' && typeof x[2] === 'number') refs.push({ layer: x[0], node: x[1], tensor: x[2] });
        else x.forEach(visit);
      } else if (typeof x === 'object' && x !== null) {
        const history = (x as { config?: { keras_history?: unknown } }).config?.keras_history;
        if (Array.isArray(history)) visit(history);
        else Object.values(x).forEach(visit);
      }
    };
    // Keras 3: { args, kwargs }; only args hold the tensors the layer takes (kwargs may hold a mask).
    visit(typeof call === 'object' && call !== null && !Array.isArray(call) && 'args' in call ? (call as { args: unknown }).args : call);
    return refs;
  });
}

/** input_layers / output_layers: [[name, node, tensor], ...], or one such list alone. */
function endpoints(file: string, value: unknown, what: string): string[] {
  const list = Array.isArray(value) && typeof value[0] === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((e) => Array.isArray(e) && typeof e[0] === 'string')) {
    return modelError(file, `expected ${what} as a list of [layer, node, tensor], got ${describe(value)}`);
  }
  return list.map((e) => {
    if ((e[2] ?? 0) !== 0) modelError(file, `${what}: expected the first output of each layer, got ${describe(e)}`);
    return callName(e[0] as string, typeof e[1] === 'number' ? e[1] : 0);
  });
}

/**
 * The model's layers: a chain as modelLayers gives it, any other functional model as a graph.
 * `all` keeps every layer of the config (where Keras 3 saves weights counts them all).
 */
export function kerasTopology(file: string, modelConfig: unknown, wayOut?: string): KerasTopology & { all: KerasLayerConfig[] } {
  const all = configLayers(file, modelConfig);
  if (!all.functional) return { ...all, graph: null, all: all.layers };
  const graph = functionalGraph(file, all.layers, (modelConfig as { config: Record<string, unknown> }).config ?? {});
  const used = [...graph.inbound.values()].flat();
  const chain =
    graph.inputs.length === 1 &&
    graph.outputs.length === 1 &&
    new Set(used).size === used.length &&
    graph.layers.every((l, k) => graph.inputs.includes(layerName(l, k)) || (graph.calls.get(layerName(l, k))!.length === 1 && graph.inbound.get(layerName(l, k))!.length === 1));
  if (!chain) return { ...all, layers: graph.layers, graph, all: all.layers };
  if (graph.layers.length === all.layers.length) return { ...modelLayers(file, modelConfig, wayOut), graph: null, all: all.layers };
  // A chain once the layers computing Keras 3's masks are left out: walked from its input.
  const byInput = new Map(graph.layers.map((l, k) => [graph.inbound.get(layerName(l, k))![0], l]));
  const ordered = [graph.layers.find((l, k) => graph.inputs.includes(layerName(l, k)))!];
  for (let next = byInput.get(graph.inputs[0]!); next; next = byInput.get(layerName(next, 0))) ordered.push(next);
  return { layers: ordered, functional: true, graph: null, all: all.layers };
}

function functionalGraph(file: string, layers: KerasLayerConfig[], config: Record<string, unknown>): KerasGraph {
  const inbound = new Map<string, string[]>();
  const calls = new Map<string, string[]>();
  layers.forEach((layer, k) => {
    const name = layerName(layer, k);
    if (calls.has(name)) modelError(file, `expected layers with distinct names (as Keras requires), got '${name}' twice`);
    const nodes = inboundTensors(file, layer, name);
    // An input (no call) is a tensor of its own, named as its layer.
    if (nodes.length === 0) inbound.set(name, []);
    nodes.forEach((refs, node) => {
      for (const r of refs) {
        if (r.tensor !== 0) modelError(file, `layer '${name}': expected it to take the first output of '${r.layer}', got output ${r.tensor} (layers with several outputs are not supported)`);
      }
      inbound.set(callName(name, node), refs.map((r) => callName(r.layer, r.node)));
    });
    calls.set(name, nodes.length === 0 ? [name] : nodes.map((_, node) => callName(name, node)));
  });
  const check = (ref: string, where: string) => {
    if (inbound.has(ref)) return;
    const [layer, node] = ref.split('#') as [string, string | undefined];
    modelError(file, calls.has(layer) ? `${where}: expected calls the file has, got call ${node} of '${layer}', which is called ${calls.get(layer)!.length} time(s)` : `${where}: expected to be called on layers of the model, got inbound layer '${layer}', which is not among them`);
  };
  for (const [name, from] of inbound) for (const source of from) check(source, `layer '${name.split('#')[0]}'`);
  const inputs = config.input_layers === undefined ? layers.filter((l) => l.class_name === 'InputLayer').map((l) => layerName(l, 0)) : endpoints(file, config.input_layers, 'input_layers');
  const outputs = endpoints(file, config.output_layers, 'output_layers');
  for (const name of [...inputs, ...outputs]) if (!inbound.has(name)) modelError(file, `expected the model's inputs and outputs among its layers, got '${name}', which is not`);
  // The calls the outputs take, through the tensors each is called on: Keras 3 writes the
  // computation of masks as layers of their own (NotEqual, LogicalOr, Any, ...) passed in kwargs,
  // which masks here make themselves.
  const reached = new Set<string>();
  const todo = [...outputs];
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (reached.has(name)) continue;
    reached.add(name);
    todo.push(...inbound.get(name)!);
  }
  for (const name of inputs) reached.add(name);
  for (const name of [...inbound.keys()]) if (!reached.has(name)) inbound.delete(name);
  const kept = layers.filter((l, k) => {
    const name = layerName(l, k);
    calls.set(name, calls.get(name)!.filter((c) => reached.has(c)));
    return calls.get(name)!.length > 0;
  });
  for (const [name, from] of inbound) {
    if (!inputs.includes(name) && from.length === 0) {
      const layer = name.split('#')[0]!;
      modelError(file, `layer '${layer}' (${kept.find((l, k) => layerName(l, k) === layer)?.class_name}): expected it called on a layer (or listed in input_layers), got no inbound layer`);
    }
  }
  return { layers: kept, inbound, calls, inputs, outputs };
}

/**
 * The graph's layers as specs with the tensors they take. Layers that do nothing at inference
 * pass their input's name on; an Activation joins the Dense it is called on (when nothing else
 * takes that Dense's output).
 */
export async function kerasGraphSpecs(model: KerasModel, graph: KerasGraph): Promise<GraphSpec> {
  const passOn = new Map<string, string>();
  const resolve = (name: string) => {
    for (let k = 0; passOn.has(name) && k <= passOn.size; k++) name = passOn.get(name)!;
    return name;
  };
  const consumers = (name: string) => [...graph.inbound.values()].flat().filter((n) => n === name).length + graph.outputs.filter((n) => n === name).length;
  const nodes: GraphSpec['nodes'] = [];
  for (const [index, layer] of graph.layers.entries()) {
    const name = layerName(layer, index);
    if (graph.inputs.includes(name)) continue;
    const calls = graph.calls.get(name)!;
    const where = `layer '${name}' (${layer.class_name})`;
    // One spec (one layer, its weights read once) for every call of a shared layer.
    const spec = await kerasLayerSpec(model, layer, index);
    for (const call of calls) {
      const from = graph.inbound.get(call)!;
      if (spec !== null && spec !== 'activation') {
        nodes.push({ spec, inputs: from, name: call });
        continue;
      }
      if (from.length !== 1) modelError(model.file, `${where}: expected it called on one layer, got ${from.length}`);
      passOn.set(call, from[0]!);
      if (spec === null) continue;
      const dense = nodes.find((n) => n.name === resolve(from[0]!))?.spec;
      if (calls.length !== 1 || dense?.type !== 'dense' || (dense.options.activation ?? 'linear') !== 'linear' || consumers(from[0]!) !== 1 || nodes.filter((n) => n.spec === dense).length !== 1) {
        modelError(model.file, `${where}: expected it called once on a Dense without an activation whose output nothing else takes, got it called on '${from[0]}'`);
      }
      dense.options.activation = activation(model, `${where}.activation`, layer.config.activation, true);
    }
  }
  for (const node of nodes) node.inputs = node.inputs.map(resolve);
  return { inputs: graph.inputs, outputs: graph.outputs.map(resolve), nodes };
}
