"""Serialization (SPEC 1.5): `serialize` / `deserialize` of every value kind, sharing and
cycles, custom hooks, code versions across processes, corrupt data and sizes.

One `Runtime` is shared per module (the `rt` fixture of conftest.py); each evaluation runs
in a Turmeric module of its own. "Another process" is a second `Runtime` that loads the
same program text from a temporary folder on its module path.

Never `pr_str` a cyclic value here: printing a cycle does not terminate (a printer bug).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import decoders

from tmweb.lang import Runtime, TurmericError, pr_str, serial
from tmweb.lang.code import CLO, Builtin, Closure, Continuation
from tmweb.lang.serial import format1_write, format2_read, format2_write
from tmweb.lang.values import Ref, Struct, equal

_fresh = itertools.count(1)


# --------------------------------------------------------------------------- helpers


def ev(rt: Runtime, src: str) -> Any:
    """The value of the last form of `src`, run in a fresh module."""
    return rt.eval_text(src, rt.module(f"t_ser_{next(_fresh)}"))


def rt_trip(rt: Runtime, v: Any) -> Any:
    return serial.deserialize(rt, serial.serialize(rt, v))


def kind(e: TurmericError) -> str | None:
    t = getattr(e.value, "type", None)
    return getattr(t, "name", None)


def fields(e: TurmericError) -> tuple[Any, ...]:
    return tuple(e.value.vals)


def call(rt: Runtime, f: Any, *args: Any) -> Any:
    """Call a Turmeric function (or resume a continuation) from Python."""
    return rt.machine.apply(f, args)


def load_error(rt: Runtime, data: Any) -> TurmericError:
    with pytest.raises(TurmericError) as info:
        serial.deserialize(rt, data)
    return info.value


MODES = [(format2_write.FORMAT, name, decode) for name, decode in decoders()] + [(format1_write.FORMAT, "", None)]


@pytest.fixture(
    scope="module",
    params=MODES,
    ids=[f"format2-{name}" if f == format2_write.FORMAT else "format1" for f, name, _ in MODES],
    autouse=True,
)
def fmt(request: pytest.FixtureRequest) -> Iterator[int]:
    """Every test here runs with format 2 where it applies (what `serialize` writes), read
    by each decoder (C, and msgpack's Unpacker), and with format 1 for everything (what
    `serialize` writes when format 2 cannot be used)."""
    fmt, _, decode = request.param
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(format2_read, "DECODE", decode)
        if fmt == format1_write.FORMAT:

            def never(*args: Any) -> bytes:
                raise format2_write.Fallback

            mp.setattr(format2_write, "write", never)
        yield fmt


def instance_tables(rt: Runtime) -> list[Any]:
    """The runtime's own `Serializable` and `Resource-Serializable` classes."""
    return [rt.serializable, rt.resource_serializable]


@pytest.fixture(autouse=True)
def _restore_instances(rt: Runtime) -> Iterator[None]:
    """Tests share one runtime: undo every test's `instance` registrations."""
    saved = [(c, {m: dict(d) for m, d in c.impls.items()}) for c in instance_tables(rt)]
    yield
    for cls, impls in saved:
        for m, d in impls.items():
            cls.impls[m].clear()
            cls.impls[m].update(d)


PROGRAMS = Path(__file__).resolve().parents[2] / "programs"


def program(name: str) -> str:
    """The text of tests/programs/NAME, the seed's example programs."""
    return (PROGRAMS / name).read_text(encoding="utf-8")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- value kinds

ROUND_TRIPS = [
    ("nil", "nil"),
    ("true", "#t"),
    ("false", "#f"),
    ("0", "0"),
    ("-1", "-1"),
    ("9223372036854775807", "9223372036854775807"),  # 2**63 - 1
    ("-9223372036854775808", "-9223372036854775808"),
    ("18446744073709551615", "18446744073709551615"),  # 2**64 - 1, msgpack's largest
    ("18446744073709551616", "18446744073709551616"),  # 2**64
    (str(2**200), str(2**200)),
    (str(-(2**200)), str(-(2**200))),
    ("3.25", "3.25"),
    ("-0.5", "-0.5"),
    ("1e300", None),
    ('""', '""'),
    ('"plain"', '"plain"'),
    ('"h\\u00e9llo \\u2603 \\u4e2d\\u6587"', None),
    ('"line\\nbreak \\"quoted\\""', '"line\\nbreak \\"quoted\\""'),
    (":kw", ":kw"),
    (":ns-ish.kw?", ":ns-ish.kw?"),
    ("'sym", "sym"),
    ("'valid-order?", "valid-order?"),
    ("'()", "()"),
    ("'(1 2 3)", "(1 2 3)"),
    ('(list 1 "two" :three [4])', '(1 "two" :three [4])'),
    ("[]", "[]"),
    ('[1 [2 [3 []]] :x "y"]', '[1 [2 [3 []]] :x "y"]'),
    ("{}", "{}"),
    ("{:a 1 :b {:c [1 2]}}", "{:a 1, :b {:c [1 2]}}"),
    ('{"s" 1 2 :two [1 2] "vec-key" :k nil}', None),
    ("(Some 3)", "(Some 3)"),
    ("(Some (Some [1 (None)]))", "(Some (Some [1 (None)]))"),
    ("(None)", "(None)"),
    ('(error "boom")', '(error "boom")'),
    ('(type-error "bad")', '(type-error "bad")'),
    ('(schema-mismatch "m.f" "abc")', '(schema-mismatch "m.f" "abc")'),
    ("(struct point [x y]) (point 1 (point 2 3))", "(point 1 (point 2 3))"),
    ("(struct empty-s []) (empty-s)", "(empty-s)"),
]


