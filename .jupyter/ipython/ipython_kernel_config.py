# Kernel configuration of the course environment (installed into the environment by
# tools/install_jupyter_settings.py, which `make setup` runs).
#
# An exercise's check cell is the single call `checks.exN(answer)`: the check prints ✓, ✗ with a hint, or
# "not attempted yet", and returns a bool (tests and solution cells use it: `assert checks.exN(answer)`).
# Jupyter would echo that bool under the message, and a `False` under "not attempted yet" reads as "wrong".
# This input transformer adds the `;` that silences the echo, for a cell whose last line is exactly such a
# call and nothing else: every other expression, `checks.ex1(answer) == True` included, still shows its value.
c = get_config()  # noqa: F821 - provided by IPython when it reads this file

c.InteractiveShellApp.exec_lines = [
    """
def _quiet_check_cells(lines):
    import re
    code = [index for index, line in enumerate(lines) if line.strip()]
    if code and re.fullmatch(r"checks\\.ex\\w*\\([\\w.]*\\)", lines[code[-1]].strip()):
        last = code[-1]
        lines = lines[:last] + [lines[last].rstrip() + ";\\n"] + lines[last + 1 :]
    return lines


get_ipython().input_transformers_post.append(_quiet_check_cells)
del _quiet_check_cells
"""
]
