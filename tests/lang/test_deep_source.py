"""Deeply nested source compiles, or fails with a Turmeric error that names the form."""

from __future__ import annotations

import pytest

from tmweb.lang import Runtime, TurmericError, pr_str


def test_an_expression_nested_3000_deep_compiles_and_runs() -> None:
    rt = Runtime()
    src = "(+ 1 " * 3000 + "0" + ")" * 3000
    assert rt.eval_text(src, rt.module("deep_expr")) == 3000


def test_a_vector_literal_nested_1000_deep_compiles() -> None:
    rt = Runtime()
    src = "(count " + "[" * 1000 + "]" * 1000 + ")"
    assert rt.eval_text(src, rt.module("deep_vec")) == 1


def test_a_vector_of_expressions_nested_300_deep_compiles() -> None:
    rt = Runtime()
    src = "(let [x 1] " + "[x " * 300 + "]" * 300 + ")"
    v = rt.eval_text(src, rt.module("deep_vec_x"))
    assert pr_str(v).startswith("[1 [1 [1")


def test_a_form_too_deep_to_compile_is_a_syntax_error_with_its_position() -> None:
    rt = Runtime()
    src = "\n(+ 1 " + "(+ 1 " * 20000 + "0" + ")" * 20001
    with pytest.raises(TurmericError) as info:
        rt.eval_text(src, rt.module("too_deep"), "too_deep.tm")
    assert info.value.value.type.name == "syntax-error"
    assert "nested too deeply" in info.value.message
    assert info.value.pos is not None and info.value.pos.line == 2