@pytest.mark.parametrize("src,printed", ROUND_TRIPS)
def test_round_trip(rt: Runtime, src: str, printed: str | None) -> None:
    v = ev(rt, src)
    w = rt_trip(rt, v)
    assert type(w) is type(v)
    assert equal(v, w)
    assert pr_str(w) == pr_str(v)
    if printed is not None:
        assert pr_str(w) == printed


@pytest.mark.parametrize(
    "v",
    [
        b"",
        b"\x00\x01\xfe\xff",
        bytes(range(256)) * 300,
        2**200,
        -(2**200),
        2**63,
        -(2**63) - 1,
        "\U0001f600 astral",
        "lone \ud800 surrogate",
        float("inf"),
        -0.0,
    ],
    ids=repr,
)
def test_round_trip_python_values(rt: Runtime, v: Any) -> None:
    w = rt_trip(rt, v)
    assert type(w) is type(v)
    assert w == v


def test_lone_surrogate_in_source_round_trips_in_a_continuation(rt: Runtime) -> None:
    k = ev(rt, '(defn sur-f [s] (+ 1 (cloneable-shift [k] k))) (cloneable-reset (fn [] (sur-f "a\\ud800b")))')
    back = rt_trip(rt, k)
    assert back.frames[0][4] == "a\ud800b" and call(rt, back, 1) == 2


def test_round_trip_nan(rt: Runtime) -> None:
    w = rt_trip(rt, float("nan"))
    assert isinstance(w, float) and w != w


def test_round_trip_huge_int_beyond_str_digit_limit(rt: Runtime) -> None:
    v = 10**5000
    assert rt_trip(rt, v) == v


def test_round_trip_huge_int_beyond_str_digit_limit_in_turmeric(rt: Runtime) -> None:
    src = """
    (def big (loop [i 0 acc 1] (if (= i 5000) acc (recur (inc i) (* acc 10)))))
    (= big (deserialize (serialize big)))
    """
    assert ev(rt, src) is True


def test_round_trip_in_turmeric(rt: Runtime) -> None:
    src = """
    (struct point [x y])
    (def v [nil true false 1 -7 2.5 "s" :k 'sym '(1 2) {:a [1 {"b" 2}]} (point 1 2)
            (Some 1) (None) (error "e")])
    [(= v (deserialize (serialize v))) (type-of (serialize v))]
    """
    assert pr_str(ev(rt, src)) == "[#t bytes]"


def test_struct_round_trip_keeps_type_predicate_and_fields(rt: Runtime) -> None:
    src = """
    (struct point [x y])
    (def p (deserialize (serialize (point 3 4))))
    [(point? p) p.x p.y (match p (point a b) -> (+ a b))]
    """
    assert pr_str(ev(rt, src)) == "[#t 3 4 7]"


def test_map_keys_of_every_kind(rt: Runtime) -> None:
    src = """
    (def m {:kw 1 "str" 2 3 :three [1 2] :vec 'sym :sym nil :nil})
    (def m2 (deserialize (serialize m)))
    [(= m m2) (get m2 :kw) (get m2 "str") (get m2 3) (get m2 [1 2]) (get m2 'sym) (count m2)]
    """
    assert pr_str(ev(rt, src)) == "[#t 1 2 :three :vec :sym 6]"


def test_option_and_error_values_still_match(rt: Runtime) -> None:
    src = """
    (def xs (deserialize (serialize [(Some 5) (None) (error "bad") (corrupt-data "m")])))
    (map (fn [x] (match x (Some v) -> v (None) -> :none (error m) -> m (corrupt-data m) -> [:c m])) xs)
    """
    assert pr_str(ev(rt, src)) == '(5 :none "bad" [:c "m"])'


def test_ref_round_trip(rt: Runtime) -> None:
    v = ev(rt, "(ref [1 2])")
    w = rt_trip(rt, v)
    assert isinstance(w, Ref) and w is not v
    assert pr_str(w.value) == "[1 2]"


def test_closure_round_trip(rt: Runtime) -> None:
    src = """
    (defn adder [n] (fn [x] (+ x n)))
    (def a5 (deserialize (serialize (adder 5))))
    [(a5 10) (a5 -5) (type-of a5)]
    """
    assert pr_str(ev(rt, src)) == "[15 0 fn]"


def test_closure_capturing_values_of_every_kind(rt: Runtime) -> None:
    src = """
    (defn make [a b c] (fn [k] (get {:a a :b b :c c} k)))
    (def f (deserialize (serialize (make [1 2] "two" {:three 3}))))
    [(f :a) (f :b) (f :c)]
    """
    assert pr_str(ev(rt, src)) == '[[1 2] "two" {:three 3}]'


def test_closures_sharing_a_mutable_local_stay_shared(rt: Runtime) -> None:
    src = """
    (defn counter []
      (let [n 0]
        [(fn [] (set! n (+ n 1)) n) (fn [] n)]))
    (def c (counter))
    ((first c))
    (def c2 (deserialize (serialize c)))
    ((first c2))
    ((first c2))
    [((second c2)) ((second c))]
    """
    assert pr_str(ev(rt, src)) == "[3 1]"


def test_closures_sharing_a_ref_stay_shared(rt: Runtime) -> None:
    src = """
    (defn pair [] (let [r (ref 0)] [(fn [] (swap! r inc)) (fn [] (deref r))]))
    (def p (deserialize (serialize (pair))))
    ((first p)) ((first p))
    ((second p))
    """
    assert ev(rt, src) == 2


def test_top_level_and_prelude_functions_round_trip(rt: Runtime) -> None:
    src = """
    (defn sq [x] (* x x))
    (def fs (deserialize (serialize [sq map (partial + 10) (comp inc inc)])))
    [((first fs) 7) ((second fs) inc [1 2]) ((nth fs 2) 1) ((nth fs 3) 1)]
    """
    assert pr_str(ev(rt, src)) == "[49 (2 3) 11 3]"


