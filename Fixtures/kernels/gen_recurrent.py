"""Fixtures for the recurrent ops: LSTM (CRNN text recognizers such as ddddocr's), GRU and RNN.

Reference: ONNX Runtime; cross-checked with PyTorch's nn.LSTM / nn.GRU / nn.RNN (the ONNX weights
reordered into PyTorch's gate order: ONNX LSTM i,o,f,c is PyTorch i,f,g,o; ONNX GRU z,r,h is
PyTorch r,z,n, with linear_before_reset = 1) wherever PyTorch has the same computation. ONNX
Runtime's CPU kernels refuse layout = 1 (batch-first), so those references are ONNX Runtime's
layout-0 outputs transposed.

Run from the repository root:  python Fixtures/kernels/gen_recurrent.py
"""
import numpy as np
import torch

from kilnfix import FixtureWriter

w = FixtureWriter("recurrent", seed=17)
T = torch.from_numpy
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
N_OUT = {"LSTM": 3, "GRU": 2, "RNN": 2}


def weights(op, dirs, hidden, inp, bias=True, scale=0.5):
    g = GATES[op]
    ws = [w.randn(dirs, g * hidden, inp, scale=scale), w.randn(dirs, g * hidden, hidden, scale=scale)]
    ws.append(w.randn(dirs, 2 * g * hidden, scale=0.3) if bias else None)
    return ws


def torch_module(op, W, R, B, hidden, dirs, **kw):
    """The PyTorch layer computing what the ONNX node with these weights computes."""
    cls = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN": torch.nn.RNN}[op]
    m = cls(W.shape[2], hidden, bidirectional=dirs == 2, bias=B is not None, **kw)
    H = hidden
    # PyTorch gate blocks, as slices of the ONNX ones.
    order = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}[op]

    def reorder(a):
        return np.concatenate([a[k * H:(k + 1) * H] for k in order], axis=0)
    with torch.no_grad():
        for d in range(dirs):
            sfx = "_reverse" if d == 1 else ""
            getattr(m, f"weight_ih_l0{sfx}").copy_(T(reorder(W[d])))
            getattr(m, f"weight_hh_l0{sfx}").copy_(T(reorder(R[d])))
            if B is not None:
                n = GATES[op] * H
                getattr(m, f"bias_ih_l0{sfx}").copy_(T(reorder(B[d, :n])))
                getattr(m, f"bias_hh_l0{sfx}").copy_(T(reorder(B[d, n:])))
    return m


def torch_ref(op, x, W, R, B, hidden, dirs, h0=None, c0=None, **kw):
    """PyTorch's outputs in ONNX's layout: Y [seq, dirs, batch, H], Y_h (and Y_c) [dirs, batch, H]."""
    def run():
        m = torch_module(op, W, R, B, hidden, dirs, **kw)
        with torch.no_grad():
            state = None
            if h0 is not None:
                state = (T(h0), T(c0)) if op == "LSTM" else T(h0)
            y, st = m(T(x), state)
        seq, batch = x.shape[:2]
        outs = [y.reshape(seq, batch, dirs, hidden).permute(0, 2, 1, 3).contiguous().numpy()]
        outs += [s.numpy() for s in (st if op == "LSTM" else (st,))]
        return outs
    return run


def case(name, op, x, W, R, B=None, lens=None, h0=None, c0=None, P=None, attrs=None, ref=None, tol="transcendental"):
    dirs = W.shape[0]
    hidden = R.shape[2]
    attrs = dict(attrs or {})
    attrs.setdefault("hidden_size", hidden)
    if dirs == 2:
        attrs.setdefault("direction", "bidirectional")
    inputs = trimmed([x, W, R, B, lens, h0] + ([c0, P] if op == "LSTM" else []))
    return w.case(name, op, inputs, attrs, tolerance=tol, n_outputs=N_OUT[op], opset=14, torch_ref=ref)


def trimmed(inputs):
    """Inputs without trailing omitted ones (inner omitted ones stay as empty names)."""
    inputs = list(inputs)
    while inputs[-1] is None:
        inputs.pop()
    return inputs


def batch_first_case(name, op, x, W, R, B=None, lens=None, h0=None, c0=None, attrs=None):
    """layout = 1: ONNX Runtime's layout-0 outputs, transposed, are the reference."""
    attrs = dict(attrs or {}, hidden_size=R.shape[2])
    if W.shape[0] == 2:
        attrs["direction"] = "bidirectional"
    states = [h0] + ([c0] if op == "LSTM" else [])
    outs = w.run_onnx(op, trimmed([x, W, R, B, lens] + states), attrs, N_OUT[op], 14)
    t = lambda a: None if a is None else np.ascontiguousarray(a.transpose(1, 0, 2))  # noqa: E731
    y = np.ascontiguousarray(outs[0].transpose(2, 0, 1, 3))
    w.case(name, op, trimmed([t(x), W, R, B, lens] + [t(s) for s in states]), dict(attrs, layout=1),
           tolerance="transcendental", n_outputs=N_OUT[op], opset=14, expected=[y] + [t(o) for o in outs[1:]])


