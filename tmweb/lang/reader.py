"""Read Turmeric source text into forms that remember where they came from.

Lists, maps and symbols carry a `Pos`; every syntax error names file:line:col. The reader
keeps its own stack instead of recursing, so deeply nested input cannot overflow Python.

A missing closing bracket is reported where it is missing, not where the reader noticed:
like Lisp editors, the reader trusts indentation. The first line (of a form still open)
that starts at or left of an open bracket's column says that bracket should have closed
before it; a `(def...` at column 1 inside another form is a missing bracket, never a local
definition.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import TurmericError, syntax_error
from .values import EMPTY, Keyword, Pos, Symbol, TList, TMap, TVector, tlist

_TOKEN_END = set(" \t\r\n,()[]{}\";'`~@^")
_INT_RE = re.compile(r"[+-]?\d+$")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_PREFIX = {"'": "quote", "`": "quasiquote", "~": "unquote", "~@": "unquote-splicing"}
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
#: `(def`, `(defn`, `(defroute`...: at column 1, the start of a top-level definition
_DEF_HEAD = re.compile(r"\((def[^\s,()\[\]{}\";'`~@^]*)")


class _Open:
    """A collection being read: its opening char, position and items so far."""

    __slots__ = ("kind", "pos", "items")

    def __init__(self, kind: str, pos: Pos) -> None:
        self.kind = kind
        self.pos = pos
        self.items: list[Any] = []


class _Prefix:
    """A pending reader macro (quote, #_ ...) waiting for the next form."""

    __slots__ = ("name", "pos")

    def __init__(self, name: str, pos: Pos) -> None:
        self.name = name
        self.pos = pos


class Reader:
    """Reads forms one at a time from `text`."""

    def __init__(self, text: str, file: str = "<string>", indentation: bool = True) -> None:
        self.text = text
        #: guess where a missing bracket belongs from the indentation (not for typed input)
        self.indentation = indentation
        #: set when an error says the text ended inside a form (a REPL reads more)
        self.ended_open = False
        self.file = file
        self.i = 0
        self.line = 1
        self.col = 1
        self._last_line = 0  # the line the previous token ended on
        self._last_top: tuple[Pos, Pos] | None = None  # the last top-level form: opened, closed

    # -- characters ------------------------------------------------------------------
    def _pos(self) -> Pos:
        return Pos(self.file, self.line, self.col)

    def _advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.text[self.i] == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
            self.i += 1

    def _skip_space(self) -> None:
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch in " \t\r\n,\ufeff":
                self._advance()
            elif ch == ";":
                while self.i < len(text) and text[self.i] != "\n":
                    self._advance()
            else:
                return

    # -- forms -----------------------------------------------------------------------
    def read(self) -> Any:
        """The next form; raises EOFError at the end of the text."""
        stack: list[_Open | _Prefix] = []
        #: the first open bracket that a later line's indentation closes, and that line
        hint: tuple[_Open, int] | None = None
        while True:
            self._skip_space()
            if self.i >= len(self.text):
                if not stack:
                    raise EOFError
                self._unclosed(stack, hint)
            pos = self._pos()
            ch = self.text[self.i]
            if self.indentation and self.line != self._last_line:  # the line's first token
                self._last_line = self.line
                if ch not in ")]}" and stack:
                    hint = hint or self._indent_hint(stack, pos)
                    if ch == "(" and pos.col == 1:
                        self._nested_def(stack, hint, pos)
            if ch in "([{":
                self._advance()
                stack.append(_Open(ch, pos))
                continue
            if ch in ")]}":
                top = stack[-1] if stack else None
                if not isinstance(top, _Open):
                    raise syntax_error(self._unexpected(ch, stack), pos)
                if _CLOSERS[top.kind] != ch:
                    raise syntax_error(
                        f"'{ch}' at {pos.line}:{pos.col} does not close the '{top.kind}' opened at "
                        f"{top.pos.line}:{top.pos.col}: expected '{_CLOSERS[top.kind]}' first",
                        pos,
                    )
                self._advance()
                stack.pop()
                if not stack:
                    self._last_top = (top.pos, pos)
                form = self._finish(top)
            elif ch in "'`~":
                name = "~@" if self.text.startswith("~@", self.i) else ch
                self._advance(len(name))
                stack.append(_Prefix(_PREFIX[name], pos))
                continue
            elif ch == "#" and self.text.startswith("#_", self.i):
                self._advance(2)
                stack.append(_Prefix("#_", pos))
                continue
            elif ch == '"':
                form = self._string(pos)
                self._last_line = self.line  # a string may span lines
            else:
                form = self._atom(pos)
            # attach the finished form to whatever is waiting for it
            while True:
                if not stack:
                    return form
                top = stack[-1]
                if isinstance(top, _Prefix):
                    stack.pop()
                    if top.name == "#_":
                        form = _DISCARD
                        break
                    form = tlist([Symbol(top.name, top.pos), form], top.pos)
                    continue
                if form is not _DISCARD:
                    top.items.append(form)
                break
            if form is _DISCARD and not stack:
                continue

    # -- missing brackets ------------------------------------------------------------
    def _indent_hint(self, stack: list[_Open | _Prefix], pos: Pos) -> tuple[_Open, int] | None:
        """The innermost open bracket at or right of the column of a line's first token:
        by its indentation, that line is no longer inside it."""
        for s in reversed(stack):
            if isinstance(s, _Open) and s.pos.col >= pos.col:
                return (s, pos.line)
        return None

    def _nested_def(self, stack: list[_Open | _Prefix], hint: tuple[_Open, int] | None, pos: Pos) -> None:
        """A `(def...` at column 1 inside another form: a bracket above is missing."""
        m = _DEF_HEAD.match(self.text, self.i)
        outer = next((s for s in stack if isinstance(s, _Open)), None)
        if m is None or outer is None or hint is None:
            return
        b, line = hint
        where = f"({m.group(1)} at {pos.line}:1"
        if line == pos.line:
            reason = f"{where} would be read inside it, as a local definition"
        else:
            reason = (
                f"line {line} is indented as if it were closed, and {where} would be read inside "
                f"the '{outer.kind}' at {outer.pos.line}:{outer.pos.col}"
            )
        raise syntax_error(f"this '{b.kind}' is missing its '{_CLOSERS[b.kind]}': {reason}", b.pos)

    def _unclosed(self, stack: list[_Open | _Prefix], hint: tuple[_Open, int] | None) -> None:
        """Raise the end-of-file error for a form still open: at the bracket that
        indentation says is missing its closer, else at the innermost unclosed one."""
        self.ended_open = True
        opens = [s for s in stack if isinstance(s, _Open)]
        if not opens:
            raise syntax_error("expected a form after this reader macro", stack[-1].pos)
        last = max(1, self.text.count("\n") + (0 if self.text.endswith("\n") else 1))
        outer = opens[0]
        if hint is not None:
            b, line = hint
            still = (
                "it" if b is outer else f"the '{outer.kind}' at {outer.pos.line}:{outer.pos.col}"
            )
            raise syntax_error(
                f"this '{b.kind}' is missing its '{_CLOSERS[b.kind]}': line {line} is indented as "
                f"if it were closed (the file ended at line {last} with {still} unclosed)",
                b.pos,
            )
        top = opens[-1]
        raise syntax_error(
            f"unclosed '{top.kind}': expected '{_CLOSERS[top.kind]}' before the end of the file "
            f"at line {last}",
            top.pos,
        )

    def _unexpected(self, ch: str, stack: list[_Open | _Prefix]) -> str:
        if stack or self._last_top is None:
            return f"unexpected '{ch}'"
        opened, closed = self._last_top
        return (
            f"unexpected '{ch}': no form is open (the one opened at {opened.line}:{opened.col} "
            f"was closed at {closed.line}:{closed.col})"
        )

    def _finish(self, o: _Open) -> Any:
        items = [x for x in o.items if x is not _DISCARD]
        if o.kind == "(":
            return tlist(items, o.pos) if items else TList(None, None, 0, o.pos)
        if o.kind == "[":
            return TVector(items)
        if len(items) % 2:
            raise syntax_error("a map needs an even number of forms (key value pairs)", o.pos)
        try:
            return TMap.of(zip(items[::2], items[1::2]), o.pos)
        except TypeError as e:
            raise syntax_error(f"map key cannot be used as a key: {e}", o.pos) from None

    def _string(self, pos: Pos) -> str:
        self._advance()  # opening quote
        out: list[str] = []
        text = self.text
        while True:
            if self.i >= len(text):
                self.ended_open = True
                raise syntax_error("unclosed string: expected '\"' before end of file", pos)
            ch = text[self.i]
            if ch == '"':
                self._advance()
                return "".join(out)
            if ch == "\\":
                epos = self._pos()
                if self.i + 1 >= len(text):
                    self.ended_open = True
                    raise syntax_error("unclosed string: expected '\"' before end of file", pos)
                e = text[self.i + 1]
                if e in _STR_ESC:
                    out.append(_STR_ESC[e])
                    self._advance(2)
                elif e == "u":
                    hexs = text[self.i + 2 : self.i + 6]
                    if len(hexs) != 4 or not all(c in "0123456789abcdefABCDEF" for c in hexs):
                        raise syntax_error("bad \\u escape: expected four hex digits", epos)
                    out.append(chr(int(hexs, 16)))
                    self._advance(6)
                else:
                    raise syntax_error(f"unknown escape '\\{e}' in string", epos)
                continue
            out.append(ch)
            self._advance()

    def _atom(self, pos: Pos) -> Any:
        text = self.text
        start = self.i
        j = start
        if text[j] == "#":
            j += 1
        while j < len(text) and text[j] not in _TOKEN_END:
            j += 1
        tok = text[start:j]
        if not tok:
            raise syntax_error(f"unexpected character {text[start]!r}", pos)
        self._advance(j - start)
        if tok.startswith("#"):
            return self._hash(tok, pos)
        if _INT_RE.match(tok):
            return int(tok)
        if _FLOAT_RE.match(tok):
            return float(tok)
        if tok in ("nil", "true", "false"):
            return {"nil": None, "true": True, "false": False}[tok]
        if tok.startswith(":") and len(tok) > 1:
            if tok[1] == ":" or tok.endswith(":"):
                raise syntax_error(f"bad keyword '{tok}'", pos)
            return Keyword(tok[1:])
        if tok[0].isdigit() or (tok[0] in "+-" and len(tok) > 1 and tok[1].isdigit()):
            raise syntax_error(f"bad number '{tok}'", pos)
        return Symbol(tok, pos)

    def _hash(self, tok: str, pos: Pos) -> Any:
        if tok in ("#t", "#true"):
            return True
        if tok in ("#f", "#false"):
            return False
        if tok == "##NaN":
            return float("nan")
        if tok == "##Inf":
            return float("inf")
        if tok == "##-Inf":
            return float("-inf")
        if tok == "#bytes":
            self._skip_space()
            if self.i >= len(self.text) or self.text[self.i] != '"':
                raise syntax_error('#bytes must be followed by a hex string, like #bytes "00ff"', pos)
            hexs = self._string(self._pos())
            try:
                return bytes.fromhex(hexs)
            except ValueError:
                raise syntax_error(f"bad hex in #bytes: {hexs!r}", pos) from None
        raise syntax_error(f"unknown reader syntax '{tok}'", pos)


_STR_ESC = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r", "0": "\0"}
_DISCARD = object()


def read_all(text: str, file: str = "<string>", indentation: bool = True) -> list[Any]:
    """Every form in `text`; `indentation=False` for typed input, whose lines are not
    indented as a file's are."""
    r = Reader(text, file, indentation)
    out = []
    while True:
        try:
            out.append(r.read())
        except EOFError:
            return out


def incomplete(text: str) -> bool:
    """True while `text` ends inside an open list, vector, map, string or reader macro:
    a REPL reads another line rather than report an error."""
    r = Reader(text, "<repl>", indentation=False)
    try:
        while True:
            r.read()
    except EOFError:
        return False
    except TurmericError:
        return r.ended_open


def read_one(text: str, file: str = "<string>") -> Any:
    """The first form in `text` (for tests and the REPL)."""
    return Reader(text, file).read()


__all__ = ["Reader", "read_all", "read_one", "incomplete", "EMPTY"]
