"""The core library (SPEC 1.3), called from Turmeric: tables of (source, printed value or
error kind)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Err, check, evaluate, run

from tmweb.lang import Runtime


def table(rows: list[tuple[str, str | Err]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("src,expected", rows)


def bug(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"BUG: {reason}")


# --------------------------------------------------------------------------- numbers

ARITHMETIC = [
    ("(+)", "0"),
    ("(+ 1)", "1"),
    ("(+ 1 2 3)", "6"),
    ("(+ 1 2.5)", "3.5"),
    ("(- 5)", "-5"),
    ("(- 10 1 2)", "7"),
    ("(*)", "1"),
    ("(* 2 3 4)", "24"),
    ("(* 99999999999999999999 99999999999999999999)", "9999999999999999999800000000000000000001"),
    ("(+ 9223372036854775807 1)", "9223372036854775808"),
    ("(- -9223372036854775808 1)", "-9223372036854775809"),
    ("(/ 10 2)", "5"),
    ("(/ 7 2)", "3.5"),
    ("(/ 1 4)", "0.25"),
    ("(/ 6.0 4)", "1.5"),
    ("(/ 100000000000000000000000000002 2)", "50000000000000000000000000001"),
    ("(/ 60 2 3)", "10"),
    ("(quot 7 2)", "3"),
    ("(quot -7 2)", "-3"),
    ("(quot 100000000000000000000001 10)", "10000000000000000000000"),
    ("(mod -7 2)", "1"),
    ("(mod 7 -2)", "-1"),
    ("(mod 10 3)", "1"),
    ("(rem -7 2)", "-1"),
    ("(rem 7 -2)", "1"),
    ("(rem 10 3)", "1"),
    ("(let [x 1] (inc x))", "2"),
    ("(let [x 1] (dec x))", "0"),
    ("(inc 1.5)", "2.5"),
    ("(let [x 100000000000000000000000] (inc x))", "100000000000000000000001"),
    ("(max 1 5 3)", "5"),
    ("(max 1 2.5)", "2.5"),
    ("(min 1 5 3)", "1"),
    ("(min 3)", "3"),
    ("(abs -5)", "5"),
    ("(abs 5.5)", "5.5"),
    ("(abs -100000000000000000000000)", "100000000000000000000000"),
    pytest.param("(inc 1)", "2"),
    pytest.param("(dec 5)", "4"),
    pytest.param("(defn f [] (inc 41)) (f)", "42"),
    # errors
    ('(+ 1 "a")', Err("type-error")),
    ('(- "a")', Err("type-error")),
    ('(* 1.5 "2")', Err("type-error")),
    ("(+ 1 nil)", Err("type-error")),
    ("(/ 1 0)", Err("error", "divide by zero")),
    ("(/ 1.0 0)", Err("error", "divide by zero")),
    ("(quot 1 0)", Err("error", "divide by zero")),
    ("(mod 5 0)", Err("error", "divide by zero")),
    ("(rem 5 0)", Err("error", "divide by zero")),
    ('(let [x "a"] (inc x))', Err("type-error")),
    ("(max)", Err("arity-error")),
    ('(max 1 "a")', Err("type-error")),
    ('(abs "x")', Err("type-error")),
    ("(-)", Err("arity-error")),
]

COMPARISON = [
    ("[(= 1 1) (= 1 2) (= 1 1 1) (= 1 1 2) (= 1)]", "[#t #f #t #f #t]"),
    ("[(= 1 1.0) (= \"a\" \"a\") (= :a :a) (= 'a 'a) (= nil nil)]", "[#t #t #t #t #t]"),
    ("[(= [1 2] [1 2]) (= [1 2] '(1 2)) (= {:a 1} {:a 1}) (= {:a 1} {:a 2}) (= [1 [2]] [1 [2]])]", "[#t #t #t #f #t]"),
    ("[(= nil #f) (= 0 #f) (= 1 #t) (= \"1\" 1) (= :a \"a\") (= 'a :a)]", "[#f #f #f #f #f #f]"),
    ("[(not= 1 2) (not= 1 1) (not= 1 1 2)]", "[#t #f #t]"),
    ("[(< 1 2 3) (< 1 3 2) (< 1 2.5) (> 3 2 1) (> 1.5 1) (<= 1 1 2) (<= 2 1) (>= 2 2 1) (>= 1 2)]", "[#t #f #t #t #t #t #f #t #f]"),
    ("[(< 100000000000000000000 100000000000000000001) (> 1e300 100000000000000000000)]", "[#t #t]"),
    ('(< 1 "a")', Err("type-error")),
    ("(< 1 nil)", Err("type-error")),
    ('(> "b" "a")', Err("type-error")),
    ("[(not nil) (not #f) (not 0) (not \"\")]", "[#t #t #f #f]"),
    ("[(even? 2) (odd? 3) (pos? 1) (neg? -1) (zero? 0) (zero? 1)]", "[#t #t #t #t #t #f]"),
]

CONVERSION = [
    ('(int "42")', "42"),
    ('(int "-17")', "-17"),
    ('(int "123456789012345678901234567890")', "123456789012345678901234567890"),
    ("(int 3.9)", "3"),
    ("(int -3.9)", "-3"),
    ("(int 7)", "7"),
    ("(float 3)", "3.0"),
    ('(float "2.5")', "2.5"),
    ('(float "1e3")', "1000.0"),
    ('(int "abc")', Err("type-error")),
    ('(int "4.5")', Err("type-error")),
    ("(int nil)", Err("type-error")),
    ('(float "x")', Err("type-error")),
    ("(int [1])", Err("type-error")),
    ("[(str 1) (str 1.5) (str 100000000000000000000000) (str #t) (str #f) (str nil) (str :k) (str 'sym)]", '["1" "1.5" "100000000000000000000000" "#t" "#f" "" ":k" "sym"]'),
    ('(str "a" 1 :k nil \'sym [1 "x"])', '"a1:ksym[1 \\"x\\"]"'),
    ("(str)", '""'),
    ("[(str [1 \"a\"]) (str '(1 \"a\")) (str {:a \"b\"}) (str (Some \"x\"))]", '["[1 \\"a\\"]" "(1 \\"a\\")" "{:a \\"b\\"}" "(Some \\"x\\")"]'),
    ("(struct point [x y]) (str (point 1 2))", '"(point 1 2)"'),
]

# --------------------------------------------------------------------------- strings

STRINGS = [
    ('(format "%s-%d" "a" 5)', '"a-5"'),
    ('(format "%s and %s" "a" :k)', '"a and :k"'),
    ('(format "%s" [1 "a"])', '"[1 \\"a\\"]"'),
    ('(format "%d%%" 50)', '"50%"'),
    ('(format "%.2f" 3.14159)', '"3.14"'),
    ('(format "x")', '"x"'),
    ('(format "%s %s" "a")', Err("type-error")),
    ('(format "%d" "x")', Err("type-error")),
    ("(format 5)", Err("type-error")),
    ('(subs "hello" 1 3)', '"el"'),
    ('(subs "hello" 2)', '"llo"'),
    ('(subs "hello" 0 0)', '""'),
    ('(subs "h\u00e9llo" 1 2)', '"\u00e9"'),
    ('(subs #bytes "0102ff" 1)', '#bytes "02ff"'),
    ('(subs #bytes "0102ff" 0 1)', '#bytes "01"'),
    ('(subs "abc" 5)', Err("index-error")),
    ('(subs "abc" 2 1)', Err("index-error")),
    ('(subs "abc" -1)', Err("index-error")),
    ('(subs "abc" 1.5)', Err("type-error")),
    ("(subs 5 1)", Err("type-error")),
    ('(split "a,b,c" ",")', '["a" "b" "c"]'),
    ('(split "a,,b" ",")', '["a" "" "b"]'),
    ('(split "a b  c")', '["a" "b" "c"]'),
    ('(split "  lead  trail  ")', '["lead" "trail"]'),
    ('(split "a=1&b=2" "&")', '["a=1" "b=2"]'),
    ("(split 5 \",\")", Err("type-error")),
    ('(join ", " ["a" "b"])', '"a, b"'),
    ('(join ["a" "b"])', '"ab"'),
    ('(join "," [1 2 :k])', '"1,2,:k"'),
    ('(join "-" \'())', '""'),
    ('(join "-" (split "a b c" " "))', '"a-b-c"'),
    ('(upper "abc")', '"ABC"'),
    ('(lower "ABC")', '"abc"'),
    ('(upper "stra\u00dfe")', '"STRASSE"'),
    ('(trim "  x  ")', '"x"'),
    ('(trim "\\n\\t x \\n")', '"x"'),
    ("(upper 5)", Err("type-error")),
    ("(lower nil)", Err("type-error")),
    ("(trim nil)", Err("type-error")),
    ('[(count "h\u00e9llo") (count "") (first "abc") (rest "abc") (nth "abc" 1)]', '[5 0 "a" ("b" "c") "b"]'),
    ('[(string? "s") (string? :s) (keyword "k") (name :k) (symbol "s")]', '[#t #f :k "k" s]'),
]

# --------------------------------------------------------------------------- collections

COLLECTIONS = [
    ("[(list 1 2) (list) (vector 1 2) (vector) (hash-map :a 1 :b 2) (hash-map)]", "[(1 2) () [1 2] [] {:a 1, :b 2} {}]"),
    ("(vector 1 (list 2) {:a [3]})", "[1 (2) {:a [3]}]"),
    ("(hash-map :a)", Err("error")),
    ("[(get {:a 1} :a) (get {:a 1} :b) (get {:a 1} :b 0) (get [10 20] 1) (get [10 20] 5) (get nil :a)]", "[1 nil 0 20 nil nil]"),
    ("(get {\"k\" 1 2 :two [1] :v} \"k\")", "1"),
    ("[(get {2 :two} 2) (get {[1] :v} [1]) (get {nil :n} nil)]", "[:two :v :n]"),
    ("(get 5 :a)", Err("type-error")),
    ("[(assoc {:a 1} :b 2) (assoc {:a 1} :a 2) (assoc [1 2] 0 9) (assoc [1 2] 2 3) (assoc nil :a 1)]", "[{:a 1, :b 2} {:a 2} [9 2] [1 2 3] {:a 1}]"),
    ("(assoc {} :a 1 :b 2)", "{:a 1, :b 2}"),
    ("(assoc [1 2] 5 0)", Err("index-error")),
    ("(def m {:a 1}) (assoc m :b 2) m", "{:a 1}"),
    ("[(dissoc {:a 1 :b 2} :a) (dissoc {:a 1} :z) (dissoc {:a 1 :b 2 :c 3} :a :c)]", "[{:b 2} {:a 1} {:b 2}]"),
    ("(dissoc [1 2] 0)", Err("type-error")),
    ("[(conj [1 2] 3) (conj '(1 2) 0) (conj [1] 2 3) (conj '(1) 2 3) (conj {:a 1} [:b 2]) (conj nil 1)]", "[[1 2 3] (0 1 2) [1 2 3] (3 2 1) {:a 1, :b 2} (1)]"),
    ("(def v [1 2]) (def w (conj v 3)) (def u (conj v 4)) [v w u]", "[[1 2] [1 2 3] [1 2 4]]"),
    ("(conj 5 1)", Err("type-error")),
    ("[(cons 0 [1 2]) (cons 0 '(1)) (cons 0 nil) (list? (cons 0 [1]))]", "[(0 1 2) (0 1) (0) #t]"),
    ("(cons 1 2)", Err("type-error")),
    ("[(first [1 2]) (first '()) (first nil) (first {:a 1})]", "[1 nil nil [:a 1]]"),
    ("[(rest [1 2 3]) (rest []) (rest nil) (rest '(1))]", "[(2 3) () () ()]"),
    ("(first 5)", Err("type-error")),
    ("[(nth [1 2 3] 1) (nth '(1 2 3) 2) (nth [1] 5 :d)]", "[2 3 :d]"),
    ("(nth [1 2] 5)", Err("index-error")),
    ("(nth '(1 2) -1)", Err("index-error")),
    ('(nth [1 2] "a")', Err("type-error")),
    ("[(count [1 2]) (count '(1)) (count \"abc\") (count {:a 1}) (count nil) (count '())]", "[2 1 3 1 0 0]"),
    ("(count 5)", Err("type-error")),
    ("[(empty? []) (empty? [1]) (empty? \"\") (empty? {}) (empty? nil) (empty? '())]", "[#t #f #t #t #t #t]"),
    ("[(contains? {:a 1} :a) (contains? {:a 1} :b) (contains? {:a nil} :a) (contains? [1 2] 1) (contains? [1 2] 2) (contains? nil :a)]", "[#t #f #t #t #f #f]"),
    ("[(keys {:a 1 :b 2}) (vals {:a 1 :b 2}) (keys {}) (vals nil)]", "[(:a :b) (1 2) () ()]"),
    ("(keys [1 2])", Err("type-error")),
    ("[(range 5) (range 2 5) (range 0 10 3) (range 5 0 -2) (range 0) (range 3 1)]", "[(0 1 2 3 4) (2 3 4) (0 3 6 9) (5 3 1) () ()]"),
    ("(range 0 5 0)", Err("error")),
    ('(range "a")', Err("type-error")),
    ("[(concat [1 2] '(3) []) (concat) (concat nil [1])]", "[(1 2 3) () (1)]"),
    ("[(reverse [1 2 3]) (reverse '()) (reverse nil)]", "[(3 2 1) () ()]"),
    ("[(sort [3 1 2]) (sort [\"b\" \"a\" \"c\"]) (sort [3 1.5 2]) (sort [:b :a]) (sort '())]", '[(1 2 3) ("a" "b" "c") (1.5 2 3) (:a :b) ()]'),
    ("[(sort [[2 1] [1 2] [1 1]])]", "[([1 1] [1 2] [2 1])]"),
    ('(sort [1 "a"])', Err("type-error")),
    ("[(sort-by - [1 3 2]) (sort-by :age [{:age 3} {:age 1}]) (sort-by count [\"ccc\" \"a\" \"bb\"])]", '[(3 2 1) ({:age 1} {:age 3}) ("a" "bb" "ccc")]'),
    ("(sort-by first [[2 :b] [1 :a] [2 :a]])", "([1 :a] [2 :b] [2 :a])"),
    ("(sort-by identity [1 \"a\"])", Err("type-error")),
    # result types: map, filter, range, concat, reverse give lists; mapv, filterv vectors
    (
        "[(list? (map inc [1])) (list? (filter odd? [1])) (list? (range 2)) (list? (concat [1] [2]))"
        " (list? (reverse [1])) (vector? (mapv inc '(1))) (vector? (filterv odd? '(1 2 3)))]",
        "[#t #t #t #t #t #t #t]",
    ),
    # persistent: nothing changes the original
    ("(def v [1 2 3]) (assoc v 0 :x) (conj v 4) (reverse v) (sort [3 2 1]) v", "[1 2 3]"),
    ("(def m {:a 1}) (dissoc m :a) (assoc m :a 2) m", "{:a 1}"),
    ("[(identical? :a :a) (identical? [1] [1]) (let [v [1]] (identical? v v)) (= [1] [1])]", "[#t #f #t #t]"),
    pytest.param("(count {1 :a #t :b})", "2"),
    pytest.param("(get {1 :one} #t)", "nil"),
    pytest.param("(count (assoc {0 :zero} #f :false))", "2"),
    pytest.param("(contains? {0 :zero} #f)", "#f"),
]

# --------------------------------------------------------------------------- higher order

HIGHER_ORDER = [
    ("(map inc [1 2 3])", "(2 3 4)"),
    ("(map + [1 2] [10 20 30])", "(11 22)"),
    ("(map inc '())", "()"),
    ("(map inc nil)", "()"),
    ("(map first {:a 1 :b 2})", "(:a :b)"),
    ("(map (fn [x] [x x]) \"ab\")", '(["a" "a"] ["b" "b"])'),
    ("(mapv inc [1])", "[2]"),
    ("(filter odd? [1 2 3])", "(1 3)"),
    ("(filter (fn [x] x) [1 nil #f 2])", "(1 2)"),
    ("(filterv even? '(1 2))", "[2]"),
    ("(reduce + [1 2 3])", "6"),
    ("(reduce + 10 [1 2 3])", "16"),
    ("(reduce + [])", "0"),
    ("(reduce + [5])", "5"),
    ("(reduce conj [] '(1 2))", "[1 2]"),
    ("(reduce (fn [m x] (assoc m x (* x x))) {} [1 2])", "{1 1, 2 4}"),
    ("(reduce max [3 9 2])", "9"),
    ("[(some even? [1 3 4]) (some even? [1 3]) (some (fn [x] (when (> x 1) (* x 10))) [1 2 3]) (some even? nil)]", "[#t nil 20 nil]"),
    ("[(every? odd? [1 3]) (every? odd? [1 2]) (every? odd? []) (every? even? nil)]", "[#t #f #t #t]"),
    ("[(apply + [1 2 3]) (apply + 1 2 [3 4]) (apply list []) (apply max [1 5 2]) (apply str \"a\" [\"b\" \"c\"])]", '[6 10 () 5 "abc"]'),
    ("[(apply vector 1 2 '(3)) (apply (fn [] :none) []) (apply + nil)]", "[[1 2 3] :none 0]"),
    ("[((partial + 10) 5) ((partial str \"a\" \"b\") \"c\") ((partial +)) ((partial - 10) 1 2)]", '[15 "abc" 0 7]'),
    ("[((comp inc inc) 1) ((comp str inc) 1) ((comp) 5) ((comp first rest) [1 2 3]) ((comp (partial * 2) inc) 4)]", '[3 "2" 5 2 10]'),
    ("(def acc (ref [])) (for-each (fn [x] (swap! acc conj (* x x))) [1 2 3]) (deref acc)", "[1 4 9]"),
    ("(def acc (ref [])) (for-each [1 2 3] (fn [x] (swap! acc conj x))) (deref acc)", "[1 2 3]"),
    ("(for-each (fn [x] x) [1 2])", "nil"),
    ("(def acc (ref [])) (for-each-with-index [:a :b] (fn [i x] (swap! acc conj [i x]))) (deref acc)", "[[0 :a] [1 :b]]"),
    ("(def acc (ref [])) (for-each-with-index (fn [i x] (swap! acc conj [i x])) '(:a :b)) (deref acc)", "[[0 :a] [1 :b]]"),
    ("(map 5 [1 2])", Err("type-error")),
    ("(filter odd? 5)", Err("type-error")),
    ("(map inc 5)", Err("type-error")),
    ("(every? odd? 5)", Err("type-error")),
    ("(sort-by identity 5)", Err("type-error")),
    ("(reduce + 1 2 3)", Err("arity-error")),
    ("(apply + 1)", Err("type-error")),
    ("(apply)", Err("arity-error")),
    ("(partial)", Err("arity-error")),
    ("((comp 5) 1)", Err("type-error")),
    ("(map (fn [x y] x) [1 2])", Err("arity-error")),
    ("(for-each println 5)", Err("type-error")),
]

# --------------------------------------------------------------------------- refs

REFS = [
    ("(def r (ref 1)) (deref r)", "1"),
    ("(def r (ref 1)) [(ref-set! r 5) (deref r)]", "[5 5]"),
    ("(def r (ref 1)) [(swap! r + 10) (deref r) (swap! r inc) (deref r)]", "[11 11 12 12]"),
    ("(def r (ref {:n 0})) (swap! r update :n inc) (swap! r assoc :m 2) (deref r)", "{:n 1, :m 2}"),
    ("(def r (ref 0)) (dotimes [i 10] (swap! r + i)) (deref r)", "45"),
    ("(def r (ref 0)) (defn bump! [] (swap! r inc)) (bump!) (bump!) (deref r)", "2"),
    ("[(ref? (ref 1)) (= (ref 1) (ref 1)) (let [r (ref 1)] (identical? r r)) (type-of (ref 1))]", "[#t #f #t ref]"),
    ("(def r (ref [1])) (def v (deref r)) (swap! r conj 2) [v (deref r)]", "[[1] [1 2]]"),
    ("(deref 5)", Err("type-error")),
    ("(ref-set! 5 1)", Err("type-error")),
    ("(swap! 5 inc)", Err("type-error")),
    ("(ref)", Err("arity-error")),
]

MISC = [
    ("[(symbol? (gensym)) (= (gensym) (gensym)) (symbol? (gensym \"foo\"))]", "[#t #f #t]"),
    ("(starts-with? (name (gensym \"foo\")) \"foo\")", "#t"),
    ("[(pr-str \"a\" 1 :k) (pr-str [1 \"two\" :three]) (pr-str) (pr-str nil) (pr-str \"x\\ny\")]", '["\\"a\\" 1 :k" "[1 \\"two\\" :three]" "" "nil" "\\"x\\\\ny\\""]'),
    ("(struct point [x y]) (pr-str (point 1 \"a\"))", '"(point 1 \\"a\\")"'),
    ('(pr-str #t #f "s" #bytes "0aff")', '"#t #f \\"s\\" #bytes \\"0aff\\""'),
    ("[(getenv \"TURMERIC_SURELY_UNSET_VAR\") (getenv \"TURMERIC_SURELY_UNSET_VAR\" \"dflt\") (vector? (command-line-args))]", '[nil "dflt" #t]'),
]


@table(ARITHMETIC + COMPARISON + CONVERSION + STRINGS + COLLECTIONS + HIGHER_ORDER + REFS + MISC)
def test_core(rt: Runtime, src: str, expected: str | Err) -> None:
    check(rt, src, expected)


# --------------------------------------------------------------------------- printing

PRINTLN = [
    ('(println "text")', "text\n"),
    ("(println [1 \"two\" :three])", '[1 "two" :three]\n'),
    ("(println #t #f nil)", "#t #f nil\n"),
    ("(println true false)", "#t #f\n"),
    ("(println {:a 1})", "{:a 1}\n"),
    ("(println '(1 2))", "(1 2)\n"),
    ("(struct point [x y]) (println (point 1 2))", "(point 1 2)\n"),
    ("(struct point [x y]) (println (point \"a\" :b))", '(point "a" :b)\n'),
    ('(println "a" 1 "b")', "a 1 b\n"),
    ('(println "line1\\nline2")', "line1\nline2\n"),
    ("(println 1.5 100000000000000000000 :k 'sym)", "1.5 100000000000000000000 :k sym\n"),
    ("(println (Some \"x\") (None))", '(Some "x") (None)\n'),
    ('(println (error "m"))', '(error "m")\n'),
    ("(println)", "\n"),
    ('(print "a" "b") (print 1) (println)', "a b1\n"),
    ('(prn "a" [1 "b"])', '"a" [1 "b"]\n'),
    ('(prn "text")', '"text"\n'),
    ("(prn nil #t {:a \"x\"})", 'nil #t {:a "x"}\n'),
    ('(println "caf\u00e9 \u2603")', "caf\u00e9 \u2603\n"),
]


@pytest.mark.parametrize("src,out", PRINTLN)
def test_printing(rt: Runtime, capsys: pytest.CaptureFixture[str], src: str, out: str) -> None:
    assert run(rt, src) == "nil"
    assert capsys.readouterr().out == out




def test_println_inside_functions_and_loops(rt: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    evaluate(rt, '(defn show-all [xs] (for-each (fn [x] (println "item" x)) xs)) (show-all [1 "s" [2]])')
    assert capsys.readouterr().out == 'item 1\nitem s\nitem [2]\n'


# --------------------------------------------------------------------------- files


def test_files(rt: Runtime, tmp_path: Path) -> None:
    p = str(tmp_path / "x.txt").replace("\\", "/")
    b = str(tmp_path / "b.bin").replace("\\", "/")
    src = f"""
      (write-file "{p}" "line1\\nline2\\n")
      (write-file "{b}" #bytes "00ff10")
      (def h (open-file "{p}"))
      (def lines [(read-line h) (read-line h) (read-line h)])
      (close h)
      [(file-exists? "{p}") (file-exists? "{p}.nope") (read-text "{p}") (read-file "{b}")
       lines (= (file-handle-path h) "{p}") (type-of h)]
    """
    assert run(rt, src) == (
        '[#t #f "line1\\nline2\\n" #bytes "00ff10" ["line1" "line2" nil] #t FileHandle]'
    )
    assert (tmp_path / "x.txt").read_text() == "line1\nline2\n"


@pytest.mark.parametrize(
    "src,kind",
    [
        ('(read-text "/nonexistent/dir/x.txt")', "io-error"),
        ('(read-file "/nonexistent/dir/x.txt")', "io-error"),
        ('(open-file "/nonexistent/dir/x.txt")', "io-error"),
        ("(write-file \"/tmp/whatever.txt\" 5)", "type-error"),
        ("(read-line 5)", "type-error"),
    ],
)
def test_file_errors(rt: Runtime, src: str, kind: str) -> None:
    check(rt, src, Err(kind))