# LSTM -------------------------------------------------------------------------------------------
x = w.randn(5, 2, 4)
W, R, B = weights("LSTM", 1, 3, 4)
case("lstm_forward", "LSTM", x, W, R, B, ref=torch_ref("LSTM", x, W, R, B, 3, 1))
# ddddocr's recognizer in miniature: bidirectional over the image columns, with initial states.
x = w.randn(9, 1, 16)
W, R, B = weights("LSTM", 2, 8, 16, scale=0.3)
h0, c0 = w.randn(2, 1, 8), w.randn(2, 1, 8)
case("lstm_bidirectional_crnn", "LSTM", x, W, R, B, h0=h0, c0=c0,
     ref=torch_ref("LSTM", x, W, R, B, 8, 2, h0, c0))
x = w.randn(4, 3, 5)
W, R, _ = weights("LSTM", 1, 6, 5, bias=False)
case("lstm_reverse_no_bias", "LSTM", x, W, R, attrs={"direction": "reverse"})
x = w.randn(6, 3, 4)
W, R, B = weights("LSTM", 2, 5, 4)
case("lstm_sequence_lens", "LSTM", x, W, R, B, lens=np.array([6, 2, 4], np.int32), h0=w.randn(2, 3, 5),
     c0=w.randn(2, 3, 5))
x = w.randn(5, 2, 3)
W, R, B = weights("LSTM", 1, 4, 3, scale=1.5)
case("lstm_peepholes_clip", "LSTM", x, W, R, B, h0=w.randn(1, 2, 4), c0=w.randn(1, 2, 4), P=w.randn(1, 12),
     attrs={"clip": 0.8})
x = w.randn(4, 2, 3)
W, R, B = weights("LSTM", 2, 4, 3)
case("lstm_activations", "LSTM", x, W, R, B,
     attrs={"activations": ["HardSigmoid", "LeakyRelu", "ScaledTanh", "Sigmoid", "Affine", "Softsign"],
            "activation_alpha": [0.3, 0.05, 0.9, 0.7], "activation_beta": [0.4, 1.2, 0.1]})
x = w.randn(4, 2, 3)
W, R, B = weights("LSTM", 1, 4, 3)
case("lstm_input_forget", "LSTM", x, W, R, B, attrs={"input_forget": 1})
batch_first_case("lstm_layout1", "LSTM", w.randn(3, 2, 4), *weights("LSTM", 2, 3, 4), h0=w.randn(2, 2, 3),
                 c0=w.randn(2, 2, 3))
x = w.randn(12, 4, 64)
W, R, B = weights("LSTM", 2, 64, 64, scale=0.15)
case("lstm_parallel", "LSTM", x, W, R, B, ref=torch_ref("LSTM", x, W, R, B, 64, 2), tol="gemm")

# GRU --------------------------------------------------------------------------------------------
x = w.randn(5, 2, 4)
W, R, B = weights("GRU", 1, 3, 4)
case("gru_forward", "GRU", x, W, R, B)
x = w.randn(7, 2, 6)
W, R, B = weights("GRU", 2, 5, 6)
h0 = w.randn(2, 2, 5)
case("gru_linear_before_reset_bidirectional", "GRU", x, W, R, B, h0=h0, attrs={"linear_before_reset": 1},
     ref=torch_ref("GRU", x, W, R, B, 5, 2, h0))
x = w.randn(5, 3, 4)
W, R, B = weights("GRU", 1, 4, 4)
case("gru_reverse_sequence_lens", "GRU", x, W, R, B, lens=np.array([3, 5, 1], np.int32),
     attrs={"direction": "reverse"})
x = w.randn(4, 2, 3)
W, R, B = weights("GRU", 1, 4, 3, scale=1.5)
case("gru_clip_activations", "GRU", x, W, R, B,
     attrs={"clip": 0.5, "activations": ["HardSigmoid", "Softplus"], "activation_alpha": [0.25], "activation_beta": [0.45]})
x = w.randn(4, 2, 3)
W, R, _ = weights("GRU", 1, 4, 3, bias=False)
case("gru_no_bias_linear_before_reset", "GRU", x, W, R, attrs={"linear_before_reset": 1})
batch_first_case("gru_layout1", "GRU", w.randn(4, 3, 2), *weights("GRU", 1, 3, 2), h0=w.randn(1, 3, 3),
                 attrs={"linear_before_reset": 1})

# RNN --------------------------------------------------------------------------------------------
x = w.randn(6, 2, 4)
W, R, B = weights("RNN", 1, 5, 4)
case("rnn_tanh", "RNN", x, W, R, B, ref=torch_ref("RNN", x, W, R, B, 5, 1))
x = w.randn(5, 2, 3)
W, R, B = weights("RNN", 2, 4, 3)
h0 = w.randn(2, 2, 4)
case("rnn_relu_bidirectional", "RNN", x, W, R, B, h0=h0, attrs={"activations": ["Relu", "Relu"]},
     ref=torch_ref("RNN", x, W, R, B, 4, 2, h0, nonlinearity="relu"))
x = w.randn(4, 3, 2)
W, R, B = weights("RNN", 1, 3, 2)
case("rnn_sequence_lens_clip", "RNN", x, W, R, B, lens=np.array([4, 1, 2], np.int32), attrs={"clip": 0.6})
w.write()
