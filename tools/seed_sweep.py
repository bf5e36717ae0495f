"""Run a notebook's code under other seeds and report every assert: the values it compared, and whether it held.

    python tools/seed_sweep.py notebooks/01_gan_1d.ipynb --seeds 0 1 2 [--out sweep_01.md]

A notebook's asserts should be set from the value measured and its seed-to-seed spread (issue 19). This tool
gives both: it turns the notebook into a script (its code cells, in order), replaces each `assert` by a call that
records the operands of every comparison in it (`a < b`: the value of `a` and of `b`) and whether the whole test
held, and runs the script once per seed offset. Each `seed_everything(k)` in the notebook becomes
`seed_everything(k + offset)`, so seed 0 is the notebook as committed. A failed assert is recorded, not raised, so
one run reports all of them. The budget is the caller's: COURSE_FAST=1 for the budget CI runs.

Each run is a fresh `python` process (IPython's `display` is replaced by a no-op and matplotlib draws off-screen),
so runs cannot share state. Lines starting with `%` or `!` (IPython magics) are dropped.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRELUDE = '''
import json as _json, os as _os, math as _math
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as _plt
_plt.show = lambda *a, **k: None
import IPython.display as _ipd
_ipd.display = lambda *a, **k: None
display = _ipd.display
import course_utils as _cu
_seed_offset = int(_os.environ["SEED_SWEEP_OFFSET"])
_seed_original = _cu.seed_everything
def _seed_shifted(seed, *args, **kwargs):
    return _seed_original(seed + _seed_offset, *args, **kwargs)
_cu.seed_everything = _seed_shifted
_sweep_records = []
def _sweep_value(thunk):
    try:
        value = thunk()
    except Exception as error:  # an operand that cannot be evaluated alone
        return f"<{type(error).__name__}>"
    try:
        import torch
        if isinstance(value, torch.Tensor):
            value = (value.item() if value.numel() == 1 else
                     f"tensor min {value.min().item():.4g} max {value.max().item():.4g}")
    except Exception:
        pass
    try:
        import numpy as np
        if isinstance(value, np.ndarray):
            value = value.item() if value.size == 1 else f"array min {value.min():.4g} max {value.max():.4g}"
        elif isinstance(value, np.generic):
            value = value.item()
    except Exception:
        pass
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, (int, bool, str)) or value is None:
        return value
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
def _sweep_check(index, source, operands, test):
    try:
        held = bool(test())
    except Exception as error:
        held = f"<{type(error).__name__}: {error}>"
    _sweep_records.append({"index": index, "source": source, "held": held,
                           "operands": {text: _sweep_value(thunk) for text, thunk in operands}})
    with open(_os.environ["SEED_SWEEP_RECORDS"], "w") as _file:
        _json.dump(_sweep_records, _file)
'''


class _AssertRecorder(ast.NodeTransformer):
    """Replace `assert test, message` by
    `_sweep_check(i, source, [(operand source, lambda: operand), ...], lambda: test)`."""

    def __init__(self, source: str):
        self.source = source
        self.count = 0

    def _operands(self, node: ast.expr) -> list[ast.expr]:
        if isinstance(node, ast.BoolOp):
            return [operand for value in node.values for operand in self._operands(value)]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self._operands(node.operand)
        if isinstance(node, ast.Compare):
            return [part for part in (node.left, *node.comparators) if not isinstance(part, ast.Constant)]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("all", "any")
                and len(node.args) == 1 and isinstance(node.args[0], ast.GeneratorExp)):
            iterables = [generator.iter for generator in node.args[0].generators]  # what the test ran over
            return [argument for iterable in iterables for argument in
                    (iterable.args if isinstance(iterable, ast.Call) and getattr(iterable.func, "id", "") == "zip"
                     else [iterable])]
        return [node]

    def visit_Assert(self, node: ast.Assert) -> ast.stmt:
        self.count += 1
        lam = lambda body: ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                         defaults=[]), body=body)
        operands = ast.List(elts=[ast.Tuple(elts=[ast.Constant(ast.get_source_segment(self.source, operand)),
                                                   lam(operand)], ctx=ast.Load())
                                  for operand in self._operands(node.test)], ctx=ast.Load())
        call = ast.Call(func=ast.Name("_sweep_check", ast.Load()),
                        args=[ast.Constant(self.count), ast.Constant(ast.get_source_segment(self.source, node.test)),
                              operands, lam(node.test)], keywords=[])
        return ast.copy_location(ast.Expr(call), node)


def notebook_script(path: Path) -> tuple[str, int]:
    """The notebook's code cells as one script whose asserts record instead of raising; and how many asserts."""
    cells = json.loads(path.read_text())["cells"]
    code = "\n\n".join("".join(line for line in cell["source"] if not line.lstrip().startswith(("%", "!")))
                       for cell in cells if cell["cell_type"] == "code")
    recorder = _AssertRecorder(code)
    tree = ast.fix_missing_locations(recorder.visit(ast.parse(code)))
    return PRELUDE + "\n" + ast.unparse(tree) + "\n", recorder.count