def test_builtin_round_trip_by_name(rt: Runtime) -> None:
    inc = ev(rt, "inc")
    assert isinstance(inc, Builtin)
    data = serial.serialize(rt, inc)
    assert b"core.inc" in data
    w = serial.deserialize(rt, data)
    assert w is inc  # built-ins are code: resolved by stable name, not copied
    assert ev(rt, "((deserialize (serialize inc)) 41)") == 42
    assert ev(rt, "((deserialize (serialize +)) 1 2 3)") == 6


def test_struct_type_round_trip(rt: Runtime) -> None:
    src = """
    (struct point [x y])
    ((deserialize (serialize point)) 1 2)
    """
    assert pr_str(ev(rt, src)) == "(point 1 2)"


# --------------------------------------------------------------------------- continuations

CAPTURE = """
(defn f [a b]
  (let [c (* a b)
        d (+ a 1)
        e [a b]]
    (+ c d (first e) (cloneable-shift [k] k))))
(def k (cloneable-reset (fn [] (f 3 4))))
"""


def test_continuation_round_trip_and_resume(rt: Runtime) -> None:
    # c=12, d=4, (first e)=3: k is (+ 19 _)
    src = CAPTURE + "(def k2 (deserialize (serialize k))) [(resume k2 100) (resume k 100)]"
    assert pr_str(ev(rt, src)) == "[119 119]"


def test_deserialized_continuation_resumes_twice(rt: Runtime) -> None:
    src = CAPTURE + "(def k2 (deserialize (serialize k))) [(resume k2 1) (resume k2 1000) (k2 0)]"
    assert pr_str(ev(rt, src)) == "[20 1019 19]"


def test_continuation_loaded_in_python_is_a_continuation(rt: Runtime) -> None:
    k = ev(rt, CAPTURE + "k")
    k2 = rt_trip(rt, k)
    assert isinstance(k2, Continuation) and k2 is not k
    assert [f[CLO].code.symbol for f in k2.frames] == [f[CLO].code.symbol for f in k.frames]
    assert all(a is not b for a, b in zip(k.frames, k2.frames))
    assert call(rt, k2, 1) == 20


