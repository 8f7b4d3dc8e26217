"""How a Turmeric map key reaches Jinja2 (docs/web.md, "Keys with a dash"): keyword keys
become names, a top-level dashed key is also given with underscores, nested maps keep
their dashes, and an explicit underscore key wins over a renamed dashed one."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from .test_app import make_app


@pytest.mark.parametrize(
    ("ctx", "template", "expected"),
    [
        ('{:label "x"}', "{{ label }}", "x"),
        ('{:next-url "/k/1"}', "{{ next_url }}", "/k/1"),
        ('{:user {:first-name "Ann"}}', '{{ user["first-name"] }}', "Ann"),
        ('{:user {:first-name "Ann"}}', "[{{ user.first_name }}]", "[]"),
        ('{:a-b "dashed" :a_b "underscored"}', "{{ a_b }}", "underscored"),
        ('{:items [{:unit-price 3}]}', '{% for i in items %}{{ i["unit-price"] }}{% endfor %}', "3"),
        ('{"first-name" "Bo"}', "{{ first_name }}", "Bo"),  # string keys too
        ('{:html "<b>"}', "{{ html }}", "&lt;b&gt;"),  # autoescaped
    ],
)
def test_how_a_context_key_reaches_the_template(tmp_path: Path, ctx: str, template: str, expected: str) -> None:
    src = f'(defroute GET "/" [req] (render "t.html" {ctx}))'
    r = TestClient(make_app(tmp_path, src, {"t.html": template})).get("/")
    assert r.status_code == 200, r.text
    assert r.text == expected


def test_a_dashed_name_in_a_template_is_a_subtraction_of_undefined_names(tmp_path: Path) -> None:
    src = '(defroute GET "/" [req] (render "t.html" {:next-url "/k/1"}))'
    r = TestClient(make_app(tmp_path, src, {"t.html": "{{ next-url }}"}, debug=True)).get("/")
    assert r.status_code == 500
    assert "&#39;next&#39; is undefined" in r.text  # the debug page names the culprit
