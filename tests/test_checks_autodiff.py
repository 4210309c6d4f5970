"""The checks of 04_autodiff accept right answers (computed here independently) and reject wrong ones."""

import math

import numpy as np
import torch
from scipy.stats import gmean

from utils.checks import autodiff as checks
from utils.data import load_pasilla


# ---------------------------------------------------------------- ex1: g'(0.8) for g = sin(3x) log(1+x^2) / x
def _ex1_closed_form(x=0.8):
    log_term = math.log(1 + x * x)
    numerator = math.sin(3 * x) * log_term
    numerator_derivative = 3 * math.cos(3 * x) * log_term + math.sin(3 * x) * 2 * x / (1 + x * x)
    return numerator_derivative / x - numerator / x**2


def test_ex1_accepts_the_closed_form(capsys):
    assert checks.ex1(_ex1_closed_form()) is True
    assert checks.ex1(np.float64(_ex1_closed_form())) is True
    assert capsys.readouterr().out.count("✓") == 2


def test_ex1_rejects_the_value_instead_of_the_derivative(capsys):
    assert checks.ex1(math.sin(2.4) * math.log(1.64) / 0.8) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_rejects_a_missing_inner_factor(capsys):
    x = 0.8
    wrong = (math.cos(3 * x) * math.log(1 + x * x) + math.sin(3 * x) * 2 * x / (1 + x * x)) / x - math.sin(
        3 * x
    ) * math.log(1 + x * x) / x**2
    assert checks.ex1(wrong) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_none_is_not_attempted(capsys):
    assert checks.ex1(None) is False
    assert "not attempted" in capsys.readouterr().out


# ---------------------------------------------------------------- ex2: tanh in a scalar reverse-mode engine
class _Node:
    """A minimal reverse-mode scalar, written independently of the notebook's engine."""

    def __init__(self, data, parents=(), local=()):
        self.data, self.grad, self.parents, self.local = float(data), 0.0, parents, local

    def __add__(self, other):
        other = other if isinstance(other, _Node) else _Node(other)
        return _Node(self.data + other.data, (self, other), (1.0, 1.0))

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, _Node) else _Node(other)
        return _Node(self.data * other.data, (self, other), (other.data, self.data))

    __rmul__ = __mul__

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node.parents:
                    visit(parent)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            for parent, slope in zip(node.parents, node.local, strict=True):
                parent.grad += slope * node.grad


class _RightTanh(_Node):
    def tanh(self):
        value = math.tanh(self.data)
        return _Node(value, (self,), (1 - value**2,))


class _WrongSlopeTanh(_Node):
    def tanh(self):
        value = math.tanh(self.data)
        return _Node(value, (self,), (1 - value,))  # forgot to square


class _StubTanh(_Node):
    def tanh(self):
        return None


def test_ex2_accepts_a_right_tanh(capsys):
    assert checks.ex2(_RightTanh) is True
    assert "✓" in capsys.readouterr().out


def test_ex2_rejects_a_wrong_local_derivative(capsys):
    assert checks.ex2(_WrongSlopeTanh) is False
    out = capsys.readouterr().out
    assert "✗" in out and "gradient" in out


def test_ex2_rejects_a_tanh_that_loses_a_path_when_the_leaf_is_reused(capsys):
    # the effect of writing `self.grad = ...` instead of `+=`: only one of the two tanh nodes reaches the leaf
    class LosesSecondPath(_Node):
        def tanh(self):
            value = math.tanh(self.data)
            self.uses = getattr(self, "uses", 0) + 1
            return _Node(value, (self,), ((1 - value**2) if self.uses == 1 else 0.0,))

    assert checks.ex2(LosesSecondPath) is False
    out = capsys.readouterr().out
    assert "✗" in out and "tanh(a) * tanh(a)" in out


def test_ex2_rejects_a_wrong_value(capsys):
    class SigmoidInstead(_Node):
        def tanh(self):
            value = 1 / (1 + math.exp(-self.data))
            return _Node(value, (self,), (value * (1 - value),))

    assert checks.ex2(SigmoidInstead) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_stub_and_none_are_not_attempted(capsys):
    assert checks.ex2(_StubTanh) is False
    assert checks.ex2(None) is False
    assert capsys.readouterr().out.count("not attempted") == 2