def test_spec_example_continuation(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's capture example (it writes continuation.dat), loaded back from its bytes."""
    monkeypatch.chdir(tmp_path)
    src = program("capture.tm") + "(def k2 (deserialize bytes)) [result (resume k2 41) (resume k2 1)]"
    assert pr_str(ev(rt, src)) == "[10 42 2]"


def test_continuation_through_higher_order_functions(rt: Runtime) -> None:
    src = """
    (defn collect [xs]
      (mapv (fn [x] (if (= x 2) (cloneable-shift [k] k) (* x 10))) xs))
    (def k (deserialize (serialize (cloneable-reset (fn [] (collect [1 2 3]))))))
    [(resume k 99) (resume k :again)]
    """
    assert pr_str(ev(rt, src)) == "[[10 99 30] [10 :again 30]]"


def test_continuation_with_try_handler_frame(rt: Runtime) -> None:
    src = """
    (defn g [] (try (+ 1 (cloneable-shift [k] k)) (catch [e] :caught)))
    (def k (deserialize (serialize (cloneable-reset g))))
    [(resume k 1) (resume k "not a number")]
    """
    assert pr_str(ev(rt, src)) == "[2 :caught]"


def test_continuation_with_multiple_captures_in_one_value(rt: Runtime) -> None:
    src = (
        CAPTURE
        + """
    (def pair (deserialize (serialize {:k k :again k})))
    [(identical? (get pair :k) (get pair :again)) ((get pair :k) 1)]
    """
    )
    assert pr_str(ev(rt, src)) == "[#t 20]"


def test_deep_continuation_round_trip(rt: Runtime) -> None:
    src = """
    (defn deep [n] (if (= n 0) (cloneable-shift [k] k) (+ 1 (deep (- n 1)))))
    (def k (deserialize (serialize (cloneable-reset (fn [] (deep 20000))))))
    [(resume k 0) (resume k 5)]
    """
    assert pr_str(ev(rt, src)) == "[20000 20005]"


def test_closure_and_continuation_share_state_after_load(rt: Runtime) -> None:
    src = """
    (defn g [r] (+ (deref r) (cloneable-shift [k] k)))
    (def r (ref 10))
    (def pair (deserialize (serialize [r (cloneable-reset (fn [] (g r)))])))
    (ref-set! (first pair) 100)
    [(resume (second pair) 1) (deref r)]
    """
    # g already read (deref r) = 10 before the capture; the loaded ref is a separate copy
    assert pr_str(ev(rt, src)) == "[11 10]"


# --------------------------------------------------------------------------- sharing, cycles, copies


def test_shared_ref_stays_one_ref(rt: Runtime) -> None:
    src = """
    (def r (ref 1))
    (def v (deserialize (serialize [r r {:again r}])))
    (ref-set! (first v) 9)
    [(identical? (first v) (second v)) (identical? (first v) (get (nth v 2) :again))
     (deref (second v)) (deref (get (nth v 2) :again)) (deref r)]
    """
    assert pr_str(ev(rt, src)) == "[#t #t 9 9 1]"


def test_shared_immutable_values_stay_shared(rt: Runtime) -> None:
    v = ev(rt, "(def inner [1 2 3]) [inner inner]")
    w = rt_trip(rt, v)
    assert w.items[0] is w.items[1]


def test_cycle_through_a_ref(rt: Runtime) -> None:
    r = ev(rt, "(def r (ref nil)) (ref-set! r [1 r]) r")
    w = rt_trip(rt, r)
    assert isinstance(w, Ref) and w is not r
    assert w.value.items[0] == 1
    assert w.value.items[1] is w
    # and in Turmeric
    src = """
    (def r (ref nil)) (ref-set! r [1 r])
    (def r2 (deserialize (serialize r)))
    [(identical? r2 (second (deref r2))) (identical? r r2) (first (deref r2))]
    """
    assert pr_str(ev(rt, src)) == "[#t #f 1]"


def test_mutual_cycle_between_two_refs(rt: Runtime) -> None:
    src = """
    (def a (ref nil)) (def b (ref a)) (ref-set! a {:other b})
    (def v (deserialize (serialize [a b])))
    [(identical? (get (deref (first v)) :other) (second v))
     (identical? (deref (second v)) (first v))]
    """
    assert pr_str(ev(rt, src)) == "[#t #t]"


def test_cycle_through_a_closure(rt: Runtime) -> None:
    src = """
    (def box (ref nil))
    (ref-set! box (fn [n] (if (= n 0) :done ((deref box) (- n 1)))))
    (def box2 (deserialize (serialize box)))
    [((deref box2) 5) (identical? box box2)]
    """
    assert pr_str(ev(rt, src)) == "[:done #f]"


def test_loading_twice_gives_independent_copies(rt: Runtime) -> None:
    src = """
    (def r (ref 0))
    (def b (serialize [r r]))
    (def c1 (deserialize b))
    (def c2 (deserialize b))
    (ref-set! (first c1) 1)
    (ref-set! (first c2) 2)
    [(deref (second c1)) (deref (second c2)) (deref r) (identical? (first c1) (first c2))
     (identical? (first c1) r)]
    """
    assert pr_str(ev(rt, src)) == "[1 2 0 #f #f]"


def test_loaded_continuations_do_not_share_refs(rt: Runtime) -> None:
    src = """
    (defn g [r] (swap! r inc) (cloneable-shift [k] k) (swap! r inc))
    (def r (ref 0))
    (def b (serialize (cloneable-reset (fn [] (g r)))))
    (def k1 (deserialize b))
    (def k2 (deserialize b))
    [(resume k1) (resume k1) (resume k2) (deref r)]
    """
    # each loaded copy has its own ref (value 1 at capture); resuming k1 twice shares k1's
    assert pr_str(ev(rt, src)) == "[2 3 2 1]"


def test_nothing_shared_with_original(rt: Runtime) -> None:
    v = ev(rt, "(struct point [x y]) [(ref 1) (point [1] {:a (ref 2)}) '(1 2) {:m [3]}]")
    w = rt_trip(rt, v)
    assert equal(v.items[1].vals[0], w.items[1].vals[0])
    stack = [(v, w)]
    while stack:
        a, b = stack.pop()
        if isinstance(a, (Ref, Struct)) or hasattr(a, "items") or hasattr(a, "d"):
            assert a is not b, pr_str(a)
        if isinstance(a, Ref):
            stack.append((a.value, b.value))
        elif isinstance(a, Struct):
            stack.extend(zip(a.vals, b.vals))
        elif hasattr(a, "d"):
            stack.extend((a.d[k], b.d[k]) for k in a.d)
        elif isinstance(a, (list, tuple)) or hasattr(a, "items"):
            stack.extend(zip(list(a), list(b)))


LINKED = """
(struct node [v next])
(def lst (loop [i 0 acc nil] (if (= i {n}) acc (recur (inc i) (node i acc)))))
(def l2 (deserialize (serialize lst)))
(loop [n l2 total 0] (if (nil? n) total (recur n.next (+ total n.v))))
"""


def test_long_linked_structure_serializes(rt: Runtime) -> None:
    assert ev(rt, LINKED.format(n=10_000)) == sum(range(10_000))


def test_very_long_linked_structure_serializes(rt: Runtime) -> None:
    assert ev(rt, LINKED.format(n=100_000)) == sum(range(100_000))


def test_deeply_nested_vectors_and_refs(rt: Runtime) -> None:
    src = """
    (def v (loop [i 0 acc nil] (if (= i 5000) acc (recur (inc i) [i (ref acc)]))))
    (def v2 (deserialize (serialize v)))
    (loop [x v2 n 0] (if (nil? x) n (recur (deref (second x)) (inc n))))
    """
    assert ev(rt, src) == 5000


# --------------------------------------------------------------------------- hooks


def test_serializable_hook_is_used(rt: Runtime) -> None:
    src = """
    (def calls (ref 0))
    (def loads (ref 0))
    (struct temp [celsius])
    (instance Serializable temp
      (serialize [x] (swap! calls inc) {:f (+ 32 (* 2 x.celsius))})
      (deserialize [repr] (swap! loads inc) (temp (+ 1000 (get repr :f)))))
    (def b (serialize [(temp 10) :other]))
    (def back (deserialize b))
    [(deref calls) (deref loads) back (temp? (first back))]
    """
    # the loaded value is what the deserialize hook built, not a field-by-field copy
    assert pr_str(ev(rt, src)) == "[1 1 [(temp 1052) :other] #t]"


def test_serializable_hook_repr_is_in_the_bytes_not_the_fields(rt: Runtime) -> None:
    src = """
    (struct secret [password public])
    (instance Serializable secret
      (serialize [x] x.public)
      (deserialize [repr] (secret "<redacted>" repr)))
    (serialize (secret "hunter2-pw" "visible-part"))
    """
    data = ev(rt, src)
    assert b"visible-part" in data
    assert b"hunter2-pw" not in data


def test_serializable_hook_for_builtin_type_name(rt: Runtime) -> None:
    src = """
    (def calls (ref 0))
    (instance Serializable string
      (serialize [x] (swap! calls inc) (str "s:" x))
      (deserialize [repr] (upper (subs repr 2))))
    [(deserialize (serialize ["ab" :k "cd"])) (deref calls)]
    """
    assert pr_str(ev(rt, src)) == '[["AB" :k "CD"] 2]'


HOOK_BY_TYPE_NAME = """
(instance Serializable {typ}
  (serialize [x] (pr-str x))
  (deserialize [repr] [:loaded repr]))
(deserialize (serialize {value}))
"""


@pytest.mark.parametrize(
    "typ,value", [("vector", "[1]"), ("list", "'(1)"), ("int64", "7"), ("bool", "true")]
)
def test_serializable_hook_for_type_named_like_a_function(
    rt: Runtime, typ: str, value: str
) -> None:
    out = ev(rt, HOOK_BY_TYPE_NAME.format(typ=typ, value=value))
    assert out.items[0] == ev(rt, ":loaded")
    assert out.items[1] == pr_str(ev(rt, value))


@pytest.mark.parametrize("typ,value", [("keyword", ":a"), ("symbol", "'s")])
def test_serializable_hook_for_keyword_and_symbol(rt: Runtime, typ: str, value: str) -> None:
    out = ev(rt, HOOK_BY_TYPE_NAME.format(typ=typ, value=value))
    assert pr_str(out) == pr_str(ev(rt, f"[:loaded (pr-str {value})]"))


def test_serializable_hook_repr_of_the_same_type(rt: Runtime) -> None:
    # a repr that is itself a value of the hooked type is written field by field
    src = """
    (struct wrap [v])
    (instance Serializable wrap
      (serialize [x] (wrap (* 2 x.v)))
      (deserialize [repr] (wrap (+ 1 repr.v))))
    (deserialize (serialize (wrap 5)))
    """
    assert pr_str(ev(rt, src)) == "(wrap 11)"


def test_serializable_hook_errors_propagate(rt: Runtime) -> None:
    src = """
    (struct bad [x])
    (instance Serializable bad
      (serialize [x] (throw (error "no way")))
      (deserialize [repr] repr))
    (try (serialize (bad 1)) (catch [e] (match e (error m) -> m)))
    """
    assert ev(rt, src) == "no way"


def test_serializable_hook_applies_to_nested_values_of_the_same_type(rt: Runtime) -> None:
    src = """
    (def calls (ref 0))
    (struct tree [label kids cache])
    (instance Serializable tree
      (serialize [x] (swap! calls inc) [x.label x.kids])
      (deserialize [r] (tree (first r) (second r) :rebuilt)))
    (def t (tree :root [(tree :leaf [] (ref 1))] (ref 2)))
    (def back (deserialize (serialize t)))
    [(deref calls) (get (first back.kids) :cache)]
    """
    assert pr_str(ev(rt, src)) == "[2 :rebuilt]"


def test_hooked_value_sharing_is_kept(rt: Runtime) -> None:
    src = """
    (def calls (ref 0))
    (struct hp [a])
    (instance Serializable hp (serialize [x] (swap! calls inc) x.a) (deserialize [r] (hp r)))
    (def h (hp 1))
    (def v (deserialize (serialize [h h])))
    [(identical? (first v) (second v)) (deref calls)]
    """
    assert pr_str(ev(rt, src)) == "[#t 1]"


@pytest.fixture
def two_lines(tmp_path: Path) -> str:
    p = tmp_path / "lines.txt"
    p.write_text("first\nsecond\n", encoding="utf-8")
    return str(p)


def _tm_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


FH_INSTANCE = """
(def marshals (ref 0))
(instance Resource-Serializable FileHandle
  (marshal [fh] (swap! marshals inc) (file-handle-path fh))
  (unmarshal [path] (open-file path)))
"""


def test_resource_serializable_file_handle_in_a_vector(rt: Runtime, two_lines: str) -> None:
    p = _tm_str(two_lines)
    src = (
        FH_INSTANCE
        + f"""
    (def fh (open-file {p}))
    (def v (deserialize (serialize [fh :x])))
    [(read-line (first v)) (read-line (first v)) (file-handle-path (first v))
     (deref marshals) (read-line fh)]
    """
    )
    out = ev(rt, src)
    assert pr_str(out) == pr_str(ev(rt, f'["first" "second" {p} 1 "first"]'))


def test_resource_shared_twice_stays_one_resource(rt: Runtime, two_lines: str) -> None:
    src = (
        FH_INSTANCE
        + f"""
    (def fh (open-file {_tm_str(two_lines)}))
    (def v (deserialize (serialize [fh fh])))
    [(identical? (first v) (second v)) (deref marshals) (read-line (first v)) (read-line (second v))]
    """
    )
    assert pr_str(ev(rt, src)) == '[#t 1 "first" "second"]'


def test_resource_serializable_file_handle_in_a_continuation(rt: Runtime, two_lines: str) -> None:
    p = _tm_str(two_lines)
    src = (
        FH_INSTANCE
        + f"""
    (defn reader []
      (let [fh (open-file {p})]
        (let [pause (cloneable-shift [k] k)]
          [pause (read-line fh) (read-line fh) (read-line fh)])))
    (def k (deserialize (serialize (cloneable-reset reader))))
    [(resume k :one) (deref marshals)]
    """
    )
    assert pr_str(ev(rt, src)) == '[[:one "first" "second" nil] 1]'


def test_resource_serializable_continuation_loaded_in_another_runtime(
    rt: Runtime, two_lines: str, tmp_path: Path
) -> None:
    text = f"""
(instance Resource-Serializable FileHandle
  (marshal [fh] (file-handle-path fh))
  (unmarshal [path] (open-file path)))
(defn reader []
  (let [fh (open-file {_tm_str(two_lines)})]
    (read-line fh)
    (let [pause (cloneable-shift [k] k)]
      [pause (read-line fh)])))
(defn start [] (cloneable-reset reader))
"""
    d1 = tmp_path / "w"
    d2 = tmp_path / "r"
    w = Runtime(roots=[str(d1)])
    w.load_file(str(write(d1, "fhmod.tm", text)))
    data = serial.serialize(w, call(w, w.modules["fhmod"].cells["start"].value))
    write(d2, "fhmod.tm", text)
    r = Runtime(roots=[str(d2)])
    k = serial.deserialize(r, data)
    # re-opened by path: reading starts again at the first line
    assert pr_str(call(r, k, 7)) == '[7 "first"]'


def test_file_handle_without_instance_names_frame_and_variable(rt: Runtime, two_lines: str) -> None:
    p = _tm_str(two_lines)
    with pytest.raises(TurmericError) as info:
        ev(
            rt,
            f"""
            (defn f [] (let [fh (open-file {p})] (cloneable-shift [k] (serialize k)) (read-line fh)))
            (cloneable-reset f)
            """,
        )
    e = info.value
    assert kind(e) == "not-serializable", e.format()
    type_name, path = fields(e)
    assert type_name == "FileHandle"
    assert ".f" in path and "fh" in path, path
    assert "frame" in path and "variable" in path, path


def test_file_handle_in_tail_position_continuation_is_not_captured(
    rt: Runtime, two_lines: str
) -> None:
    # the shift is in tail position, so f's frame (and fh)
    # is no longer part of the continuation and serializing k succeeds
    p = _tm_str(two_lines)
    data = ev(
        rt,
        f"(defn f [] (let [fh (open-file {p})] (cloneable-shift [k] (serialize k)))) (cloneable-reset f)",
    )
    assert isinstance(data, bytes)


def test_file_handle_without_instance_catchable_in_turmeric(rt: Runtime, two_lines: str) -> None:
    p = _tm_str(two_lines)
    src = f"""
    (defn f [x]
      (let [fh (open-file {p})]
        (cloneable-shift [k] (try (serialize k) (catch [e] (match e (not-serializable t where) -> [t where]))))
        (read-line fh)))
    (cloneable-reset (fn [] (f 1)))
    """
    out = ev(rt, src)
    assert out.items[0] == "FileHandle"
    assert ".f" in out.items[1] and "fh" in out.items[1]


@pytest.mark.parametrize(
    "template,needles",
    [
        ("[1 2 (open-file {p})]", ["2"]),
        ("{{:handle (open-file {p})}}", [":handle"]),
        ("(ref (open-file {p}))", ["value"]),
        ("(let [fh (open-file {p})] (fn [] fh))", ["fh"]),
        ("(Some [(open-file {p})])", ["0"]),
    ],
)
def test_not_serializable_paths(
    rt: Runtime, two_lines: str, template: str, needles: list[str]
) -> None:
    with pytest.raises(TurmericError) as info:
        ev(rt, f"(serialize {template.format(p=_tm_str(two_lines))})")
    e = info.value
    assert kind(e) == "not-serializable", e.format()
    assert fields(e)[0] == "FileHandle"
    for n in needles:
        assert n in fields(e)[1], fields(e)


def test_instances_do_not_leak_between_runtimes(two_lines: str) -> None:
    a = Runtime()
    a.eval_text(FH_INSTANCE, a.module("leak_a"))
    b = Runtime()
    with pytest.raises(TurmericError) as info:
        b.eval_text(f"(serialize (open-file {_tm_str(two_lines)}))", b.module("leak_b"))
    assert kind(info.value) == "not-serializable"


# --------------------------------------------------------------------------- versions

APP = """
(defn helper [x] (* x 2))
(defn unrelated [x] (+ x 1))
(defn f [a]
  (let [b (+ a 1)
        c (* b 10)]
    (+ b c (cloneable-shift [k] k))))
(defn start [n] (cloneable-reset (fn [] (f n))))
"""

APP_REFORMATTED = """; the same program, reformatted and commented
(defn helper [x]
  ; doubles
  (* x 2))

(defn unrelated [x] (+ x 1)) #_(not code)

(defn f [a]   ; comment after the params
      (let [b (+ a 1)   ; b
            c (* b 10)]
  (+   b   c
       (cloneable-shift [k]
         k))))
(defn start [n]
  (cloneable-reset (fn [] (f n))))
"""

APP_OTHER_CHANGED = APP.replace("(+ x 1)", "(+ x 100)").replace("(* x 2)", "(* x 3)")
APP_BODY_CHANGED = APP.replace("(* b 10)", "(* b 11)")
APP_F_REMOVED = """
(defn helper [x] (* x 2))
(defn unrelated [x] (+ x 1))
"""


def load_app(folder: Path, text: str, name: str = "app") -> Runtime:
    rt = Runtime(roots=[str(folder)])
    rt.load_file(str(write(folder, f"{name}.tm", text)))
    return rt


def test_version_unchanged_by_comments_and_whitespace(tmp_path: Path) -> None:
    a = load_app(tmp_path / "a", APP)
    b = load_app(tmp_path / "b", APP_REFORMATTED)
    for sym in ("app.f", "app.helper", "app.unrelated", "app.start", "app.start~fn#1"):
        assert a.codes[sym].version == b.codes[sym].version, sym
    assert serial.program_version(a) == serial.program_version(b)


def test_version_changed_by_body(tmp_path: Path) -> None:
    a = load_app(tmp_path / "a", APP)
    b = load_app(tmp_path / "b", APP_BODY_CHANGED)
    assert a.codes["app.f"].version != b.codes["app.f"].version
    assert a.codes["app.helper"].version == b.codes["app.helper"].version
    assert serial.program_version(a) != serial.program_version(b)


def test_version_unchanged_by_edits_to_other_functions(tmp_path: Path) -> None:
    a = load_app(tmp_path / "a", APP)
    b = load_app(tmp_path / "b", APP_OTHER_CHANGED)
    assert a.codes["app.f"].version == b.codes["app.f"].version
    assert a.codes["app.start"].version == b.codes["app.start"].version
    assert a.codes["app.helper"].version != b.codes["app.helper"].version
    assert a.codes["app.unrelated"].version != b.codes["app.unrelated"].version


def test_version_of_nested_function(tmp_path: Path) -> None:
    src = "(defn outer [x] (fn [y] (+ x y)))\n"
    a = load_app(tmp_path / "a", src)
    b = load_app(tmp_path / "b", "(defn outer [x]\n  ; c\n  (fn [y]   (+ x y)))\n")
    c = load_app(tmp_path / "c", "(defn outer [x] (fn [y] (- x y)))\n")
    assert a.codes["app.outer~fn#1"].version == b.codes["app.outer~fn#1"].version
    assert a.codes["app.outer~fn#1"].version != c.codes["app.outer~fn#1"].version


def test_current_version_is_program_version(rt: Runtime) -> None:
    m = rt.module(f"t_ser_{next(_fresh)}")
    rt.eval_text("(defn vf [] (current-version))", m)
    v = call(rt, m.cells["vf"].value)
    assert isinstance(v, str) and v == serial.program_version(rt)


def _write_app_continuation(tmp_path: Path) -> tuple[bytes, str]:
    w = load_app(tmp_path / "writer", APP)
    k = call(w, w.modules["app"].cells["start"].value, 10)
    data = serial.serialize(w, k)
    return data, serial.program_version(w)


@pytest.mark.parametrize(
    "text", [APP, APP_REFORMATTED, APP_OTHER_CHANGED], ids=["same", "reformatted", "other-changed"]
)
def test_continuation_loads_in_another_runtime(tmp_path: Path, text: str) -> None:
    data, _ = _write_app_continuation(tmp_path)
    r = Runtime(roots=[str(tmp_path / "reader")])
    write(tmp_path / "reader", "app.tm", text)
    k = serial.deserialize(r, data)
    assert call(r, k, 5) == 11 + 110 + 5
    assert call(r, k, 0) == 121


CALLER = """
(defn helper [x] (* x 2))
(defn g [a] (let [b (+ a 1)] (+ b (helper (cloneable-shift [k] k)))))
(defn start [n] (cloneable-reset (fn [] (g n))))
"""


def test_edit_to_a_pending_callee_is_not_a_mismatch(tmp_path: Path) -> None:
    """k is `(+ 11 (helper _))`: helper is called after the capture point; editing helper
    (not g) leaves the continuation loadable, and the resumed run calls the new helper."""
    w = load_app(tmp_path / "writer", CALLER)
    data = serial.serialize(w, call(w, w.modules["app"].cells["start"].value, 10))
    r = Runtime(roots=[str(tmp_path / "reader")])
    write(tmp_path / "reader", "app.tm", CALLER.replace("(* x 2)", "(* x 3)"))
    k = serial.deserialize(r, data)
    assert call(r, k, 5) == 11 + 15


def test_changed_function_is_schema_mismatch(tmp_path: Path) -> None:
    data, writer_version = _write_app_continuation(tmp_path)
    r = Runtime(roots=[str(tmp_path / "reader")])
    write(tmp_path / "reader", "app.tm", APP_BODY_CHANGED)
    e = load_error(r, data)
    assert kind(e) == "schema-mismatch", e.format()
    assert fields(e) == ("app.f", writer_version)
    assert writer_version != serial.program_version(r)


def test_schema_mismatch_is_catchable_in_turmeric(tmp_path: Path) -> None:
    data, writer_version = _write_app_continuation(tmp_path)
    r = Runtime(roots=[str(tmp_path / "reader")])
    write(tmp_path / "reader", "app.tm", APP_BODY_CHANGED)
    m = r.module("driver")
    m.define("data", data)
    out = r.eval_text(
        "(try (deserialize data) (catch [e] (match e (schema-mismatch s v) -> [s v])))", m
    )
    assert pr_str(out) == f'["app.f" "{writer_version}"]'


def test_removed_function_is_missing_function(tmp_path: Path) -> None:
    data, _ = _write_app_continuation(tmp_path)
    r = Runtime(roots=[str(tmp_path / "reader")])
    write(tmp_path / "reader", "app.tm", APP_F_REMOVED)
    e = load_error(r, data)
    assert kind(e) == "missing-function", e.format()
    assert fields(e) == ("app.f",)


def test_missing_module_is_missing_function(tmp_path: Path) -> None:
    data, _ = _write_app_continuation(tmp_path)
    (tmp_path / "empty").mkdir()
    r = Runtime(roots=[str(tmp_path / "empty")])
    e = load_error(r, data)
    assert kind(e) == "missing-function", e.format()
    assert fields(e)[0].startswith("app.")


def test_module_loaded_for_code_runs_only_definitions(tmp_path: Path) -> None:
    marker = tmp_path / "side-effect.txt"
    text = APP + f'\n(write-file {_tm_str(str(marker))} "ran")\n(def counter (ref 0))\n'
    data, _ = _write_app_continuation_from(tmp_path, text)
    assert marker.exists()  # the writer ran its main file
    marker.unlink()
    r = Runtime(roots=[str(tmp_path / "writer")])  # the same folder, loaded again
    k = serial.deserialize(r, data)
    assert not marker.exists()
    assert call(r, k, 0) == 121
    assert "app" in r.modules


def _write_app_continuation_from(tmp_path: Path, text: str) -> tuple[bytes, str]:
    w = load_app(tmp_path / "writer", text)
    k = call(w, w.modules["app"].cells["start"].value, 10)
    return serial.serialize(w, k), serial.program_version(w)


def test_dataset_checkpoint_resumes_in_another_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's checkpoint example: a checkpoint written by one process, loaded in a
    fresh one, continues where it stopped and writes the later checkpoints again,
    byte for byte."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    app = tmp_path / "app"
    w = Runtime(roots=[str(app)])
    w.load_file(
        str(write(app, "dataset.tm", program("dataset.tm") + "(analyze-large-dataset (range 3500))\n"))
    )
    names = sorted(os.listdir(work))
    assert names == ["checkpoint-1999.bin", "checkpoint-2999.bin", "checkpoint-999.bin"]
    first = {n: (work / n).read_bytes() for n in names}
    assert len(first["checkpoint-999.bin"]) < 64_000
    for n in ("checkpoint-1999.bin", "checkpoint-2999.bin"):
        (work / n).unlink()

    r = Runtime(roots=[str(app)])
    k = serial.deserialize(r, first["checkpoint-999.bin"])
    assert isinstance(k, Continuation)
    assert not (work / "checkpoint-1999.bin").exists()  # loading ran no top-level form
    call(r, k, None)
    for n in ("checkpoint-1999.bin", "checkpoint-2999.bin"):
        assert (work / n).read_bytes() == first[n], n


# --------------------------------------------------------------------------- corrupt data


@pytest.fixture(scope="module")
def sample(rt: Runtime, fmt: int) -> bytes:
    """A continuation with locals, a closure and a ref: small but touches most records."""
    return ev(
        rt,
        """
        (defn sample-f [a]
          (let [r (ref [a :kw "s"]) g (fn [x] (+ x a))]
            (+ (g 1) (first (deref r)) (cloneable-shift [k] (serialize k)))))
        (cloneable-reset (fn [] (sample-f 3)))
        """,
    )


def test_sample_is_valid(rt: Runtime, sample: bytes, fmt: int) -> None:
    assert serial.format_of(sample) == fmt
    assert isinstance(serial.deserialize(rt, sample), Continuation)


@pytest.mark.parametrize(
    "data",
    [b"", b"T", b"TMK", format1_write.MAGIC, format2_write.MAGIC, format2_write.MAGIC + b"\x01", b"\x00" * 16, b"hello world", b"PK\x03\x04zipfile"],
    ids=repr,
)
def test_not_ours_is_corrupt(rt: Runtime, data: bytes) -> None:
    assert kind(load_error(rt, data)) == "corrupt-data"


@pytest.mark.parametrize(
    "data", ["TMK\x01abc", 5, None, [1], bytearray(b"TMK\x01"), memoryview(b"TMK\x01")], ids=repr
)
def test_non_bytes_is_corrupt(rt: Runtime, data: Any) -> None:
    assert kind(load_error(rt, data)) == "corrupt-data"


def test_wrong_magic_is_corrupt(rt: Runtime, sample: bytes) -> None:
    for i in range(4):  # the magic
        bad = bytearray(sample)
        bad[i] ^= 0x20
        assert kind(load_error(rt, bytes(bad))) == "corrupt-data", i
    assert kind(load_error(rt, sample[4:])) == "corrupt-data"


def test_every_truncation_is_corrupt(rt: Runtime, sample: bytes) -> None:
    for n in range(len(sample)):
        e = load_error(rt, sample[:n])
        assert kind(e) == "corrupt-data", (n, e.format())


def test_trailing_garbage_is_corrupt(rt: Runtime, sample: bytes) -> None:
    for extra in (b"\x00", b"\xc0", sample):
        assert kind(load_error(rt, sample + extra)) == "corrupt-data"


def test_every_flipped_byte_is_a_value_or_a_turmeric_error(rt: Runtime, sample: bytes) -> None:
    corrupt = 0
    for i in range(len(sample)):
        for mask in (0x01, 0x80, 0xFF):
            bad = bytearray(sample)
            bad[i] ^= mask
            try:
                serial.deserialize(rt, bytes(bad))
            except TurmericError as e:
                assert kind(e) in {"corrupt-data", "missing-function", "schema-mismatch"}, (
                    e.format()
                )
                corrupt += kind(e) == "corrupt-data"
    assert corrupt > len(sample)


def test_corrupt_data_is_catchable_in_turmeric(rt: Runtime) -> None:
    src = """
    (def b (serialize [1 2 3]))
    [(try (deserialize (subs b 0 5)) (catch [e] (match e (corrupt-data m) -> :corrupt)))
     (try (deserialize (subs b 0 (- (count b) 1))) (catch [e] (match e (corrupt-data m) -> :corrupt)))
     (try (deserialize "not bytes") (catch [e] (match e (corrupt-data m) -> :corrupt)))
     (try (deserialize nil) (catch [e] (match e (corrupt-data m) -> :corrupt)))
     (try (deserialize (subs b 4)) (catch [e] (match e (corrupt-data m) -> :corrupt)))
     (deserialize b)]
    """
    assert pr_str(ev(rt, src)) == "[:corrupt :corrupt :corrupt :corrupt :corrupt [1 2 3]]"


# --------------------------------------------------------------------------- sizes


def test_spec_example_continuation_is_small(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    k = ev(rt, program("capture.tm") + "saved")
    data = serial.serialize(rt, k)
    assert len(data) < 200, len(data)


def test_code_symbols_appear_once_per_envelope(rt: Runtime) -> None:
    src = """
    (defn deep-symbol-check [n] (if (= n 0) (cloneable-shift [k] k) (+ 1 (deep-symbol-check (- n 1)))))
    (cloneable-reset (fn [] (deep-symbol-check 50)))
    """
    k = ev(rt, src)
    assert len(k.frames) >= 50
    assert {f[CLO].code.symbol for f in k.frames} == {k.frames[0][CLO].code.symbol}
    data = serial.serialize(rt, k)
    sym = k.frames[0][CLO].code.symbol.encode()
    assert data.count(sym) == 1
    assert data.count(k.frames[0][CLO].code.version.encode()) == 1
    assert len(data) < 50 * 20  # a frame costs a few bytes, not a symbol each


def test_closure_code_symbols_appear_once(rt: Runtime) -> None:
    src = """
    (defn mk-sym-once [n] (fn [] n))
    (serialize (mapv mk-sym-once (range 30)))
    """
    data = ev(rt, src)
    assert data.count(b"mk-sym-once~fn#1") == 1
    assert data.count(b"mk-sym-once") == 1


def test_sample_closure_is_a_closure(rt: Runtime) -> None:
    f = rt_trip(rt, ev(rt, "(defn mk-c [n] (fn [] n)) (mk-c 4)"))
    assert isinstance(f, Closure) and call(rt, f) == 4
