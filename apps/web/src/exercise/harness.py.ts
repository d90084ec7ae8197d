// The Python side of the runner, run once in Pyodide. The student's code and
// the tests share one namespace; each top-level statement of the tests is run
// on its own, so a failing assertion does not hide the others. Errors name
// the line (of the tests, or of the student's code when it raised there).
export const PY_HARNESS = String.raw`
import ast, contextlib, io, json, sys, time, traceback

def __tutor_cap(s, cap):
    return s if len(s) <= cap else s[:cap] + "\n… (%d more characters cut)" % (len(s) - cap)

def __tutor_where(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in ("solution.py", "tests.py")]
    if not frames:
        return ""
    f = frames[-1]
    return " (%s line %d)" % ("your code" if f.filename == "solution.py" else "test", f.lineno)

def __tutor_run(code, tests, cap):
    ns = {"__name__": "__main__"}
    t0 = time.perf_counter()
    def run(fn):
        o, e = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        err = None
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            try:
                fn()
            except AssertionError as ex:
                err = ("assert", (str(ex) or "assertion failed") + __tutor_where(ex))
            except BaseException as ex:
                err = ("error", "%s: %s%s" % (type(ex).__name__, ex, __tutor_where(ex)))
        return err, __tutor_cap(o.getvalue(), cap), __tutor_cap(e.getvalue(), cap), (time.perf_counter() - start) * 1000

    err, out, errout, ms = run(lambda: exec(compile(code, "solution.py", "exec"), ns))
    setup = {"ok": err is None, "error": err[1] if err else "", "stdout": out, "stderr": errout, "ms": ms}
    results = []
    try:
        tree = ast.parse(tests, "tests.py")
        nodes = tree.body
    except SyntaxError as ex:
        nodes = []
        results.append({"name": "tests", "line": ex.lineno or 1, "passed": False, "message": "the tests do not parse: %s" % ex, "stdout": "", "stderr": "", "ms": 0})
    for node in nodes:
        src = (ast.get_source_segment(tests, node) or "").split("\n")[0]
        if not setup["ok"]:
            if isinstance(node, ast.Assert):
                results.append({"name": src, "line": node.lineno, "passed": False, "message": "not run: your code failed first (%s)" % setup["error"], "stdout": "", "stderr": "", "ms": 0})
            continue
        mod = ast.Module(body=[node], type_ignores=[])
        err, out, errout, ms = run(lambda: exec(compile(mod, "tests.py", "exec"), ns))
        # Statements that are not assertions (imports, helpers) count only when they fail.
        if isinstance(node, ast.Assert) or err:
            results.append({"name": src, "line": node.lineno, "passed": err is None, "message": err[1] if err else "", "stdout": out, "stderr": errout, "ms": ms})
    return json.dumps({"setup": setup, "tests": results, "ms": (time.perf_counter() - t0) * 1000})
`;
