"""`%with-suspended`: an error raised by code run for a suspended continuation (a page
built for a handler that waits) has the continuation's frames in its trace, marked as
suspended, after the frames of the code that failed (issue 13)."""

from __future__ import annotations

from conftest import evaluate, raises

from tmweb.lang import Runtime
from tmweb.lang.code import Continuation
from tmweb.lang.errors import SUSPENDED_IN
from tmweb.lang.machine import SUSPENDED
from tmweb.lang.serial import deserialize, serialize

# ask suspends like send/suspend: the page is built at the delimiter, by library code
# (build), while the handler (ask, then handler) waits in k
SRC = """(defn build [k make-page]
  (%with-suspended k make-page "/k/1"))
(defn ask [label]
  (+ 1 (cloneable-shift [k] (build k make-page))))
(defn handler []
  (* 2 (ask "n")))
"""


def test_an_arity_error_of_the_page_function_names_the_suspended_handler(rt: Runtime) -> None:
    src = SRC.replace("(build k make-page)", "(build k (fn [] 1))") + "(cloneable-reset handler)"
    e = raises(rt, src, file="shop.tm")
    assert e.value.type.name == "arity-error"
    symbols = [s for s, _ in e.trace]
    assert symbols[0].endswith("build")  # the library code that called the page function
    suspended = [(s[len(SUSPENDED_IN):], str(p)) for s, p in e.trace if s.startswith(SUSPENDED_IN)]
    assert [name.rpartition(".")[2] for name, _ in suspended] == ["ask", "handler"]
    assert suspended[0][1] == "shop.tm:4:8"  # where ask suspended
    assert suspended[1][1] == "shop.tm:6:8"  # where handler called ask
    text = e.format()
    assert "  suspended at shop.tm:4:8 in " in text and text.index("build") < text.index("suspended")


def test_an_error_deep_in_the_page_function_keeps_its_frames_first(rt: Runtime) -> None:
    src = SRC.replace("(build k make-page)", "(build k page)").replace(
        '(%with-suspended k make-page "/k/1")', '(str (%with-suspended k make-page "/k/1"))'
    ) + (
        "(defn render-it [x]\n  (+ x \"a\"))\n"
        "(defn page [url]\n  (str (render-it 1)))\n"
        "(cloneable-reset handler)"
    )
    e = raises(rt, src, file="deep.tm")
    symbols = [s.rpartition(".")[2] for s, _ in e.trace]
    assert symbols == ["render-it", "page", "build", "ask", "handler"]
    assert [s.startswith(SUSPENDED_IN) for s, _ in e.trace] == [False, False, False, True, True]


def test_without_a_continuation_it_is_a_plain_call(rt: Runtime) -> None:
    assert evaluate(rt, "(%with-suspended nil (fn [a b] (+ a b)) 1 2)") == 3


def test_a_continuation_captured_inside_never_holds_the_mark(rt: Runtime) -> None:
    # a page function that itself suspends: its continuation is an ordinary one
    k = evaluate(
        rt,
        "(defn inner [] (+ 10 (cloneable-shift [k2] k2)))\n"
        "(cloneable-reset (fn [] (+ 1 (cloneable-shift [k] (%with-suspended k inner)))))",
        file="nest.tm",
    )
    assert isinstance(k, Continuation)
    assert all(fr[3] is not SUSPENDED for fr in k.frames)
    back = deserialize(rt, serialize(rt, k))
    assert isinstance(back, Continuation) and len(back.frames) == len(k.frames)
