"""Delimited continuations (SPEC 1.4): cloneable-reset / cloneable-shift / resume."""

from __future__ import annotations

import pytest
from conftest import Err, check

from tmweb.lang import Runtime


def table(rows: list[tuple[str, str | Err]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("src,expected", rows)


SPEC_EXAMPLE = """
(def saved nil)
(def result (+ 1 (cloneable-shift [k] (set! saved k) 10)))
"""

BASICS = [
    # the implicit delimiter of a top-level form's value expression: k is (+ 1 _)
    (SPEC_EXAMPLE + "result", "10"),
    (SPEC_EXAMPLE + "(resume saved 42)", "43"),
    (SPEC_EXAMPLE + "(continue saved 42)", "43"),
    (SPEC_EXAMPLE + "[(resume saved 1) (resume saved 2) (continue saved 3)]", "[2 3 4]"),
    (SPEC_EXAMPLE + "(saved 42)", "43"),
    (SPEC_EXAMPLE + "result (resume saved 42) result", "10"),
    (SPEC_EXAMPLE + "(type-of saved)", "continuation"),
    # (resume k) resumes with nil
    ("(def k nil) (def r (list 1 (cloneable-shift [c] (set! k c) :captured))) [r (resume k)]", "[:captured (1 nil)]"),
    ("(def k nil) (def r (list 1 (cloneable-shift [c] (set! k c) :captured))) (continue k)", "(1 nil)"),
    ("(def k nil) (def r (cloneable-shift [c] (set! k c) :captured)) [r (resume k)]", "[:captured nil]"),
    # shift's body replaces the whole delimited computation
    ("(+ 1 (cloneable-reset (fn [] (* 2 (cloneable-shift [k] 5)))))", "6"),
    ("(cloneable-reset (fn [] 5))", "5"),
    ("(cloneable-reset (fn [] (+ 1 (cloneable-shift [k] :escaped))))", ":escaped"),
    # k callable as a function and through resume
    ("(cloneable-reset (fn [] (* 2 (cloneable-shift [k] (+ (k 1) (k 2))))))", "6"),
    ("(cloneable-reset (fn [] (* 2 (cloneable-shift [k] (+ (resume k 1) (resume k 2))))))", "6"),
    ("(cloneable-reset (fn [] (* 2 (cloneable-shift [k] (+ (continue k 1) (continue k 2))))))", "6"),
    ("(cloneable-reset (fn [] (cons 1 (cloneable-shift [k] (k (k '()))))))", "(1 1)"),
    ("(cloneable-reset (fn [] (+ 1 (cloneable-shift [k] (map k [1 2 3])))))", "(2 3 4)"),
    ("(cloneable-reset (fn [] [:a (cloneable-shift [k] (k :b)) :c]))", "[:a :b :c]"),
    # the captured continuation includes the rest of the body, not just the enclosing call
    ("(cloneable-reset (fn [] (def x (cloneable-shift [k] (k 10))) (* x 2)))", "20"),
    ("(cloneable-reset (fn [] (let [a 1 b (cloneable-shift [k] (k 10)) c 100] (+ a b c))))", "111"),
    ("(cloneable-reset (fn [] (if (cloneable-shift [k] (k #f)) :then :else)))", ":else"),
    # nested resets: shift captures up to the nearest one
    ("(cloneable-reset (fn [] (+ 1 (cloneable-reset (fn [] (* 2 (cloneable-shift [k] (k (k 3)))))))))", "13"),
    ("(cloneable-reset (fn [] (+ 1 (cloneable-reset (fn [] (* 2 (cloneable-shift [k] 100)))))))", "101"),
    ("(cloneable-reset (fn [] (+ 100 (cloneable-reset (fn [] (+ 10 (cloneable-shift [k] (k 1))))))))", "111"),
    (
        "(cloneable-reset (fn [] (+ 1000 (cloneable-shift [outer]"
        " (outer (cloneable-reset (fn [] (+ 10 (cloneable-shift [inner] (inner (inner 1)))))))))))",
        "1021",
    ),
    # resume runs k under a new delimiter: a shift inside it stops at resume
    (
        "(def k nil) (def r (+ 1 (cloneable-shift [c] (set! k c) 0) (cloneable-shift [c] 100)))"
        " [r (resume k 5)]",
        "[0 100]",
    ),
    (
        "(def k nil) (def r (+ 1 (cloneable-shift [c] (set! k c) 0) (cloneable-shift [c] (c 100))))"
        " [r (+ 1000 (resume k 5))]",
        "[0 1106]",
    ),
    # shift in a helper function called deep inside the reset
    (
        "(defn yield! [v] (cloneable-shift [k] [v k]))"
        " (defn f [] (+ 1 (yield! :first)))"
        " (let [r (cloneable-reset f)] [(first r) (resume (second r) 41)])",
        "[:first 42]",
    ),
    # through a class method's dispatch, a threading macro and a match
    (
        "(defclass C [a] (m [x : a]))"
        " (instance C int64 (m [x] (+ x (cloneable-shift [k] (set! saved k) :captured))))"
        " (def saved nil) (def r (* 2 (m 1)))"
        " [r (resume saved 10) (resume saved 20)]",
        "[:captured 22 42]",
    ),
    (
        "(def saved nil) (def r (-> 5 (+ (cloneable-shift [k] (set! saved k) :captured)) (* 2)))"
        " [r (resume saved 1) (resume saved 2)]",
        "[:captured 12 14]",
    ),
    (
        "(def saved nil) (struct point [x y])"
        " (def r (match (point 1 2) (point a b) -> (+ a (cloneable-shift [k] (set! saved k) :captured))))"
        " [r (resume saved 1) (resume saved 2)]",
        "[:captured 2 3]",
    ),
    # try/catch and finally inside k are part of it
    (
        "(def k nil)"
        " (def r (try (cloneable-shift [c] (set! k c) :captured) (throw :boom) (catch [e] [:caught e])))"
        " [r (resume k nil) (resume k nil)]",
        "[:captured [:caught :boom] [:caught :boom]]",
    ),
    (
        "(def k nil) (def log (ref []))"
        " (def r (try (swap! log conj (cloneable-shift [c] (set! k c) :captured))"
        "             (finally (swap! log conj :fin))))"
        " (resume k :a) (resume k :b) (deref log)",
        "[:a :fin :b :fin]",
    ),
    # errors
    ("(resume 5 1)", Err("type-error")),
    ("(resume nil)", Err("type-error")),
    ("(continue :k 1)", Err("type-error")),
    (SPEC_EXAMPLE + "(resume saved 1 2)", Err("arity-error")),
    pytest.param(
        "(resume)",
        Err("arity-error"),
    ),
    ("(cloneable-shift k 1)", Err("syntax-error")),
    ("(cloneable-shift [a b] 1)", Err("syntax-error")),
    ("(cloneable-reset 5)", Err("type-error")),
]

MULTI_SHOT = [
    # resuming the same k twice runs the rest twice, independently
    (SPEC_EXAMPLE + "[(resume saved 1) (resume saved 100)]", "[2 101]"),
    (
        "(def k nil) (def r (vector :a (cloneable-shift [c] (set! k c) :captured) :c))"
        " [(resume k 1) (resume k 2) r]",
        "[[:a 1 :c] [:a 2 :c] :captured]",
    ),
    # a vector being built when k was captured is not shared between the runs
    (
        "(def k nil)"
        " (def r (loop [i 0 acc []] (if (< i 4)"
        "   (recur (+ i 1) (conj acc (if (= i 2) (cloneable-shift [c] (set! k c) :captured) i)))"
        "   acc)))"
        " [r (resume k :x) (resume k :y) (resume k :z)]",
        "[:captured [0 1 :x 3] [0 1 :y 3] [0 1 :z 3]]",
    ),
    # variables bound before the capture are shared, bindings made after it are fresh
    (
        """(def saved nil)
           (def cell (ref 0))
           (defn run []
             (let [before 0]
               (let [got (cloneable-shift [k] (set! saved k) :first)]
                 (set! before (+ before 1))
                 (let [after (ref 0) x 0]
                   (ref-set! after (+ (deref after) 1))
                   (set! x (+ x 1))
                   (swap! cell inc)
                   [got before (deref after) x (deref cell)]))))
           (def first-run (run))
           [first-run (resume saved :a) (resume saved :b) (resume saved :c)]""",
        "[:first [:a 1 1 1 1] [:b 2 1 1 2] [:c 3 1 1 3]]",
    ),
    # a ref made before the capture is one location for every run
    (
        "(def k nil) (def counter (ref 0))"
        " (def r (do (cloneable-shift [c] (set! k c) :captured) (swap! counter inc)))"
        " [(resume k) (resume k) (resume k) (deref counter)]",
        "[1 2 3 3]",
    ),
    # a set! on a let variable bound before the capture is seen by later runs
    (
        "(def k nil)"
        " (defn run [] (let [n 10] (cloneable-shift [c] (set! k c) :captured) (set! n (+ n 1)) n))"
        " (run) [(resume k) (resume k) (resume k)]",
        "[11 12 13]",
    ),
    # ...and by a closure made before the capture
    (
        "(def k nil) (def peek nil)"
        " (defn run [] (let [n 0] (set! peek (fn [] n)) (cloneable-shift [c] (set! k c) :captured)"
        "   (set! n (+ n 5)) n))"
        " (run) (resume k) (resume k) (peek)",
        "10",
    ),
    # a let variable bound after the capture is fresh each run
    (
        "(def k nil)"
        " (defn run [] (cloneable-shift [c] (set! k c) :captured) (let [n 10] (set! n (+ n 1)) n))"
        " (run) [(resume k) (resume k) (resume k)]",
        "[11 11 11]",
    ),
    # a loop variable is a binding made after each capture: each run resumes from the same i
    (
        "(def k nil) (def log (ref []))"
        " (def r (loop [i 0] (when (< i 3)"
        "   (when (= i 1) (cloneable-shift [c] (set! k c) :captured))"
        "   (swap! log conj i) (recur (+ i 1)))))"
        " (resume k) (resume k) (deref log)",
        "[0 1 2 1 2]",
    ),
]

GENERATORS = [
    # a generator built from shift inside for-each
    (
        """(defn make-gen [coll]
             (cloneable-reset (fn [] (for-each (fn [x] (cloneable-shift [k] [x k])) coll) nil)))
           (defn gen->vec [coll]
             (loop [r (make-gen coll) acc []]
               (if (nil? r) acc (recur (resume (second r)) (conj acc (first r))))))
           [(gen->vec [1 2 3]) (gen->vec []) (gen->vec '(:a)) (gen->vec {:k 1})]""",
        "[[1 2 3] [] [:a] [[:k 1]]]",
    ),
    # a generator resumed with a value: the yield returns what the consumer sends
    (
        """(defn yield [v] (cloneable-shift [k] [v k]))
           (defn producer [] (let [a (yield 1) b (yield (+ a 1))] [:done a b]))
           (let [r1 (cloneable-reset producer)
                 r2 (resume (second r1) 10)
                 end (resume (second r2) 20)]
             [(first r1) (first r2) end])""",
        "[1 11 [:done 10 20]]",
    ),
    # the same generator position, resumed twice, gives two independent tails
    (
        """(defn yield [v] (cloneable-shift [k] [v k]))
           (def g (cloneable-reset (fn [] (for-each yield [1 2 3]) :end)))
           (def k1 (second g))
           (def a (resume k1))
           (def b (resume k1))
           [(first a) (first b) (first (resume (second a))) (first (resume (second b)))]""",
        "[2 2 3 3]",
    ),
    # early exit from for-each-with-index
    (
        """(defn find-index [pred coll]
             (cloneable-reset
               (fn [] (for-each-with-index coll (fn [i x] (when (pred x) (cloneable-shift [k] i)))) nil)))
           [(find-index even? [1 3 4 5 6]) (find-index even? [1 3]) (find-index even? [])]""",
        "[2 nil nil]",
    ),
    (
        """(def seen (ref []))
           (cloneable-reset
             (fn [] (for-each-with-index (fn [i x] (swap! seen conj x)
                                                   (when (= x :stop) (cloneable-shift [k] i)))
                                         [:a :stop :b :c])))
           (deref seen)""",
        "[:a :stop]",
    ),
]

SEED_TRY_WITH = [
    ("(try-with (fn [] (+ 1 (throw :need-a-number))) (fn [e k] (resume k 41)))", "42"),
    (
        """(defn ask [question] (throw [:ask question]))
           (try-with (fn [] (str "Hi " (ask :name)))
                     (fn [e k] (match e [:ask :name] -> (resume k "Ada"))))""",
        '"Hi Ada"',
    ),
    # the handler's k is multi-shot too
    (
        "(try-with (fn [] (* 10 (+ 1 (throw :x)))) (fn [e k] [(resume k 1) (resume k 2) (k 3)]))",
        "[20 30 40]",
    ),
    # a shift captured through try-with, resumed later, still has the try-with's handler
    (
        "(def k nil)"
        " (def r (try-with (fn [] (+ 1 (cloneable-shift [c] (set! k c) 0) (throw :x)))"
        "                  (fn [e kk] (resume kk 100))))"
        " [r (resume k 10)]",
        "[0 111]",
    ),
    # not resuming abandons the rest of the thunk
    ("(try-with (fn [] (+ 1 (throw :x))) (fn [e k] [:gave-up e]))", "[:gave-up :x]"),
    # built-in errors are throws too: resuming makes the failing call return the value
    ("(defn g [a b] a) (try-with (fn [] (+ 1 (g 1))) (fn [e k] (resume k 5)))", "6"),
    ("(try-with (fn [] (+ 1 (match 3 1 -> 1))) (fn [e k] (resume k 5)))", "6"),
    ("(try-with (fn [] (+ 1 (undefined-thing))) (fn [e k] (resume k 5)))", "6"),
]

# An error raised inside a primitive (`/`, `+` on a string, `nth` out of range) reaches
# try-with's handler with its k, but that k has no point to resume at: the primitive was
# compiled inline, not as a call (docs/decisions.md). Resuming it is a clear `error`.
RESUME_PRIMITIVE_ERRORS = [
    ("(try-with (fn [] (+ 1 (/ 1 0))) (fn [e k] (match e (error m) -> m)))", '"divide by zero"'),
    ("(try-with (fn [] (+ 1 (/ 1 0))) (fn [e k] (resume k 5)))", Err("error")),
    ('(try-with (fn [] (+ 1 (+ 1 "a"))) (fn [e k] (resume k 5)))', Err("error")),
    ("(defn f [x] (+ 1 (nth x 5))) (try-with (fn [] (f [1])) (fn [e k] (resume k 5)))", Err("error")),
]


@table(BASICS + MULTI_SHOT + GENERATORS + SEED_TRY_WITH + RESUME_PRIMITIVE_ERRORS)
def test_continuations(rt: Runtime, src: str, expected: str | Err) -> None:
    check(rt, src, expected)


# --------------------------------------------------------------------------- through higher-order functions

SHIFT = "(cloneable-shift [k] (set! saved k) :captured)"

#: (expression containing SHIFT inside a callback, first resume value, its result,
#:  second resume value, its result). Each k is resumed twice.
THROUGH_HOF = [
    ("map", "(map (fn [x] (if (= x 2) SHIFT (* x 10))) [1 2 3])", "5", "(10 5 30)", "7", "(10 7 30)"),
    ("map-2-colls", "(map (fn [a b] (if (= a 2) SHIFT (+ a b))) [1 2 3] [10 20 30])", "0", "(11 0 33)", "1", "(11 1 33)"),
    ("mapv", "(mapv (fn [x] (if (= x 2) SHIFT x)) [1 2 3])", ":a", "[1 :a 3]", ":b", "[1 :b 3]"),
    ("filter", "(filter (fn [x] (if (= x 2) SHIFT (odd? x))) [1 2 3 4])", "#t", "(1 2 3)", "#f", "(1 3)"),
    ("reduce-init", "(reduce (fn [acc x] (if (= x 2) (+ acc SHIFT) (+ acc x))) 0 [1 2 3])", "100", "104", "1000", "1004"),
    ("reduce", "(reduce (fn [acc x] (if (= x 2) (+ acc SHIFT) (+ acc x))) [1 2 3])", "100", "104", "1000", "1004"),
    (
        "for-each",
        "(let [log (ref [])] (for-each (fn [x] (swap! log conj (if (= x 2) SHIFT x))) [1 2 3]) (deref log))",
        ":a", "[1 :a 3]",
        # the log ref was made before the capture: the second run appends to it
        ":b", "[1 :a 3 :b 3]",
    ),
    (
        "for-each-coll-first",
        "(let [log (ref [])] (for-each [1 2 3] (fn [x] (swap! log conj (if (= x 2) SHIFT x)))) (deref log))",
        ":a", "[1 :a 3]", ":b", "[1 :a 3 :b 3]",
    ),
    (
        "for-each-with-index",
        "(let [log (ref [])] (for-each-with-index [:x :y :z] (fn [i x] (swap! log conj [i (if (= i 1) SHIFT x)]))) (deref log))",
        ":a", "[[0 :x] [1 :a] [2 :z]]",
        ":b", "[[0 :x] [1 :a] [2 :z] [1 :b] [2 :z]]",
    ),
    (
        "for-each-with-index-fn-first",
        "(let [n (ref 0)] (for-each-with-index (fn [i x] (swap! n + (if (= i 0) SHIFT x))) [1 2 3]) (deref n))",
        "10", "15", "100", "120",
    ),
    ("sort-by", "(sort-by (fn [x] (if (= x :b) SHIFT (get {:a 1 :c 3} x))) [:c :b :a])", "2", "(:a :b :c)", "10", "(:a :c :b)"),
    ("some", "(some (fn [x] (if (= x 2) SHIFT (when (= x 3) :three))) [1 2 3])", "nil", ":three", ":found", ":found"),
    ("every?", "(every? (fn [x] (if (= x 2) SHIFT (pos? x))) [1 2 3])", "#t", "#t", "#f", "#f"),
    ("apply", "(apply (fn [a b c] (+ a (* 10 SHIFT) c)) [1 2 3])", "1", "14", "2", "24"),
    ("apply-spread", "(apply (fn [& xs] (conj (vec xs) SHIFT)) 1 [2 3])", ":a", "[1 2 3 :a]", ":b", "[1 2 3 :b]"),
    ("partial", "((partial (fn [a b] (+ a b SHIFT)) 1) 2)", "10", "13", "20", "23"),
    ("comp", "((comp inc (fn [x] (* x SHIFT))) 5)", "2", "11", "3", "16"),
    ("map-indexed", "(map-indexed (fn [i x] (if (= i 1) SHIFT [i x])) [:a :b])", ":k", "([0 :a] :k)", ":j", "([0 :a] :j)"),
    ("nested map", "(map (fn [row] (map (fn [x] (if (= x 4) SHIFT x)) row)) [[1 2] [3 4] [5]])", "0", "((1 2) (3 0) (5))", "9", "((1 2) (3 9) (5))"),
]


@pytest.mark.parametrize(
    "expr,v1,r1,v2,r2",
    [pytest.param(*row[1:], id=row[0]) for row in THROUGH_HOF],
)
def test_shift_through_higher_order_function(
    rt: Runtime, expr: str, v1: str, r1: str, v2: str, r2: str
) -> None:
    src = (
        "(def saved nil)\n"
        f"(def r {expr.replace('SHIFT', SHIFT)})\n"
        f"[r (resume saved {v1}) (resume saved {v2})]"
    )
    check(rt, src, f"[:captured {r1} {r2}]")


@pytest.mark.parametrize(
    "expr,v1,r1,v2,r2",
    [pytest.param(*row[1:], id=row[0]) for row in THROUGH_HOF],
)
def test_shift_through_higher_order_function_in_reset(
    rt: Runtime, expr: str, v1: str, r1: str, v2: str, r2: str
) -> None:
    """The same, under an explicit reset inside a function, with k called as a function."""
    body = expr.replace("SHIFT", f"(cloneable-shift [k] [(k {v1}) (k {v2})])")
    src = f"(defn go [] (cloneable-reset (fn [] {body}))) (go)"
    check(rt, src, f"[{r1} {r2}]")
