"""Tracing (compiler/tracer.py): while a Tracer is installed, the step runs eagerly and every array operation it
does is written down as one statement of a straight-line program, in the sections forward, backward and update.
Whatever a replay could not repeat faithfully (reading a value into Python, an `if` on a traced value, print,
open, random numbers, NumPy arithmetic on a traced array, a graph recorded before the step, a gradient for a
tensor made inside it) stops the trace with a TraceError naming the user's line. The hooks last for one trace
in one thread and are taken out afterwards, however the trace ends."""
from __future__ import annotations

import builtins

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.tensor import Tensor
from chainrule.compiler import TraceError
from chainrule.compiler.program import BACKWARD, FORWARD, Const, Var
from chainrule.compiler.tracer import Tracer, installed, user_line


def _user_function(source: str, filename: str, **names):
    """`step` defined from source as if in the user's file `filename` (so a refusal can name its line)."""
    namespace = {"cr": cr, "np": np, **names}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["step"]


def test_a_traced_step_is_written_down_operation_by_operation_in_its_sections():
    w = cr.tensor([0.5, -1.0], requires_grad=True)
    x = cr.tensor([1.0, 2.0])
    tracer = Tracer()
    with installed(tracer):
        loss = cr.tanh(x * w).sum()
        loss.backward()
    statements = tracer.program.statements
    assert [s.label for s in statements] == ["mul", "tanh", "sum", "sum_vjp0", "tanh_vjp0", "mul_vjp1", "deliver"]
    assert [s.section for s in statements] == [FORWARD] * 3 + [BACKWARD] * 4
    assert [t for t, _ in tracer.captured] == [x, w]  # the tensors from before the step, read at every replay
    assert statements[-1].effect and not statements[-1].outs
    # the trace ran the step eagerly: its results and side effects are the eager ones
    np.testing.assert_allclose(loss.item(), np.tanh([0.5, -2.0]).sum())
    np.testing.assert_allclose(w.grad.data, x.data * (1 - np.tanh([0.5, -2.0]) ** 2))


def test_each_statement_records_the_shape_and_dtype_it_computed():
    w = cr.tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    x = cr.tensor(np.ones((2, 4), dtype=np.float32))
    tracer = Tracer()
    with installed(tracer):
        (w @ x).sum()
    matmul, total = tracer.program.statements
    assert (matmul.outs[0].shape, matmul.outs[0].dtype) == ((3, 4), np.float32)
    assert (total.outs[0].shape, total.outs[0].dtype) == ((), np.float32)
    assert total.args[0] is matmul.outs[0]  # operands are the program's values, not copies of the arrays


def test_ref_keeps_finite_python_numbers_as_literals_and_names_the_rest_as_constants():
    tracer = Tracer()
    assert tracer.ref(1.5) == 1.5 and tracer.ref((1, 2)) == (1, 2) and tracer.ref("axis") == "axis"
    infinite = tracer.ref(float("inf"))
    assert isinstance(infinite, Const) and infinite.value == float("inf")  # `inf` is no Python literal
    array = np.arange(3.0)
    assert tracer.ref(array) is tracer.ref(array)  # one constant per array, by identity
    w = cr.tensor([1.0], requires_grad=True)
    var = tracer.ref(w)
    assert isinstance(var, Var) and var.hint == "param" and tracer.captured == [(w, var)]


def test_the_hooks_are_taken_out_after_a_trace_even_one_that_was_refused():
    before = (Tensor.__dict__["item"], Tensor.__dict__["data"], builtins.print, builtins.open)
    w = cr.tensor([2.0], requires_grad=True)
    with pytest.raises(TraceError):
        with installed(Tracer()):
            (w * w).sum().item()
    assert (Tensor.__dict__["item"], Tensor.__dict__["data"], builtins.print, builtins.open) == before
    assert (w * w).sum().item() == 4.0 and type(w.data) is np.ndarray


def test_user_line_names_the_callers_file_line_and_function():
    line = user_line()
    assert line.startswith(__file__ + ":") and line.endswith(" in test_user_line_names_the_callers_file_line_and_function")


@pytest.mark.parametrize("body, words", [
    ("loss.backward(create_graph=True)", "backward(create_graph=True)"),
    ("open('/dev/null').close()", "open() inside the step"),
    ("v = cr.tensor([1.0], requires_grad=True)\n    (v * v).sum().backward()", "a tensor made inside the step"),
    ("with cr.detect_anomaly():\n        (w * 2.0).sum()", "detect_anomaly()"),
    ("(earlier * 2.0).backward()", "a graph recorded before the compiled step"),
    ("loss.tolist()", "tolist()"),
])
def test_more_of_what_cannot_be_replayed_is_refused_naming_the_line(body, words):
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    step = _user_function(f"def step():\n    loss = (w * w).sum()\n    {body}\n    return loss\n", "user_more.py",
                          w=w, earlier=(w * w).sum())
    with pytest.raises(TraceError) as error:
        cr.compile(step)()
    assert words in str(error.value)
    assert f"user_more.py:{3 + body.count(chr(10))} in step" in str(error.value)  # the body's last line


