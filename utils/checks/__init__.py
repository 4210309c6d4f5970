"""Exercise checks, one module per notebook, named for the notebook.

A notebook imports its own module, e.g. ``from utils.checks import gradients_derivatives as checks``, and
calls ``checks.ex1(answer)``. Every check:

- prints "not attempted yet" and returns False when ``answer`` is None;
- computes the right answer itself (never a pasted number), compares with a stated tolerance, prints a
  line starting with ✓ and returns True when it matches;
- prints a line starting with ✗ and one hint, and returns False, when it does not; it never raises on a
  wrong answer, whatever its type.

The printing and comparison machinery shared by all of them is in ``utils.checks.core``.
"""
