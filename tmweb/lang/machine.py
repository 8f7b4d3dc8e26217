"""The machine: runs compiled code over a heap-allocated chain of frames.

The loop is Pycket's two lines, `F = F[0](M, F, M.v)`: each step runs one frame until it
calls, returns or jumps back, and hands the machine the next frame. No Turmeric call uses
Python's stack, so recursion depth is bounded by memory only; delimiters, `try` handlers
and the bottom of each run are frames too, so `cloneable-shift` is a walk up the chain
and `resume` copies a captured segment back onto it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from enum import Enum
from typing import Any

from . import errors
from .code import ASYNC, BASE, CLO, MACHINE, PARENT, PC, Builtin, Closure, Code, Continuation, Frame
from .errors import TurmericError
from .values import FieldCountError, Keyword, Pos, Struct, StructType, TMap, TVector, tlist

#: Steps run between checks of the budget and (in the async driver) yields to the loop.
SLICE = 5000
#: Frames kept in a printed stack trace (innermost first); the rest are counted.
TRACE_LIMIT = 40


class SliceEnd(Enum):
    """How a slice of steps ended (see `Machine._slice`)."""

    DONE = "done"  # the run reached its halt frame: the value is its result
    MORE = "more"  # the slice's steps are used up: run the frame next
    PAUSED = "paused"  # an async call: await it, then run the frame with its result


class StepLimitExceeded(Exception):
    """A run used more evaluation steps than its budget allowed (not catchable)."""


class ExitRequest(BaseException):
    """`(exit code)` was called; unwinds everything."""

    def __init__(self, code: int = 0) -> None:
        self.code = code


class HostError(Exception):
    """An error of the host program (a store that is down...) raised inside a built-in.

    It aborts the run instead of becoming a Turmeric error, so the host can answer it
    (a web server with 503) rather than the program catching it.
    """


class _Halt(Exception):
    pass


class _Pause(Exception):
    """An async built-in was called: the driver awaits it, then runs `frame` with the
    result (the caller's frame, or its parent for a call in tail position)."""

    def __init__(self, awaitable: Awaitable[Any], frame: Frame) -> None:
        self.awaitable = awaitable
        self.frame = frame


# --------------------------------------------------------------------------- special frames


def _special(symbol: str) -> Closure:
    code = Code(symbol, "core", symbol.rpartition("/")[2], 0, False, 0, None)
    code.version = "0"
    return Closure(code, ())


def _pass_fn(M: Machine, F: Frame, v: Any) -> Frame:
    """A delimiter or handler frame that is returned to passes the value on."""
    M.v = v
    return F[PARENT]  # type: ignore[no-any-return]


def _halt_fn(M: Machine, F: Frame, v: Any) -> Frame:
    raise _Halt()


PROMPT = _special("core/%prompt")
TRY = _special("core/%try")
TRY_WITH = _special("core/%try-with")
HALT = _special("core/%halt")
#: Marks a call made for a suspended continuation (its BASE slot): an error's stack trace
#: goes on with that continuation's frames. Never captured (see `_segment`).
SUSPENDED = _special("core/%suspended")
for _c in (PROMPT, TRY, TRY_WITH, SUSPENDED):
    _c.code.fn = _pass_fn
HALT.code.fn = _halt_fn
#: Special frame closures by symbol, so the serializer can rebuild them.
SPECIAL = {c.code.symbol: c for c in (PROMPT, TRY, TRY_WITH)}


class Machine:
    """One Turmeric evaluator. Not thread-safe; one per event loop is plenty."""

    def __init__(self, max_steps: int | None = None) -> None:
        self.v: Any = None
        self.max_steps = max_steps
        self.steps = 0
        self.rt: Any = None  # the Runtime this machine serves (code lookup for the serializer)
        self.blame: Frame | None = None  # the frame making a tail call, for error positions
        self.pause_name = ""  # the async built-in being awaited, for error messages

    # -- calling ---------------------------------------------------------------------
    def tail(self, F: Frame, f: Any, args: tuple[Any, ...]) -> Frame:
        """A call in tail position: `f` replaces `F`. An error raised by the call itself
        (arity, unbound, not a function) still names F's call site."""
        if f.__class__ is Closure:
            code = f.code
            if len(args) == code.nparams and not code.rest:
                return [code.fn, 0, F[PARENT], f, *args, *code.pad]
        self.blame = F
        try:
            return self.call(F[PARENT], f, args)
        finally:
            self.blame = None

    def call(self, F: Frame, f: Any, args: tuple[Any, ...]) -> Frame:
        """Call `f` with `args` so that its value returns into frame `F`."""
        c = f.__class__
        if c is Closure:
            code = f.code
            if len(args) == code.nparams and not code.rest:
                return [code.fn, 0, F, f, *args, *code.pad]
            return self._call_closure_slow(F, f, args)
        if c is Builtin:
            kind = f.kind
            if not f.arity_ok(len(args)):
                return self.throw(F, _arity_value(f.name, f.min_args, f.max_args, len(args)))
            if kind == MACHINE:
                return f.fn(self, F, args)
            if kind == ASYNC:
                self.pause_name = f.name
                raise _Pause(f.fn(*args), F)
            try:
                self.v = f.fn(*args)
            except TurmericError as e:
                return self.throw(F, e.value, e.pos)
            except (ExitRequest, StepLimitExceeded, _Halt, _Pause, HostError):
                raise
            except Exception as e:
                return self.throw(F, python_error_value(e, f.name))
            return F
        return self._call_other(F, f, args)

    def _call_closure_slow(self, F: Frame, f: Closure, args: tuple[Any, ...]) -> Frame:
        code = f.code
        n = len(args)
        if code.rest and n >= code.nparams:
            return [code.fn, 0, F, f, *args[: code.nparams], tlist(args[code.nparams :]), *code.pad]
        hi = None if code.rest else code.nparams
        return self.throw(F, _arity_value(code.name, code.nparams, hi, n))

    def _call_other(self, F: Frame, f: Any, args: tuple[Any, ...]) -> Frame:
        c = f.__class__
        if c is StructType:
            if len(args) != len(f.fields):
                return self.throw(
                    F, _arity_value(f.name, len(f.fields), len(f.fields), len(args))
                )
            self.v = Struct(f, tuple(args))
            return F
        if c is Continuation:
            return resume(self, F, (f, *args))
        if c is Keyword and 1 <= len(args) <= 2:
            m = args[0]
            default = args[1] if len(args) == 2 else None
            if m.__class__ is TMap:
                self.v = m.d.get(f, default)
            elif m.__class__ is Struct:
                i = m.type.field_index.get(f.name)
                self.v = default if i is None else m.vals[i]
            else:
                self.v = default
            return F
        if c is TMap and 1 <= len(args) <= 2:
            self.v = f.get(args[0], args[1] if len(args) == 2 else None)
            return F
        if c is TVector and len(args) == 1 and args[0].__class__ is int:
            if 0 <= args[0] < f.n:
                self.v = f.items[args[0]]
                return F
            return self.throw(F, errors.err(errors.INDEX_ERROR, f"index {args[0]} out of range").value)
        name = getattr(f, "name", None)
        if f.__class__.__name__ == "Unbound":
            return self.throw(F, errors.unbound(name).value)
        from .printer import pr_str

        return self.throw(F, errors.type_error(f"cannot call {pr_str(f)}: it is not a function").value)

    # -- throwing --------------------------------------------------------------------
    def throw(self, F: Frame, value: Any, pos: Pos | None = None, resumable: bool = True) -> Frame:
        """Unwind from `F` to the nearest handler and return the frame to run next.

        Raises `TurmericError` (with a stack trace) when no handler is found.
        """
        fr: Frame | None = F
        while fr is not None:
            clo = fr[CLO]
            if clo is TRY:
                return self.call(fr[PARENT], fr[BASE], (value,))
            if clo is TRY_WITH:
                k = Continuation(tuple(_segment(F, fr)), resumable)
                return self.call(fr[PARENT], fr[BASE], (value, k))
            if clo is HALT:
                break
            fr = fr[PARENT]
        err = TurmericError(value, pos)
        blame = self.blame
        if blame is not None:  # a failed tail call: start the trace at its call site
            site = blame[CLO].code.callpos.get(blame[PC])
            err.pos = pos = pos or site
            err.trace = [(blame[CLO].code.symbol, site)] + stack_trace(F, None)
        else:
            err.trace = stack_trace(F, pos)
        if err.pos is None and err.trace:
            err.pos = err.trace[0][1]
        err.unwound = True
        raise err

    # -- drivers ---------------------------------------------------------------------
    def _slice(self, F: Frame) -> tuple[SliceEnd, Any, Any]:
        """Run up to SLICE steps: (DONE, value, None), (MORE, frame, None) or
        (PAUSED, frame, awaitable).

        Errors raised inside a step unwind from the frame that was running, right here,
        so the handler (or the stack trace) sees the true innermost frame. Every step
        taken counts against the budget, however the slice ends.
        """
        M = self
        taken = 0
        while True:
            i = -1
            try:
                for i in range(SLICE - taken):  # noqa: B007  (i counts the steps taken)
                    F = F[0](M, F, M.v)
                self.count(SLICE)
                return (SliceEnd.MORE, F, None)
            except _Halt:
                self.count(taken + i + 1)
                return (SliceEnd.DONE, M.v, None)
            except _Pause as p:
                try:
                    self.count(taken + i + 1)
                except StepLimitExceeded:  # the call will never be awaited: close it
                    getattr(p.awaitable, "close", lambda: None)()
                    raise
                return (SliceEnd.PAUSED, p.frame, p.awaitable)
            except (ExitRequest, StepLimitExceeded, HostError):
                raise
            except TurmericError as e:
                taken += i + 1
                if e.unwound:  # reached this run's halt frame
                    raise
                if e.trace:  # unwound out of a nested run: keep unwinding here
                    F = self._rethrow(F, e)
                else:
                    F = self.throw(F, e.value, e.pos or _py_pos(e, F), resumable=False)
            except Exception as e:
                taken += i + 1
                F = self.throw(F, python_error_value(e), _py_pos(e, F), resumable=False)
            if taken >= SLICE:
                self.count(taken)
                return (SliceEnd.MORE, F, None)

    def count(self, n: int) -> None:
        """Add `n` steps; over the budget the run stops (StepLimitExceeded)."""
        self.steps += n
        if self.max_steps is not None and self.steps > self.max_steps:
            raise StepLimitExceeded(f"evaluation took more than {self.max_steps:,} steps")

    def _rethrow(self, F: Frame, e: TurmericError) -> Frame:
        try:
            return self.throw(F, e.value, e.pos)
        except TurmericError as outer:
            outer.trace = e.trace + outer.trace
            raise outer from None

    def run(self, F: Frame) -> Any:
        """Run from `F` (entered with `self.v`) to its halt frame; async calls are awaited
        on a private event loop."""
        while True:
            kind, a, b = self._slice(F)
            if kind is SliceEnd.DONE:
                return a
            if kind is SliceEnd.PAUSED:
                F = a
                try:
                    self.v = _await_sync(b)
                except TurmericError as e:
                    F = self.throw(F, e.value, e.pos)
                except HostError:
                    raise
                except Exception as e:
                    F = self.throw(F, python_error_value(e, self.pause_name))
            else:
                F = a

    async def run_async(self, F: Frame) -> Any:
        """Run from `F`, awaiting async Python calls and yielding to the event loop
        between slices so one long handler never starves the others."""
        while True:
            kind, a, b = self._slice(F)
            if kind is SliceEnd.DONE:
                return a
            F = a
            if kind is SliceEnd.PAUSED:
                try:
                    self.v = await b
                except TurmericError as e:
                    F = self.throw(F, e.value, e.pos)
                except HostError:
                    raise
                except Exception as e:
                    F = self.throw(F, python_error_value(e, self.pause_name))
            else:
                await asyncio.sleep(0)

    def start(self, f: Any, args: tuple[Any, ...] = ()) -> Frame:
        """The first frame of a run that calls `f(*args)` under a halt frame (which is
        also a delimiter for `cloneable-shift`)."""
        halt = [_halt_fn, 0, None, HALT]
        F = self.call(halt, f, args)
        return F

    def apply(self, f: Any, args: tuple[Any, ...] = ()) -> Any:
        """Call a Turmeric function from Python and return its value (nested run)."""
        saved = self.v
        try:
            return self.run(self.start(f, args))
        except TurmericError as e:
            e.unwound = False  # the caller's run goes on unwinding
            raise
        finally:
            self.v = saved

    async def apply_async(self, f: Any, args: tuple[Any, ...] = ()) -> Any:
        saved = self.v
        try:
            return await self.run_async(self.start(f, args))
        except TurmericError as e:
            e.unwound = False
            raise
        finally:
            self.v = saved


def _await_sync(aw: Awaitable[Any]) -> Any:
    async def go() -> Any:
        return await aw

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(go())
    raise RuntimeError(
        "an async Python function was called from a synchronous Turmeric run inside a "
        "running event loop; use Machine.run_async"
    )


# --------------------------------------------------------------------------- machine ops


def _segment(F: Frame, stop: Frame) -> list[Frame]:
    """The frames from `F` up to `stop`, as a continuation keeps them. SUSPENDED marks only
    pass values on and name frames for traces: they are left out, so a continuation never
    holds (or serializes) another one for the sake of a trace."""
    out = []
    fr: Frame | None = F
    while fr is not None and fr is not stop:
        if fr[CLO] is not SUSPENDED:
            out.append(fr)
        fr = fr[PARENT]
    return out


def shift(M: Machine, F: Frame, args: tuple[Any, ...]) -> Frame:
    """`(%shift body-fn)`: capture up to the nearest delimiter and run the body there."""
    fr: Frame | None = F
    while fr is not None and fr[CLO] is not PROMPT and fr[CLO] is not HALT:
        fr = fr[PARENT]
    if fr is None:  # pragma: no cover - every run has a halt frame
        raise errors.user_error("cloneable-shift: no enclosing cloneable-reset")
    k = Continuation(tuple(_segment(F, fr)))
    return M.call(fr, args[0], (k,))


def reset(M: Machine, F: Frame, args: tuple[Any, ...]) -> Frame:
    """`(cloneable-reset thunk)`: call thunk under a new delimiter."""
    P = [_pass_fn, 0, F, PROMPT]
    return M.call(P, args[0], ())


def resume(M: Machine, F: Frame, args: tuple[Any, ...]) -> Frame:
    """`(resume k [v])`: copy k's frames onto the stack under a new delimiter."""
    if not args or args[0].__class__ is not Continuation:
        from .printer import pr_str

        got = pr_str(args[0]) if args else "nothing"
        return M.throw(F, errors.type_error(f"resume: expected a continuation, got {got}").value)
    if len(args) > 2:
        return M.throw(F, _arity_value("resume", 1, 2, len(args)))
    k: Continuation = args[0]
    if not k.resumable:
        return M.throw(
            F,
            errors.user_error(
                "resume: this continuation was captured at an error raised inside a "
                "primitive and has no point to resume at"
            ).value,
        )
    parent = [_pass_fn, 0, F, PROMPT]
    for fr in reversed(k.frames):
        new = fr[:]  # a fresh frame: the captured one stays as it was, for the next resume
        new[PARENT] = parent
        parent = new
    M.v = args[1] if len(args) == 2 else None
    return parent


def with_suspended(M: Machine, F: Frame, args: tuple[Any, ...]) -> Frame:
    """`(%with-suspended k f args...)`: call `(f args...)` for the continuation `k` (a page
    built for a suspended handler). An error it raises has, after its own frames, k's
    frames marked as suspended, so the trace names the user's code that suspended, not
    only the library function that called `f`. With a `k` that is not a continuation, a
    plain call."""
    k, f, rest = args[0], args[1], tuple(args[2:])
    if k.__class__ is not Continuation:
        return M.call(F, f, rest)
    return M.call([_pass_fn, 0, F, SUSPENDED, k], f, rest)


def try_(M: Machine, F: Frame, args: tuple[Any, ...]) -> Frame:
    """`(%try thunk handler)`: run thunk; a throw inside calls `(handler e)` here."""
    H = [_pass_fn, 0, F, TRY, args[1]]
    return M.call(H, args[0], ())


def try_with(M: Machine, F: Frame, args: tuple[Any, ...]) -> Frame:
    """`(try-with thunk handler)`: a throw inside calls `(handler e k)`, k resumable."""
    H = [_pass_fn, 0, F, TRY_WITH, args[1]]
    return M.call(H, args[0], ())


def throw(M: Machine, F: Frame, args: tuple[Any, ...]) -> Frame:
    site = M.blame if M.blame is not None else F
    return M.throw(F, args[0], site[CLO].code.callpos.get(site[PC]))


def apply_(M: Machine, F: Frame, args: tuple[Any, ...]) -> Frame:
    """`(apply f a b [c d])`: the last argument is spread; f runs in apply's place."""
    if len(args) < 1:
        return M.throw(F, _arity_value("apply", 1, None, 0))
    f, rest = args[0], args[1:]
    if rest:
        last = rest[-1]
        if last is None:
            spread: list[Any] = []
        else:
            try:
                spread = list(last) if not isinstance(last, (str, TMap)) else None  # type: ignore[assignment]
            except TypeError:
                spread = None  # type: ignore[assignment]
            if spread is None:
                from .printer import pr_str

                return M.throw(
                    F, errors.type_error(f"apply: last argument must be a list or vector, got {pr_str(last)}").value
                )
        rest = (*rest[:-1], *spread)
    return M.call(F, f, tuple(rest))


# --------------------------------------------------------------------------- errors


def _arity_value(name: str, lo: int, hi: int | None, got: int) -> Any:
    if hi is None:
        want = f"at least {lo} argument{'s' if lo != 1 else ''}"
    elif lo == hi:
        want = f"{lo} argument{'s' if lo != 1 else ''}"
    else:
        want = f"{lo} to {hi} arguments"
    return errors.arity_error(name, f"{name}: expected {want}, got {got}").value


def python_error_value(e: BaseException, where: str | None = None) -> Any:
    """Turn a Python exception raised by a primitive into a Turmeric error value."""
    if isinstance(e, TurmericError):
        return e.value
    if isinstance(e, FieldCountError):
        return errors.arity_error(e.name, e.message).value
    prefix = f"{where}: " if where else ""
    if isinstance(e, ZeroDivisionError):
        return errors.user_error(f"{prefix}divide by zero").value
    if isinstance(e, TypeError):
        return errors.type_error(f"{prefix}{e}").value
    if isinstance(e, (IndexError, KeyError)):
        return errors.err(errors.INDEX_ERROR, f"{prefix}{e}").value
    if isinstance(e, RecursionError):
        return errors.user_error(f"{prefix}value nested too deeply to process").value
    if isinstance(e, OSError):
        return errors.err(errors.IO_ERROR, f"{prefix}{e}").value
    return errors.user_error(f"{prefix}{type(e).__name__}: {e}").value


#: generated-code filename -> Code, so a Python error's traceback line maps to Turmeric.
CODE_FILES: dict[str, Code] = {}


def _py_pos(e: BaseException, F: Frame) -> Pos | None:
    tb = e.__traceback__
    found = None
    while tb is not None:
        code = CODE_FILES.get(tb.tb_frame.f_code.co_filename)
        if code is not None:
            found = code.linepos.get(tb.tb_lineno) or code.pos
        tb = tb.tb_next
    return found


def _linked(frames: tuple[Frame, ...]) -> Frame | None:
    """A continuation's frames as a chain (copies, so the captured ones stay as they are)
    ending at nothing, for `stack_trace` to walk."""
    parent: Frame | None = None
    for fr in reversed(frames):
        new = fr[:]
        new[PARENT] = parent
        parent = new
    return parent


def stack_trace(F: Frame | None, pos: Pos | None) -> list[tuple[str, Pos | None]]:
    """(symbol, position) for each Turmeric frame from `F` outwards. The frames of a
    suspended continuation (a SUSPENDED mark) follow those of the code that runs for it,
    up to its delimiter: that code runs in the handler's place, the handler waits above."""
    out: list[tuple[str, Pos | None]] = []
    suspended: list[tuple[str, Pos | None]] = []
    skipped = 0

    def add(entries: list[tuple[str, Pos | None]]) -> None:
        nonlocal skipped
        room = max(0, TRACE_LIMIT - len(out))
        out.extend(entries[:room])
        skipped += len(entries) - min(room, len(entries))

    fr = F
    first = True
    while fr is not None:
        clo = fr[CLO]
        if clo is HALT:
            break
        if clo is SUSPENDED:
            frames = stack_trace(_linked(fr[BASE].frames), None)
            suspended = [(errors.SUSPENDED_IN + s, p) for s, p in frames] + suspended
        elif clo is PROMPT:
            add(suspended)
            suspended = []
        elif clo not in (TRY, TRY_WITH):
            code = clo.code
            add([(code.symbol, pos if first and pos is not None else code.callpos.get(fr[PC]) or code.pos)])
            first = False
        fr = fr[PARENT]
    add(suspended)
    if skipped:
        out.append((f"... {skipped} more frames", None))
    return out
