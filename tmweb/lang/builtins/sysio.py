"""Files, process and environment built-ins, plus `type-of` and `gensym`.

Every operating-system failure becomes an `io-error` struct naming the function, the
path and the reason, so a Turmeric program can `match` it and a user never sees a
Python traceback.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .. import errors
from ..gensyms import next_number
from ..machine import ExitRequest
from ..values import FileHandle, Keyword, Symbol, TVector
from .numbers import MISSING, expected, integer, type_name
from .registry import builtin

#: The program's command-line arguments; the CLI fills it (`sysio.ARGS[:] = [...]`).
ARGS: list[str] = []


#: Raised by `(exit code)`; the CLI catches it and exits with `code`. It is a
#: BaseException, so no Turmeric handler and no `except Exception` swallows it.
ExitProgram = ExitRequest


def _io_error(fname: str, verb: str, path: str, e: BaseException) -> errors.TurmericError:
    reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    return errors.err(errors.IO_ERROR, f"{fname}: cannot {verb} '{path}': {reason}")


def _path(fname: str, p: Any) -> str:
    if p.__class__ is not str:
        raise expected(fname, "a path string", p)
    return p


def _handle(fname: str, h: Any) -> FileHandle:
    if h.__class__ is not FileHandle:
        raise expected(fname, "a file handle", h)
    if h.file is None:
        raise errors.err(errors.IO_ERROR, f"{fname}: file '{h.path}' is not open")
    return h


# --------------------------------------------------------------------------- file handles

_MODES = {"read": "r", "write": "w", "append": "a"}


@builtin("open-file")
def open_file(path: Any, mode: Any = MISSING) -> FileHandle:
    """`(open-file path)` for reading text; `:write` truncates, `:append` appends.

    The handle records the Python mode ("r", "w" or "a").
    """
    _path("open-file", path)
    if mode is MISSING:
        mode = Keyword("read")
    pymode = _MODES.get(mode.name) if mode.__class__ is Keyword else None
    if pymode is None:
        raise expected("open-file", "a mode :read, :write or :append", mode)
    try:
        f = open(path, pymode, encoding="utf-8")
    except OSError as e:
        raise _io_error("open-file", "open", path, e) from None
    return FileHandle(path, pymode, f)


@builtin("file-handle-path")
def file_handle_path(h: Any) -> str:
    if h.__class__ is not FileHandle:
        raise expected("file-handle-path", "a file handle", h)
    return h.path


@builtin("read-line")
def read_line(h: Any) -> str | None:
    """The next line without its newline, or nil at the end of the file."""
    _handle("read-line", h)
    try:
        line = h.file.readline()
    except (OSError, ValueError) as e:
        raise _io_error("read-line", "read", h.path, e) from None
    if not line:
        return None
    return line[:-1] if line.endswith("\n") else line


@builtin("write-line")
def write_line(h: Any, text: Any) -> None:
    """Write `text` and a newline to a handle opened with :write or :append."""
    h = _handle("write-line", h)
    if text.__class__ is not str:
        raise expected("write-line", "a string", text)
    if h.mode not in ("w", "a"):
        raise errors.err(errors.IO_ERROR, f"write-line: '{h.path}' was opened for reading; open it with :write or :append")
    try:
        h.file.write(text + "\n")
    except OSError as e:
        raise _io_error("write-line", "write to", h.path, e) from None
    return None


@builtin("close")
def close(h: Any) -> None:
    """Close a file handle; closing twice is harmless."""
    if h.__class__ is not FileHandle:
        raise expected("close", "a file handle", h)
    if h.file is not None:
        try:
            h.file.close()
        except OSError as e:
            raise _io_error("close", "close", h.path, e) from None
    return None


# --------------------------------------------------------------------------- whole files


@builtin("write-file")
def write_file(path: Any, data: Any) -> None:
    """Write bytes as they are, or a string as UTF-8, replacing the file."""
    _path("write-file", path)
    if data.__class__ is not bytes and data.__class__ is not str:
        raise expected("write-file", "bytes or a string", data)
    try:
        if data.__class__ is bytes:
            with open(path, "wb") as f:
                f.write(data)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(data)
    except OSError as e:
        raise _io_error("write-file", "write", path, e) from None
    return None


@builtin("read-file")
def read_file(path: Any) -> bytes:
    """The file's contents as bytes."""
    _path("read-file", path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise _io_error("read-file", "open", path, e) from None


@builtin("read-text")
def read_text(path: Any) -> str:
    """The file's contents decoded as UTF-8."""
    _path("read-text", path)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise _io_error("read-text", "read", path, e) from None


@builtin("file-exists?")
def file_exists(path: Any) -> bool:
    return os.path.exists(_path("file-exists?", path))


# --------------------------------------------------------------------------- process


@builtin("command-line-args")
def command_line_args() -> TVector:
    """The arguments after the program name, as a vector of strings."""
    return TVector(list(ARGS))


@builtin("getenv")
def getenv(name: Any, default: Any = None) -> Any:
    """The environment variable `name`, or `default` (nil) when unset."""
    if name.__class__ is not str:
        raise expected("getenv", "a string", name)
    return os.environ.get(name, default)


@builtin("exit")
def exit_(code: Any = 0) -> None:
    """Stop the program with an exit status (0 by default)."""
    raise ExitProgram(integer("exit", code))


@builtin("current-time-ms")
def current_time_ms() -> int:
    """Milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


# --------------------------------------------------------------------------- reflection


@builtin("type-of")
def type_of(v: Any) -> Symbol:
    """The type name as a symbol: `int64`, `string`, `vector`, a struct's name, `fn`..."""
    return Symbol(type_name(v))


@builtin("gensym")
def gensym(prefix: Any = "G") -> Symbol:
    """A fresh symbol such as `G__12` or `prefix__13`, for macros that need a local name.

    Called by a macro while a module compiles, the number comes from that module's counter
    (so the expansion is the same in every process); at run time, from the process's."""
    if prefix.__class__ is Symbol or prefix.__class__ is Keyword:
        prefix = prefix.name
    elif prefix.__class__ is not str:
        raise expected("gensym", "a string prefix", prefix)
    return Symbol(f"{prefix}__{next_number()}")