def test_ex2_a_class_without_tanh_is_wrong_not_a_crash(capsys):
    assert checks.ex2(_Node) is False
    assert "✗" in capsys.readouterr().out


# ---------------------------------------------------------------- ex3: a Jacobian by reverse passes
def _jacobian_by_vjp(f, x):
    output, pullback = torch.func.vjp(f, x)
    return torch.stack([pullback(row)[0] for row in torch.eye(output.numel(), dtype=output.dtype)])


def _jacobian_by_jvp(f, x):
    columns = [torch.func.jvp(f, (x,), (column,))[1] for column in torch.eye(x.numel(), dtype=x.dtype)]
    return torch.stack(columns, dim=1)


def test_ex3_accepts_reverse_mode(capsys):
    assert checks.ex3(_jacobian_by_vjp) is True
    assert "✓" in capsys.readouterr().out


def test_ex3_right_answer_agrees_with_finite_differences():
    def mapping(x):
        return torch.stack([x[0] * x[1], torch.sin(x[2]) + x[0] ** 2])

    point = torch.tensor([0.3, -1.1, 0.7], dtype=torch.float64)
    h = 1e-6
    columns = [(mapping(point + h * e) - mapping(point - h * e)) / (2 * h) for e in torch.eye(3, dtype=torch.float64)]
    assert torch.allclose(_jacobian_by_vjp(mapping, point), torch.stack(columns, dim=1), atol=1e-8)


def test_ex3_rejects_forward_mode_even_though_the_jacobian_is_right(capsys):
    assert checks.ex3(_jacobian_by_jvp) is False
    out = capsys.readouterr().out
    assert "✗" in out and "forward mode" in out


def test_ex3_rejects_the_transpose(capsys):
    assert checks.ex3(lambda f, x: _jacobian_by_vjp(f, x).T) is False
    out = capsys.readouterr().out
    assert "✗" in out and "shape" in out


def test_ex3_none_and_stub_are_not_attempted(capsys):
    assert checks.ex3(None) is False
    assert checks.ex3(lambda f, x: None) is False
    assert capsys.readouterr().out.count("not attempted") == 2


# ---------------------------------------------------------------- ex4: Poisson gradient for Kal1
def _kal1_design_and_means():
    pasilla = load_pasilla()
    counts = pasilla.counts
    expressed = counts[(counts > 0).all(axis=1)].to_numpy(dtype=float)
    # median-of-ratios with scipy's geometric mean, an independent route to DESeq2's size factors
    size_factors = np.median(expressed / gmean(expressed, axis=1)[:, None], axis=0)
    paired = np.array([t == "paired-end" for t in pasilla.samples["type"]], dtype=float)
    treated = np.array([c == "treated" for c in pasilla.samples["condition"]], dtype=float)
    design = np.column_stack([np.ones_like(paired), paired, treated])
    kal1 = counts.loc["FBgn0039155"].to_numpy(dtype=float)
    means = size_factors * np.mean(kal1 / size_factors)  # beta = (log mean(K/s), 0, 0)
    return design, kal1, means, size_factors


def test_ex4_accepts_the_closed_form_gradient(capsys):
    design, kal1, means, _ = _kal1_design_and_means()
    assert checks.ex4(design.T @ (kal1 - means)) is True
    assert "✓" in capsys.readouterr().out


def test_ex4_rejects_a_gradient_without_size_factors(capsys):
    design, kal1, _, _ = _kal1_design_and_means()
    means_without_offset = np.full_like(kal1, kal1.mean())
    assert checks.ex4(design.T @ (kal1 - means_without_offset)) is False
    assert "✗" in capsys.readouterr().out


def test_ex4_rejects_the_negative_binomial_gradient(capsys):
    design, kal1, means, _ = _kal1_design_and_means()
    assert checks.ex4(design.T @ ((kal1 - means) / (1 + 0.05 * means))) is False
    assert "✗" in capsys.readouterr().out


def test_ex4_rejects_a_wrong_shape_and_none(capsys):
    design, kal1, means, _ = _kal1_design_and_means()
    assert checks.ex4((design.T @ (kal1 - means))[:2]) is False
    assert checks.ex4(None) is False
    out = capsys.readouterr().out
    assert "✗" in out and "not attempted" in out