def test_an_array_made_from_an_argument_by_numpy_indexing_is_refused():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    step = _user_function("def step(x):\n    return (w * cr.tensor(x.reshape(2))).sum()\n", "user_reshape.py", w=w)
    with pytest.raises(TraceError, match=r"an array made from traced values .* at user_reshape.py:2 in step"):
        cr.compile(step)(np.ones((1, 2)))


def test_numpy_arithmetic_on_the_data_of_a_parameter_is_refused_even_on_its_first_use():
    """`.data` of a tensor from before the step is an input of the program, however early the step reads it: a
    value computed from it with NumPy would be kept as a constant and go stale when the weights change."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    step = _user_function("def step():\n    return (w * cr.tensor(w.data + 1)).sum()\n", "user_data.py", w=w)
    with pytest.raises(TraceError, match=r"NumPy's add on a traced array at user_data.py:2 in step"):
        cr.compile(step)()


def test_reading_the_data_of_a_parameter_makes_it_an_input_read_at_every_replay():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    compiled = cr.compile(lambda: (cr.tensor(w.data) * 3.0).sum())
    assert compiled().item() == 9.0
    w.data[...] = [5.0, 5.0]
    assert compiled().item() == 30.0 and compiled.traces == 1


@pytest.mark.parametrize("body, words", [
    ("if loss.item() > 1:\n        pass", "item()"),
    ("if loss > 1:\n        pass", "Python `if`"),
    ("print(loss)", "print()"),
    ("float(loss)", "float()"),
    ("np.random.normal()", "random numbers"),
    ("loss.retain_grad()", "retain_grad()"),
])
def test_what_cannot_be_replayed_is_refused_at_trace_time_naming_the_line(body, words):
    namespace = {"cr": cr, "np": np, "w": cr.tensor([1.0, -2.0], requires_grad=True)}
    source = (f"def step():\n    loss = (w * w).sum()\n    {body}\n    loss.backward()\n    return loss\n")
    exec(compile(source, "user_step.py", "exec"), namespace)
    with pytest.raises(TraceError) as error:
        cr.compile(namespace["step"])()
    assert words in str(error.value)
    if "random" not in words:
        assert "user_step.py:" in str(error.value) and "in step" in str(error.value)


def test_numpy_arithmetic_on_an_argument_inside_the_step_is_refused_naming_the_line():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    namespace = {"cr": cr, "np": np, "w": w}
    exec(compile("def step(x):\n    scaled = x * 2\n    return (w * scaled).sum()\n", "user_numpy.py", "exec"),
         namespace)
    with pytest.raises(TraceError, match=r"multiply on a traced array at user_numpy.py:2 in step"):
        cr.compile(namespace["step"])(np.array([1.0, 3.0]))


def test_other_threads_run_eagerly_while_a_step_is_traced():
    """A web server trains other sessions in other threads: tracing one step must not touch them."""
    import threading

    started, finished = threading.Event(), threading.Event()
    seen: dict = {}

    def other_session():
        started.wait(5)
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        loss = (x * x).sum()
        loss.backward()
        seen["value"], seen["grad"] = loss.item(), x.grad.data.tolist()
        print("eager printing is fine in another thread", file=open("/dev/null", "w"))
        finished.set()

    w = cr.tensor([3.0], requires_grad=True)

    def step():
        started.set()
        finished.wait(5)  # the other thread runs its whole eager step while this one is traced
        loss = (w * w).sum()
        loss.backward()
        return loss
    worker = threading.Thread(target=other_session)
    worker.start()
    assert cr.compile(step)().item() == 9.0
    worker.join(5)
    assert seen == {"value": 5.0, "grad": [2.0, 4.0]}


def test_a_cached_program_keeps_none_of_the_traced_calls_values():
    import gc
    import weakref

    w = cr.tensor(np.full((50, 50), 0.01), requires_grad=True)
    seen = []

    def step():
        h = cr.tanh(w @ w)
        seen.append(weakref.ref(h))
        loss = h.sum()
        loss.backward()
        return loss
    compiled = cr.compile(step)
    compiled()
    gc.collect()
    assert seen[0]() is None  # the intermediate of the traced call is gone; the program holds its own
    compiled()  # no zero_grad in the step: the replay adds to .grad, as two eager calls would
    np.testing.assert_allclose(w.grad.data, 2 * cr.grad(lambda v: cr.tanh(v @ v).sum())(w.data), rtol=1e-12)
