"""ONNX graphs beyond a chain, for test/onnx-graph.test.ts: each built with onnx.helper, run by
onnxruntime on seeded inputs, saved as <name>.onnx with <name>.json holding the inputs and the
expected outputs by name.

  python3 scripts/gen-onnx-graph-fixtures.py       (needs numpy, onnx, onnxruntime)
"""
import json, os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'onnx-graph')
rng = np.random.default_rng(3)
f32 = lambda *shape: rng.uniform(-0.5, 0.5, shape).astype(np.float32)
init = lambda name, value: numpy_helper.from_array(np.asarray(value), name)


def save(name, graph, cases, opset=15):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset)], producer_name='lstm-runtime fixtures')
    model.ir_version = 8
    path = os.path.join(OUT, name + '.onnx')
    onnx.save(model, path)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    as_json = lambda a: {'dtype': str(a.dtype), 'shape': list(a.shape), 'data': a.reshape(-1).tolist()}
    runs = []
    for inputs in cases:
        outputs = session.run(None, inputs)
        runs.append({'inputs': {k: as_json(v) for k, v in inputs.items()}, 'outputs': {n: as_json(o) for n, o in zip(names, outputs)}})
        print(name, {n: o.shape for n, o in zip(names, outputs)})
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump({'source': 'scripts/gen-onnx-graph-fixtures.py, onnxruntime ' + ort.__version__, 'cases': runs}, f)


def conv_lstm():
    """Two inputs; Pad (reflect) -> grouped, strided, dilated Conv -> Relu; Transpose to time-major ->
    LSTM with a given state; a second input added to the sequence's mean; Sigmoid."""
    C, M, K, U = 4, 6, 3, 5
    nodes = [
        helper.make_node('Constant', [], ['pads'], value=init('pads_v', np.array([0, 0, 2, 0, 0, 1], np.int64))),
        helper.make_node('Pad', ['x', 'pads'], ['padded'], mode='reflect'),
        helper.make_node('Conv', ['padded', 'W', 'B'], ['conv'], group=2, strides=[2], dilations=[2], pads=[1, 0], kernel_shape=[K]),
        helper.make_node('Relu', ['conv'], ['relu']),
        helper.make_node('Transpose', ['relu'], ['seq'], perm=[2, 0, 1]),
        helper.make_node('LSTM', ['seq', 'LW', 'LR', 'LB', '', 'h0', 'c0'], ['Y', 'Y_h', 'Y_c'], hidden_size=U),
        helper.make_node('ReduceMean', ['Y'], ['mean'], axes=[0, 1], keepdims=0),
        helper.make_node('Add', ['mean', 'bias_in'], ['sum']),
        helper.make_node('Sigmoid', ['sum'], ['probability']),
    ]
    graph = helper.make_graph(nodes, 'conv_lstm',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', C, 'steps']),
         helper.make_tensor_value_info('h0', TensorProto.FLOAT, [1, 'batch', U]),
         helper.make_tensor_value_info('c0', TensorProto.FLOAT, [1, 'batch', U]),
         helper.make_tensor_value_info('bias_in', TensorProto.FLOAT, ['batch', U])],
        [helper.make_tensor_value_info('probability', TensorProto.FLOAT, None),
         helper.make_tensor_value_info('Y_h', TensorProto.FLOAT, None),
         helper.make_tensor_value_info('Y_c', TensorProto.FLOAT, None)],
        [init('W', f32(M, C // 2, K)), init('B', f32(M)), init('LW', f32(1, 4 * U, M)), init('LR', f32(1, 4 * U, U)), init('LB', f32(1, 8 * U))])
    B, T = 2, 17
    save('conv-lstm', graph, [{'x': f32(B, C, T) * 2, 'h0': f32(1, B, U), 'c0': f32(1, B, U), 'bias_in': f32(B, U)}, {'x': f32(1, C, 9), 'h0': f32(1, 1, U), 'c0': f32(1, 1, U), 'bias_in': f32(1, U)}])


def branches():
    """An If on the input's length (as Silero picks its path), each branch with its own GRU, which
    reads the outer graph's initializers; edge padding, Pow, Sqrt and ReduceSum around them."""
    I, U = 3, 4
    def branch(name, direction):
        g = helper.make_graph([
            helper.make_node('GRU', ['seq', 'GW', 'GR', 'GB'], [f'{name}_Y', f'{name}_h'], hidden_size=U, direction=direction, linear_before_reset=1),
            helper.make_node('Squeeze', [f'{name}_h', 'zero'], [f'{name}_out']),
        ], name, [], [helper.make_tensor_value_info(f'{name}_out', TensorProto.FLOAT, None)])
        return g
    nodes = [
        helper.make_node('Pad', ['x', 'pads'], ['padded'], mode='edge'),
        helper.make_node('Transpose', ['padded'], ['seq'], perm=[1, 0, 2]),
        helper.make_node('Shape', ['x'], ['shape']),
        helper.make_node('Gather', ['shape', 'one'], ['steps'], axis=0),
        helper.make_node('Equal', ['steps', 'six'], ['long']),
        helper.make_node('If', ['long'], ['h'], then_branch=branch('forward', 'forward'), else_branch=branch('reverse', 'reverse')),
        helper.make_node('Pow', ['h', 'two'], ['squared']),
        helper.make_node('ReduceSum', ['squared', 'last'], ['energy'], keepdims=1),
        helper.make_node('Sqrt', ['energy'], ['norm']),
    ]
    graph = helper.make_graph(nodes, 'branches', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 'steps', I])],
        [helper.make_tensor_value_info('norm', TensorProto.FLOAT, None), helper.make_tensor_value_info('h', TensorProto.FLOAT, None)],
        [init('pads', np.array([0, 1, 0, 0, 2, 0], np.int64)), init('one', np.array(1, np.int64)), init('six', np.array(6, np.int64)),
         init('zero', np.array([0], np.int64)), init('two', np.array(2, np.float32)), init('last', np.array([-1], np.int64)),
         init('GW', f32(1, 3 * U, I)), init('GR', f32(1, 3 * U, U)), init('GB', f32(1, 6 * U))])
    # 6 steps take the forward GRU, 4 the reverse one.
    save('branches', graph, [{'x': f32(2, 6, I)}, {'x': f32(3, 4, I)}])


