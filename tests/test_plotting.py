"""utils.plotting: the figures draw what they are given and refuse what they cannot draw."""

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils import plotting


def teardown_function():
    plt.close("all")


def test_set_style_keeps_figures_small():
    plotting.set_style()
    assert mpl.rcParams["figure.dpi"] == 80
    assert tuple(mpl.rcParams["figure.figsize"]) == (6.4, 4.0)


def test_contour_with_gradients_draws_one_arrow_per_point():
    points = [(-2, 1), (1, 2), (2, -1)]
    ax = plotting.contour_with_gradients(lambda x, y: x**2 + 2 * y**2, lambda x, y: (2 * x, 4 * y), points)
    arrows = [child for child in ax.texts if getattr(child, "arrow_patch", None) is not None]
    assert len(arrows) == len(points)
    # each arrow starts at its point and points along the gradient
    for arrow, (x, y) in zip(arrows, points, strict=True):
        start, end = np.array(arrow.xyann), np.array(arrow.xy)
        np.testing.assert_allclose(start, (x, y))
        direction = end - start
        assert np.dot(direction, (2 * x, 4 * y)) > 0


def test_an_arrow_reaching_past_the_axes_is_still_drawn():
    # by default matplotlib skips drawing an annotation whose tip lies outside the axes
    ax = plotting.contour_with_gradients(lambda x, y: x**2, lambda x, y: (2 * x, 0.0), [(2.5, 0.0)], arrow_scale=1)
    (arrow,) = [child for child in ax.texts if getattr(child, "arrow_patch", None) is not None]
    assert arrow.xy[0] > ax.get_xlim()[1]
    assert arrow.get_annotation_clip() is False


def test_convergence_plot_uses_a_log_axis_and_hides_exact_zeros():
    ax = plotting.convergence_plot({"Newton": [1.0, 1e-2, 1e-8, 0.0], "GD": [1.0, 0.5, 0.25, 0.125]})
    assert ax.get_yscale() == "log"
    newton = ax.get_lines()[0].get_ydata()
    assert np.isnan(newton[-1]) and newton[0] == 1.0
    assert [line.get_label() for line in ax.get_lines()] == ["Newton", "GD"]


def test_ma_plot_separates_highlighted_genes():
    ax = plotting.ma_plot(
        np.array([1.0, 10.0, 100.0]), np.array([0.1, -2.0, 3.0]), highlight=np.array([False, True, True])
    )
    grey, red = ax.collections
    assert len(grey.get_offsets()) == 1 and len(red.get_offsets()) == 2
    assert ax.get_xscale() == "log"


@pytest.mark.parametrize(
    "call",
    [
        lambda: plotting.convergence_plot({}),
        lambda: plotting.convergence_plot({"a": [[1.0, 2.0]]}),
        lambda: plotting.ma_plot(np.ones(3), np.ones(2)),
        lambda: plotting.ma_plot(np.ones(3), np.ones(3), highlight=np.ones(2, dtype=bool)),
        lambda: plotting.contour_with_gradients(lambda x, y: x, lambda x, y: (1, 0), [(0, 0)], arrow_scale=0),
    ],
)
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()
