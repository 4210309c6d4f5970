"""tools/check_repro.py masks what legitimately changes between two runs (timings) and nothing else."""

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import check_repro  # noqa: E402


def test_timings_and_their_ratios_are_masked():
    first = "one F 0.21 ms; Jacobian by jacfwd 106.8 F, by jacrev   5.5 F; 170x faster; fitted log-log slope 3.47"
    second = "one F 0.30 ms; Jacobian by jacfwd 59.3 F, by jacrev   6.0 F; 152x faster; fitted log-log slope 2.45"
    assert check_repro.mask(first) == check_repro.mask(second)


def test_results_are_not_masked():
    # numbers that are results, not timings, must still be compared
    for line in ("log-log slope of error against kappa: 2.0", "rate 0.980198", "F = 12.5", "padj < 0.1: 1404 genes"):
        assert check_repro.mask(line) == line
    assert check_repro.mask("error slope 1.03") != check_repro.mask("error slope 1.07")


def test_a_timed_cell_is_compared_without_its_numbers():
    import nbformat

    def notebook(printed: str, source: str):
        cell = nbformat.v4.new_code_cell(source, outputs=[nbformat.v4.new_output("stream", text=printed)])
        return nbformat.v4.new_notebook(cells=[cell])

    timed = "seconds = compare_times(functions)\nprint(slope)"
    first = check_repro.text_outputs(notebook("one solve, n = 100-400: slope 0.85\n", timed))
    second = check_repro.text_outputs(notebook("one solve, n = 100-400: slope 0.54\n", timed))
    assert first == second
    other = check_repro.text_outputs(notebook("something else entirely 0.54\n", timed))
    assert other != first  # the text is still compared
    untimed = "print(slope)"
    assert check_repro.text_outputs(notebook("slope 0.85\n", untimed)) != check_repro.text_outputs(
        notebook("slope 0.54\n", untimed)
    )


def test_a_progress_bar_is_compared_by_its_final_screen():
    import nbformat

    def notebook(*streams):
        outputs = [nbformat.v4.new_output("stream", name=name, text=text) for name, text in streams]
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("train()", outputs=outputs)])

    # tqdm(leave=False) redraws as often as the clock allows, then blanks its line: runs differ only in between
    bar = "\rtraining:   5%|▌  | 2/40"
    blank = "\r" + " " * 30 + "\r"
    first = notebook(("stderr", bar + "\rtraining:  50%|███ | 20/40"), ("stdout", "ELBO -648.7\n"), ("stderr", blank))
    second = notebook(("stderr", "\rtraining:   8%|▊  | 3/40"), ("stdout", "ELBO -648.7\n"), ("stderr", blank))
    assert check_repro.text_outputs(first) == check_repro.text_outputs(second)
    # what stays on screen is still compared
    kept = notebook(("stderr", bar + "\n"), ("stdout", "ELBO -648.7\n"))
    assert check_repro.text_outputs(kept) != check_repro.text_outputs(first)
    changed = notebook(("stderr", bar), ("stdout", "ELBO -650.1\n"), ("stderr", blank))
    assert check_repro.text_outputs(changed) != check_repro.text_outputs(first)
    assert check_repro.render_carriage_returns("abcdef\rXY") == "XYcdef"