def run_seed(script: Path, offset: int, cwd: Path) -> tuple[list[dict], int, float, str]:
    """Run the script with one seed offset; return its records, exit status, seconds and the end of its stderr."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        records_path = Path(handle.name)
    records_path.write_text("[]")
    env = {**os.environ, "SEED_SWEEP_OFFSET": str(offset), "SEED_SWEEP_RECORDS": str(records_path),
           "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    records = json.loads(records_path.read_text())
    records_path.unlink()
    return records, done.returncode, seconds, done.stderr[-2000:]


def report(name: str, count: int, runs: dict[int, tuple[list[dict], int, float, str]]) -> str:
    """A markdown table: one row per assert, the operands' values per seed, and whether it held."""
    lines = [f"## {name}: {count} asserts, seeds {', '.join(str(s) for s in runs)} "
             f"(budget: {'fast' if os.environ.get('COURSE_FAST') == '1' else 'full'})", ""]
    for seed, (records, code, seconds, stderr) in runs.items():
        status = "ran to the end" if code == 0 else f"stopped with exit status {code}:\n```\n{stderr.strip()}\n```"
        lines.append(f"- seed {seed}: {seconds:.0f} s, {len(records)} asserts reached, {status}")
    lines += ["", "| # | assert | " + " | ".join(f"seed {s}" for s in runs) + " |",
              "|---|---|" + "---|" * len(runs)]
    by_seed = {seed: {r["index"]: r for r in records} for seed, (records, *_rest) in runs.items()}
    for index in range(1, count + 1):
        first = next((by_seed[s][index] for s in runs if index in by_seed[s]), None)
        source = first["source"] if first else "(not reached)"
        cells = []
        for seed in runs:
            record = by_seed[seed].get(index)
            if record is None:
                cells.append("not reached")
                continue
            values = "; ".join(f"`{k}` = {v}" for k, v in record["operands"].items() if k != record["source"])
            reason = record["held"] if record["held"] is not False else ""
            mark = "held" if record["held"] is True else f"**FAILED** {reason}"
            cells.append(f"{mark}{': ' + values if values else ''}")
        source = source.replace("|", "\\|").replace("\n", " ")
        cells = [cell.replace("|", "\\|").replace("\n", " ") for cell in cells]
        lines.append(f"| {index} | `{source}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seed offsets (0: as committed)")
    parser.add_argument("--out", type=Path, help="append the markdown report to this file")
    args = parser.parse_args()
    script_text, count = notebook_script(args.notebook)
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / f"{args.notebook.stem}_sweep.py"
        script.write_text(script_text)
        runs = {}
        for seed in args.seeds:
            runs[seed] = run_seed(script, seed, args.notebook.resolve().parent)
            print(f"{args.notebook.name} seed {seed}: exit {runs[seed][1]}, {runs[seed][2]:.0f} s", file=sys.stderr)
    text = report(args.notebook.name, count, runs)
    print(text)
    if args.out:
        with args.out.open("a") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