def bidirectional():
    """A bidirectional LSTM given its states and sequence_lens as inputs, every output returned
    (Y [T,D,B,U], Y_h and Y_c [D,B,U]); and the same weights in layout 1 (batch first), which
    onnxruntime does not run: the test holds it to the layout-0 results, transposed."""
    I, U = 3, 4
    weights = [init('W', f32(2, 4 * U, I)), init('R', f32(2, 4 * U, U)), init('B', f32(2, 8 * U))]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ['Y', 'Y_h', 'Y_c']]
    def graph(layout, x, states):
        node = helper.make_node('LSTM', ['x', 'W', 'R', 'B', 'lens', 'h0', 'c0'], ['Y', 'Y_h', 'Y_c'], hidden_size=U, direction='bidirectional', **({'layout': 1} if layout else {}))
        return helper.make_graph([node], f'bidirectional_layout{layout}',
            [helper.make_tensor_value_info('x', TensorProto.FLOAT, x), helper.make_tensor_value_info('lens', TensorProto.INT32, ['batch']),
             helper.make_tensor_value_info('h0', TensorProto.FLOAT, states), helper.make_tensor_value_info('c0', TensorProto.FLOAT, states)],
            outputs, weights)
    B, T = 3, 5
    save('bidirectional', graph(0, ['steps', 'batch', I], [2, 'batch', U]), [{'x': f32(T, B, I), 'lens': np.array([5, 3, 1], np.int32), 'h0': f32(2, B, U), 'c0': f32(2, B, U)}], opset=14)
    model = helper.make_model(graph(1, ['batch', 'steps', I], ['batch', 2, U]), opset_imports=[helper.make_opsetid('', 14)], producer_name='lstm-runtime fixtures')
    model.ir_version = 8
    onnx.save(model, os.path.join(OUT, 'bidirectional-layout1.onnx'))


def front_end():
    """The operators of the Sequential reader inside a graph: Conv -> BatchNormalization -> Relu ->
    MaxPool -> AveragePool (padded) -> Transpose -> LayerNormalization -> MatMul + Add; two outputs,
    a Softmax per step and a Gemm (transB, alpha, beta) of the steps' mean."""
    C, M, H, O = 4, 6, 5, 3
    nodes = [
        helper.make_node('Conv', ['x', 'W', 'B'], ['conv'], pads=[1, 1], kernel_shape=[3]),
        helper.make_node('BatchNormalization', ['conv', 'gamma', 'beta', 'mean', 'var'], ['bn'], epsilon=1e-3),
        helper.make_node('Relu', ['bn'], ['relu']),
        helper.make_node('MaxPool', ['relu'], ['max'], kernel_shape=[2], strides=[2]),
        helper.make_node('AveragePool', ['max'], ['avg'], kernel_shape=[3], strides=[1], pads=[1, 1]),
        helper.make_node('Transpose', ['avg'], ['steps'], perm=[0, 2, 1]),
        helper.make_node('LayerNormalization', ['steps', 'ln_scale', 'ln_bias'], ['ln'], axis=-1, epsilon=1e-5),
        helper.make_node('MatMul', ['ln', 'proj'], ['projected']),
        helper.make_node('Add', ['projected', 'proj_bias'], ['logits']),
        helper.make_node('Softmax', ['logits'], ['per_step'], axis=-1),
        helper.make_node('ReduceMean', ['logits'], ['pooled'], axes=[1], keepdims=0),
        helper.make_node('Gemm', ['pooled', 'head', 'head_bias'], ['summary'], transB=1, alpha=0.5, beta=2.0),
    ]
    graph = helper.make_graph(nodes, 'front_end', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', C, 'steps'])],
        [helper.make_tensor_value_info('per_step', TensorProto.FLOAT, None), helper.make_tensor_value_info('summary', TensorProto.FLOAT, None)],
        [init('W', f32(M, C, 3)), init('B', f32(M)), init('gamma', f32(M) + 1), init('beta', f32(M)), init('mean', f32(M)), init('var', np.abs(f32(M)) + 0.5),
         init('ln_scale', f32(M) + 1), init('ln_bias', f32(M)), init('proj', f32(M, H)), init('proj_bias', f32(H)), init('head', f32(O, H)), init('head_bias', f32(O))])
    save('front-end', graph, [{'x': f32(2, C, 12) * 3}, {'x': f32(1, C, 7) * 3}], opset=17)


os.makedirs(OUT, exist_ok=True)
conv_lstm()
branches()
bidirectional()
front_end()
