"""Every form of SPEC 1.2, as tables of (Turmeric source, printed value or error kind)."""

from __future__ import annotations

import pytest
from conftest import Err, check, error_kind, evaluate, fresh_module, raises, run

from tmweb.lang import Pos, Runtime, TurmericError, pr_str


def table(rows: list[tuple[str, str | Err]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("src,expected", rows)


def bug(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"BUG: {reason}")


# --------------------------------------------------------------------------- def / defn / fn

DEF = [
    ("(def x 5) x", "5"),
    ("(def x 5)", "x"),
    ("(def x 5) (def x 6) x", "6"),
    ("(def x (+ 1 2)) (def y (* x 2)) y", "6"),
    ("(defn f [] later) (def later :ok) (f)", ":ok"),
    # def inside a body: a local visible to the rest of the body
    ("(defn f [] (def a 1) (def b (+ a 1)) [a b]) (f)", "[1 2]"),
    ("(defn f [] (def a 1) (def a (+ a 1)) a) (f)", "2"),
    ("(defn f [] (def a 1) (set! a 5) a) (f)", "5"),
    ("(let [x 1] (def y (+ x 1)) (* y 10))", "20"),
    ("(defn f [] (def a 1) a) (f) a", Err("unbound-symbol")),
    ("(defn f [] (def later (fn [] (use-me))) (def use-me (fn [] :ok)) (later)) (f)", ":ok"),
    # nested defn, and mutual recursion of nested defns
    ("(defn f [x] (defn helper [y] (* y 2)) (helper x)) (f 4)", "8"),
    (
        """(defn f [n]
             (defn ev? [n] (if (= n 0) #t (od? (- n 1))))
             (defn od? [n] (if (= n 0) #f (ev? (- n 1))))
             [(ev? n) (od? n)])
           [(f 10) (f 7) (f 10001)]""",
        "[[#t #f] [#f #t] [#f #t]]",
    ),
    # top-level mutual recursion
    (
        """(defn ev? [n] (if (= n 0) #t (od? (- n 1))))
           (defn od? [n] (if (= n 0) #f (ev? (- n 1))))
           [(ev? 10) (od? 10)]""",
        "[#t #f]",
    ),
    ("(def)", Err("syntax-error")),
    ("(def 1 2)", Err("syntax-error")),
]

DEFN = [
    ("(defn f [x] (* x 2)) (f 4)", "8"),
    ("(defn f [] 1 2 3) (f)", "3"),
    ("(defn f [])  (f)", "nil"),
    ('(defn f "doubles x" [x] (* x 2)) (f 4)', "8"),
    ('(defn f [x] "not a docstring: the result") (f 1)', '"not a docstring: the result"'),
    ("(defn f [x : int64] : int64 (* x 2)) (f 4)", "8"),
    ('(defn f "doc" [x : int64 y : string] : string (str x y)) (f 1 "a")', '"1a"'),
    ("(defn f [x : a] : bytes x) (f 7)", "7"),
    ("(defn f [x] x) (f)", Err("arity-error")),
    ("(defn f [x] x) (f 1 2)", Err("arity-error")),
    ("(defn f x) (f)", Err("syntax-error")),
    ("(defn [x] x)", Err("syntax-error")),
]

FN = [
    ("((fn [x] (* x x)) 7)", "49"),
    ("((fn [] :none))", ":none"),
    ("(def sq (fn [x] (* x x))) (sq 7)", "49"),
    ("((fn fact [n] (if (= n 0) 1 (* n (fact (- n 1))))) 10)", "3628800"),
    ("((fn [a & rest] [a rest]) 1 2 3)", "[1 (2 3)]"),
    ("((fn [a & rest] rest) 1)", "()"),
    ("((fn [& xs] (count xs)))", "0"),
    ("((fn [& xs] xs) 1 2)", "(1 2)"),
    ("(defn f [a & more] (apply + a more)) (f 1 2 3 4)", "10"),
    ("((fn [x : int64] : int64 (* x 3)) 3)", "9"),
    ("((fn [a b & c] a) 1)", Err("arity-error")),
    ("(((fn [x] (fn [y] (+ x y))) 10) 5)", "15"),
    ("(defn adder [n] (fn [x] (+ x n))) (map (adder 10) [1 2])", "(11 12)"),
]

LET = [
    ("(let [a 1 b 2] (+ a b))", "3"),
    ("(let [a 1 b (+ a 1) c (* b 10)] [a b c])", "[1 2 20]"),
    ("(let [a 1] (let [a (+ a 1)] a))", "2"),
    ("(let [a 1] (let [a 5] a) a)", "1"),
    ("(let [x : int64 1 y : string \"s\"] [x y])", '[1 "s"]'),
    ("(let [] 4)", "4"),
    ("(let [a] a)", Err("syntax-error")),
    ("(let [a 1] b)", Err("unbound-symbol")),
]

CONDITIONALS = [
    ("[(if #t 1 2) (if #f 1 2) (if nil 1 2) (if #f 1)]", "[1 2 2 nil]"),
    ('[(if 0 1 2) (if "" 1 2) (if [] 1 2) (if \'() 1 2)]', "[1 1 1 1]"),
    ("[(when #t 1 2) (when #f 1) (when nil 1)]", "[2 nil nil]"),
    ("[(unless #f 1 3) (unless #t 3)]", "[3 nil]"),
    ("(defn c [n] (cond (< n 0) :neg (= n 0) :zero :else :pos)) [(c -1) (c 0) (c 5)]", "[:neg :zero :pos]"),
    ("(cond #f 1)", "nil"),
    ("(cond)", "nil"),
    ("(cond #f 1 nil 2 :else 3)", "3"),
    ("(cond 1)", Err("syntax-error")),
    ("[(and) (and 1 2) (and 1 nil 2) (and 1 #f) (and #f (/ 1 0))]", "[#t 2 nil #f #f]"),
    ("[(or) (or nil #f) (or nil 3) (or 1 (/ 1 0)) (or #f nil)]", "[nil #f 3 1 nil]"),
    ("(do 1 2 3)", "3"),
    ("(do)", "nil"),
    ("(def log (ref [])) (do (swap! log conj 1) (swap! log conj 2)) (deref log)", "[1 2]"),
    # #t/#f and true/false are the same values
    ("[#t #f true false (= #t true) (= #f false)]", "[#t #f #t #f #t #t]"),
    ("(if false 1 2)", "2"),
    # #_ discards a form anywhere
    ("[1 #_2 3 #_(undefined-fn 1) 4]", "[1 3 4]"),
    ("(+ 1 #_(/ 1 0) 2)", "3"),
    ("#_(boom) 5", "5"),
]

SET = [
    ("(let [x 1] (set! x 2) x)", "2"),
    ("(let [x 1] (when #t (set! x 2)) x)", "2"),
    ("(defn f [a] (set! a (* a 10)) a) (f 4)", "40"),
    (
        """(defn counter [] (let [n 0] (fn [] (set! n (+ n 1)) n)))
           (def c (counter))
           (c) (c)
           [(c) ((counter))]""",
        "[3 1]",
    ),
    ("(let [x 1 f (fn [] x)] (set! x 2) (f))", "2"),
    ("(def g 1) (defn bump [] (set! g (+ g 10))) (bump) (bump) g", "21"),
    ("(def g 1) (set! g 2) g", "2"),
    ("(def x 1) (defn f [] (let [x 2] (set! x 3) x)) [(f) x]", "[3 1]"),
    ("(set! + 1)", Err("syntax-error")),
    ("(set! 1 2)", Err("syntax-error")),
]

QUOTE = [
    ("'x", "x"),
    ("(quote x)", "x"),
    ("'(1 2 (3))", "(1 2 (3))"),
    ("'(undefined-fn 1)", "(undefined-fn 1)"),
    ("['nil ':k '[a b] '{:a b} '\"s\"]", '[nil :k [a b] {:a b} "s"]'),
    ("(let [b 2 cs [3 4]] `(a ~b ~@cs e))", "(a 2 3 4 e)"),
    ("(let [b 2 cs '(3 4)] `[a ~b ~@cs])", "[a 2 3 4]"),
    ("`{:a ~(+ 1 2)}", "{:a 3}"),
    ("`(1 ~@[] 2)", "(1 2)"),
    ("`x", "x"),
    ("`(a (b ~(+ 1 1)))", "(a (b 2))"),
    ("(= `(1 2) '(1 2))", "#t"),
    ("`~@[1]", Err("syntax-error")),
    pytest.param(
        "`(1 `(2 ~(3 ~(+ 1 3))))",
        "(1 (quasiquote (2 (unquote (3 4)))))",
    ),
]

MACROS = [
    ("(defmacro swap-args [f a b] `(~f ~b ~a)) (swap-args - 1 10)", "9"),
    ("(defmacro unless2 [c & body] `(if ~c nil (do ~@body))) (unless2 #f 1 2 3)", "3"),
    ('(defmacro m "doc" [x] `(+ ~x 1)) (m 1)', "2"),
    ("(defmacro m [x] (list '+ x 1)) (m 41)", "42"),
    ("(defmacro m [] (list 'quote (+ 1 2))) (m)", "3"),
    # gensym keeps macro temporaries apart from user names
    (
        "(defmacro my-or [a b] (let [t (gensym)] `(let [~t ~a] (if ~t ~t ~b)))) (let [t 5] (my-or nil t))",
        "5",
    ),
    (
        "(defmacro my-or [a b] `(let [t# ~a] (if t# t# ~b))) (let [t 5] [(my-or nil t) (my-or 7 t)])",
        "[5 7]",
    ),
    ("(defmacro m [e] `(let [t# 1] (+ t# ~e))) (let [t 100] (m t))", "101"),
    ("(defmacro m [] `(= 't# 't#)) (m)", "#t"),
    ("(defmacro m [] `(let [t# 5] (* t# 2))) (m)", "10"),
    # as in Clojure, x# is renamed once, where the quasiquote is read
    ("(defmacro m [] `'t#) (= (m) (m))", "#t"),
    # unhygienic, Clojure style: a macro may capture on purpose
    ("(defmacro with-it [x & body] `(let [~'it ~x] ~@body)) (with-it 5 (* it 2))", "10"),
    # a macro used before its defmacro in the same text
    ("(defn use-it [] (twice 21)) (defmacro twice [x] `(* 2 ~x)) (use-it)", "42"),
    ("(def v (twice 21)) (defmacro twice [x] `(* 2 ~x)) v", "42"),
    # macros calling functions and other macros
    (
        "(defmacro m1 [x] `(* ~x 10)) (defmacro m2 [x] `(+ 1 (m1 ~x))) (m2 4)",
        "41",
    ),
    ("[(symbol? (gensym)) (= (gensym) (gensym)) (symbol? (gensym \"tmp\"))]", "[#t #f #t]"),
    ("(defmacro bad [x] (+ x 1)) (bad \"a\")", Err("type-error")),
    # set! produced by a macro, on a local, a parameter and a global
    ("(defmacro inc! [x] (list 'set! x (list '+ x 1))) (let [n 0] (inc! n) (inc! n) n)", "2"),
    ("(defmacro setit [x v] `(set! ~x ~v)) (defn f [a] (setit a 2) a) (f 1)", "2"),
    (
        "(defmacro inc! [x] `(set! ~x (+ ~x 1)))"
        " (defn counter [] (let [n 0] (fn [] (inc! n) n)))"
        " (def c (counter)) (c) (c)",
        "2",
    ),
    ("(defmacro setit [x v] `(set! ~x ~v)) (def g 1) (setit g 2) g", "2"),
]

LOOP = [
    ("(loop [i 0 acc []] (if (< i 5) (recur (+ i 1) (conj acc i)) acc))", "[0 1 2 3 4]"),
    ("(defn sum [n] (loop [i n acc 0] (if (= i 0) acc (recur (- i 1) (+ acc i))))) (sum 100)", "5050"),
    ("(defn f [n acc] (if (= n 0) acc (recur (- n 1) (+ acc 1)))) (f 10 0)", "10"),
    ("(loop [x 5] x)", "5"),
    ("(loop [a 1 b (+ a 1)] [a b])", "[1 2]"),
    ("(loop [i 0] (when (< i 3) (recur (+ i 1))))", "nil"),
    ("(loop [i 0] (cond (= i 3) :done :else (recur (+ i 1))))", ":done"),
    ("(loop [i 0] (if (< i 3) (recur (+ i 1) 5) i))", Err("syntax-error")),
    ("(recur 1)", Err("syntax-error")),
    ("(loop [i 0] (+ 1 (recur i)))", Err("syntax-error")),
]

STRUCT = [
    ("(struct point [x : int64 y : int64])", "point"),
    ("(struct point [x : int64 y : int64]) (point 1 2)", "(point 1 2)"),
    ("(struct point [x y]) [(point? (point 1 2)) (point? 1) (point? {:x 1 :y 2})]", "[#t #f #f]"),
    ("(struct point [x y]) (def p (point 3 4)) [p.x p.y (get p :x) (get p :y) (:x p)]", "[3 4 3 4 3]"),
    ("(struct point [x y]) (defn norm1 [p] (+ p.x p.y)) (norm1 (point 3 4))", "7"),
    ("(struct point [x y]) (let [q (point 3 4)] q.y)", "4"),
    ("(struct point [x y]) (struct seg [a b]) (def s (seg (point 1 2) (point 3 4))) [s.a.y s.b.x]", "[2 3]"),
    ("(struct point [x y]) [(= (point 1 2) (point 1 2)) (= (point 1 2) (point 2 1))]", "[#t #f]"),
    ("(struct point [x y]) (type-of (point 1 2))", "point"),
    ("(struct unit []) [(unit) (unit? (unit))]", "[(unit) #t]"),
    ("(struct point [x y]) (point 1)", Err("arity-error")),
    ("(struct point [x y]) (point 1 2 3)", Err("arity-error")),
    ("(struct point [x y]) (let [q (point 3 4)] q.z)", Err("type-error")),
    ("(struct point x)", Err("syntax-error")),
    # dotted field access on maps
    ("(def order {:payment-info {:card \"visa\"} :id 7}) [order.payment-info order.id]", '[{:card "visa"} 7]'),
    ("(def order {:payment-info {:card \"visa\"}}) order.payment-info.card", '"visa"'),
    ("(defn f [order] order.payment-info.card) (f {:payment-info {:card \"amex\"}})", '"amex"'),
    ("(let [m {:a {:b {:c 1}}}] m.a.b.c)", "1"),
    ("(let [m {:a 1}] m.missing)", "nil"),
]

MATCH_SPEC = (
    "(struct point [x y])"
    " (defn m [e] (match e (point x _) -> (+ x 1) [a b] -> a 42 -> :answer _ -> nil))"
)

MATCH = [
    (MATCH_SPEC + " [(m (point 1 2)) (m [7 8]) (m 42) (m \"other\") (m [1 2 3])]", "[2 7 :answer nil nil]"),
    ("(match 5 _ -> :any)", ":any"),
    ("(match 5 x -> (* x 2))", "10"),
    ('(match "hi" "hi" -> :yes _ -> :no)', ":yes"),
    ('(match "ho" "hi" -> :yes _ -> :no)', ":no"),
    ("(match :k :j -> 1 :k -> 2)", "2"),
    ("(match nil nil -> :nil _ -> :other)", ":nil"),
    ("(match #f #f -> :false _ -> :other)", ":false"),
    ("(match 2.5 2.5 -> :f _ -> :other)", ":f"),
    ("(match 'sym 'sym -> :quoted _ -> :no)", ":quoted"),
    ("(struct point [x y]) (match (point 1 2) (point a b) -> [b a])", "[2 1]"),
    ("(struct point [x y]) (match (point 1 2) (point 1 b) -> b _ -> :no)", "2"),
    ("(struct point [x y]) (match (point 5 2) (point 1 b) -> b _ -> :no)", ":no"),
    ("(struct point [x y]) (match 3 (point x y) -> x _ -> :not-a-point)", ":not-a-point"),
    ("(struct point [x y]) (match {:x 1 :y 2} (point x y) -> x _ -> :not-a-point)", ":not-a-point"),
    (
        "(struct point [x y]) (struct seg [a b])"
        " (match (seg (point 1 2) (point 3 4)) (seg (point a b) (point c d)) -> [a b c d])",
        "[1 2 3 4]",
    ),
    (
        "(struct point [x y]) (struct seg [a b])"
        " (match (seg (point 1 2) (point 3 4)) (seg (point 9 b) _) -> :nine (seg (point 1 b) _) -> b)",
        "2",
    ),
    ("(match [1 2 3 4] [a b & rest] -> [a b rest])", "[1 2 (3 4)]"),
    ("(match [1] [a & rest] -> rest)", "()"),
    ("(match [] [a & rest] -> :no [] -> :empty)", ":empty"),
    ("(match [1 2] [a] -> :one [a b] -> :two)", ":two"),
    ("(match '(1 2) [a b] -> (+ a b))", "3"),
    ("(match [1 [2 3]] [a [b c]] -> (+ a b c))", "6"),
    ("(match [1 2 3] [h & t] -> (list? t))", "#t"),
    ("(match [:add 1 2] [:add a b] -> (+ a b) [:neg a] -> (- a))", "3"),
    ("(match [:neg 4] [:add a b] -> (+ a b) [:neg a] -> (- a))", "-4"),
    ("(match (Some 5) (Some x) -> x (None) -> 0)", "5"),
    ("(match (None) (Some x) -> x (None) -> 0)", "0"),
    ("(match (type-error \"m\") (type-error msg) -> msg)", '"m"'),
    ("(match 3 1 -> :one 2 -> :two)", Err("match-error")),
    ("(struct point [x y]) (match 3 (point x y) -> x)", Err("match-error")),
    ("(match [1 2 3] [a b] -> a)", Err("match-error")),
    ("(try (match 3 1 -> :one) (catch [e] (match e (match-error v) -> [:no-match v])))", "[:no-match 3]"),
    ("(match 1 1 :one)", Err("syntax-error")),
]

TRY = [
    ("(try 5)", "5"),
    ("(try (throw :a) (catch [e] [:caught e]))", "[:caught :a]"),
    ("(try (+ 1 2) (catch [e] :no))", "3"),
    ("(try (throw 42) (catch [e] (+ e 1)))", "43"),
    ("(try (throw nil) (catch [e] [:got e]))", "[:got nil]"),
    ("(try (throw {:code 404}) (catch [e] e.code))", "404"),
    ("(try (throw [1 2]) (catch [e] (count e)))", "2"),
    ("(try (throw (Some 1)) (catch [e] e))", "(Some 1)"),
    ("(struct oops [why]) (try (throw (oops :bad)) (catch [e] e.why))", ":bad"),
    ("(try (try (throw :a) (catch [e] (throw [:wrapped e]))) (catch [e] e))", "[:wrapped :a]"),
    ("(defn f [] (throw :deep)) (defn g [] (+ 1 (f))) (try (g) (catch [e] e))", ":deep"),
    ("(try (+ 1 \"a\") (catch [e] (match e (type-error m) -> :te _ -> :other)))", ":te"),
    ("(try (undefined-thing) (catch [e] (match e (unbound-symbol n) -> n)))", '"undefined-thing"'),
    ("(try ((fn [a] a)) (catch [e] (match e (arity-error n m) -> :arity)))", ":arity"),
    ("(try (throw :x) (catch [e : keyword] e))", ":x"),
    ("(throw (error \"boom\"))", Err("error")),
    ("(try 1 (catch e 2))", Err("syntax-error")),
    ("(try (catch [e] 2) 1)", Err("syntax-error")),
    # (error "msg") makes an error struct with field `message`
    ('(error "msg")', '(error "msg")'),
    ('(def e (error "msg")) [e.message (get e :message)]', '["msg" "msg"]'),
    ('(try (throw (error "boom")) (catch [e] e.message))', '"boom"'),
    ('(try (throw (error "boom")) (catch [e] (match e (error m) -> m)))', '"boom"'),
    ("(try (+ 1 \"a\") (catch [e] (string? e.message)))", "#t"),
]

FINALLY = [
    # order of effects, recorded in a ref
    (
        """(def log (ref []))
           (def r (try (swap! log conj :body) 1
                       (catch [e] (swap! log conj :catch) 2)
                       (finally (swap! log conj :finally))))
           [r (deref log)]""",
        "[1 [:body :finally]]",
    ),
    (
        """(def log (ref []))
           (def r (try (swap! log conj :body) (throw :oops) (swap! log conj :not-here)
                       (catch [e] (swap! log conj [:catch e]) 2)
                       (finally (swap! log conj :finally))))
           [r (deref log)]""",
        "[2 [:body [:catch :oops] :finally]]",
    ),
    (
        """(def log (ref []))
           (def r (try (try (swap! log conj :body) (throw :inner)
                            (finally (swap! log conj :fin)))
                       (catch [e] [e (deref log)])))
           r""",
        "[:inner [:body :fin]]",
    ),
    (
        """(def log (ref []))
           (try (try 1 (catch [e] 2) (finally (swap! log conj :f)))
                (finally (swap! log conj :g)))
           (deref log)""",
        "[:f :g]",
    ),
    ("(def log (ref [])) (try 7 (finally (swap! log conj :f) :ignored))", "7"),
    (
        """(def log (ref []))
           (try (try (throw :x) (catch [e] (throw :y)) (finally (swap! log conj :f)))
                (catch [e] [e (deref log)]))""",
        "[:y [:f]]",
    ),
]

TRY_WITH = [
    ("(try-with (fn [] 7) (fn [e k] :never))", "7"),
    ("(try-with (fn [] (+ 1 (throw :need-value))) (fn [e k] (resume k 41)))", "42"),
    ("(try-with (fn [] (* 10 (+ 1 (throw :x)))) (fn [e k] (+ 1000 (resume k 4))))", "1050"),
    ("(try-with (fn [] (+ 1 (throw :x))) (fn [e k] (continue k 1)))", "2"),
    ("(try-with (fn [] (list 1 (throw :x))) (fn [e k] (resume k)))", "(1 nil)"),
    ("(try-with (fn [] (+ 1 (throw :x))) (fn [e k] [(resume k 1) (resume k 10)]))", "[2 11]"),
    (
        "(defn need [what] (throw [:need what]))"
        " (try-with (fn [] (str \"Hello, \" (need :name) \"!\"))"
        "           (fn [e k] (match e [:need :name] -> (resume k \"World\"))))",
        '"Hello, World!"',
    ),
    # a handler that does not resume abandons the rest of the thunk
    ("(try-with (fn [] (+ 1 (throw :x))) (fn [e k] [:handled e]))", "[:handled :x]"),
    (
        """(def log (ref []))
           (def r (try-with (fn [] (swap! log conj :before) (throw :x) (swap! log conj :after) :done)
                            (fn [e k] :abandoned)))
           [r (deref log)]""",
        "[:abandoned [:before]]",
    ),
    ("(try-with (fn [] (+ 1 \"a\")) (fn [e k] (match e (type-error m) -> :te)))", ":te"),
    ("(try (try-with (fn [] (throw :x)) (fn [e k] (throw [:re e]))) (catch [e] e))", "[:re :x]"),
    ("(try-with (fn [] (map (fn [x] (if (nil? x) (throw :missing) x)) [1 nil 3])) (fn [e k] (resume k 0)))", "(1 0 3)"),
]

CLASSES = [
    (
        """(defclass Show [a] (show [x : a] : string))
           (struct point [x : int64 y : int64])
           (instance Show point (show [p] (str "P" p.x)))
           (show (point 1 2))""",
        '"P1"',
    ),
    (
        """(defclass Show [a] (show [x : a] : string))
           (struct point [x y])
           (instance Show point (show [p] (str "P" p.x)))
           (instance Show int64 (show [n] (str "I" n)))
           (instance Show string (show [s] (str "S" s)))
           [(show (point 1 2)) (show 5) (show "x") (show 100000000000000000000000)]""",
        '["P1" "I5" "Sx" "I100000000000000000000000"]',
    ),
    (
        """(defclass Area [a] (area [s : a] : float64) (label [s : a] : string))
           (struct sq [side]) (struct rect [w h])
           (instance Area sq (area [s] (* s.side s.side)) (label [s] "square"))
           (instance Area rect (area [r] (* r.w r.h)) (label [r] "rect"))
           (map (fn [s] [(label s) (area s)]) [(sq 2) (rect 2 3)])""",
        '(["square" 4] ["rect" 6])',
    ),
    (
        """(defclass Cmp [a] (cmp [x : a y : a] : int64))
           (instance Cmp int64 (cmp [x y] (- x y)))
           (cmp 5 3)""",
        "2",
    ),
    (
        """(defclass Show [a] (show [x : a] : string))
           (instance Show int64 (show [n] (str "I" n)))
           (map show [1 2])""",
        '("I1" "I2")',
    ),
    (
        """(defclass Show [a] (show [x : a] : string))
           (instance Show float64 (show [v] "float")) (instance Show bool (show [v] "bool"))
           (instance Show bytes (show [v] "bytes")) (instance Show fn (show [v] "fn"))
           [(show 1.5) (show #t) (show #bytes "00") (show inc) (show (fn [] 1))]""",
        '["float" "bool" "bytes" "fn" "fn"]',
    ),
    (
        """(defclass Show [a] (show [x : a] : string))
           (instance Show Some (show [o] "some")) (instance Show None (show [o] "none"))
           [(show (Some 1)) (show (None))]""",
        '["some" "none"]',
    ),
    (
        """(struct Pair [a b])
           (instance Serializable (Pair a b) [Serializable a, Serializable b]
             (serialize [x] [x.a x.b])
             (deserialize [r] (Pair (first r) (second r))))
           :accepted""",
        ":accepted",
    ),
    # no instance for the type: type-error
    (
        """(defclass Show [a] (show [x : a] : string))
           (instance Show string (show [v] "s"))
           (show 1)""",
        Err("type-error"),
    ),
    (
        """(defclass Show [a] (show [x : a] : string))
           (struct point [x y])
           (show (point 1 2))""",
        Err("type-error"),
    ),
    ("(defclass Show [a] (show [x : a] : string)) (show 1.5)", Err("type-error")),
]


def _instance_on(type_name: str, value: str) -> str:
    return (
        "(defclass Show [a] (show [x : a] : string))"
        f" (instance Show {type_name} (show [v] \"{type_name}\"))"
        f" (show {value})"
    )


BUILTIN_TYPE_INSTANCES = [
    ("int64", "1", None),
    ("float64", "1.5", None),
    ("string", '"s"', None),
    ("bool", "#f", None),
    ("bytes", '#bytes "00"', None),
    ("fn", "inc", None),
    ("nil", "nil", "nil"),
    ("keyword", ":k", "keyword"),
    ("symbol", "'s", "symbol"),
    ("list", "'(1)", "list"),
    ("vector", "[1]", "vector"),
    ("map", "{:a 1}", "map"),
    ("ref", "(ref 1)", "ref"),
]


@pytest.mark.parametrize(
    "type_name,value",
    [
        pytest.param(t, v)
        for t, v, _shadow in BUILTIN_TYPE_INSTANCES
    ],
)
def test_instance_on_builtin_types(rt: Runtime, type_name: str, value: str) -> None:
    assert run(rt, _instance_on(type_name, value)) == f'"{type_name}"'


OPTIONS = [
    ("[(Some 1) (None)]", "[(Some 1) (None)]"),
    ("[(some? (Some 1)) (some? (None)) (none? (None)) (none? (Some 1))]", "[#t #f #t #f]"),
    ("[(some? nil) (none? 5)]", "[#f #f]"),
    ("[(= (Some 1) (Some 1)) (= (None) (None)) (= (Some 1) (Some 2)) (= (Some nil) (None))]", "[#t #t #f #f]"),
    ("(def x (Some 4)) x.value", "4"),
    ("(match (Some 3) (Some x) -> x (None) -> 0)", "3"),
    ("(match (None) (Some x) -> x (None) -> 0)", "0"),
    (
        "(defn f [x] (match x (Some (Some y)) -> y (Some _) -> :one (None) -> :none))"
        " [(f (Some (Some 1))) (f (Some 2)) (f (None))]",
        "[1 :one :none]",
    ),
    ("[(type-of (Some 1)) (type-of (None))]", "[Some None]"),
    ("(Some)", Err("arity-error")),
    ("(None 1)", Err("arity-error")),
]

CALLS = [
    ("(1 2)", Err("type-error")),
    ('("s" 1)', Err("type-error")),
    ("(nil)", Err("type-error")),
    ("(#t 1)", Err("type-error")),
    ("(def x 5) (x)", Err("type-error")),
    ("(undefined-fn 1)", Err("unbound-symbol")),
    ("undefined-var", Err("unbound-symbol")),
    ("(defn g [a b] a) (g 1)", Err("arity-error", "g")),
    ("(defn g [a b] a) (g 1 2 3)", Err("arity-error", "g")),
    ("((fn named [x] x))", Err("arity-error", "named")),
    ("(inc)", Err("arity-error", "inc")),
    ("(struct point [x y]) (point 1)", Err("arity-error", "point")),
    # keywords, maps and vectors are callable
    ("[(:a {:a 1}) (:b {:a 1} 0) ({:a 1} :a) ([10 20] 1)]", "[1 0 1 20]"),
    ("([10 20] 5)", Err("index-error")),
]

TYPE_OF = [
    (
        "[(type-of 1) (type-of 100000000000000000000000) (type-of 1.5) (type-of \"s\") (type-of #t)"
        " (type-of nil) (type-of :k) (type-of 's) (type-of #bytes \"00\") (type-of '(1))"
        " (type-of [1]) (type-of {}) (type-of inc) (type-of (fn [] 1)) (type-of (ref 1))]",
        "[int64 int64 float64 string bool nil keyword symbol bytes list vector map fn fn ref]",
    ),
    ("(symbol? (type-of 1))", "#t"),
    ("(def k nil) (def r (+ 1 (cloneable-shift [c] (set! k c) 0))) (type-of k)", "continuation"),
]

ALL_TABLES = (
    DEF + DEFN + FN + LET + CONDITIONALS + SET + QUOTE + MACROS + LOOP + STRUCT + MATCH + TRY
    + FINALLY + TRY_WITH + CLASSES + OPTIONS + CALLS + TYPE_OF
)


@table(ALL_TABLES)
def test_forms(rt: Runtime, src: str, expected: str | Err) -> None:
    check(rt, src, expected)


# --------------------------------------------------------------------------- non-struct throws


@pytest.mark.parametrize(
    "src,value",
    [
        ("(throw :up)", ":up"),
        ("(throw 42)", "42"),
        ('(throw [1 "a"])', '[1 "a"]'),
        ("(try (throw :a) (catch [e] (throw [:wrapped e])))", "[:wrapped :a]"),
        ("(try (throw :x) (finally 1))", ":x"),
    ],
)
def test_uncaught_throw_of_any_value(rt: Runtime, src: str, value: str) -> None:
    e = raises(rt, src)
    assert pr_str(e.value) == value
    assert value in e.format()


def test_finally_runs_when_the_error_escapes(rt: Runtime) -> None:
    m = fresh_module(rt)
    rt.eval_text("(def log (ref [])) (defn go [] (try (throw :x) (finally (swap! log conj :f))))", m)
    with pytest.raises(TurmericError) as info:
        rt.eval_text("(go)", m)
    assert error_kind(info.value) is None
    assert pr_str(info.value.value) == ":x"
    assert pr_str(rt.eval_text("(deref log)", m)) == "[:f]"


def test_finally_order_with_println(rt: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    src = """(try (println "body") (throw :boom)
                  (catch [e] (println "catch" e))
                  (finally (println "finally")))
             (try (println "body2") (finally (println "finally2")))"""
    evaluate(rt, src)
    assert capsys.readouterr().out == "body\ncatch :boom\nfinally\nbody2\nfinally2\n"


def test_defclass_instance_missing_type_name_is_an_error(rt: Runtime) -> None:
    e = raises(rt, "(defclass Show [a] (show [x : a] : string)) (instance Show no-such-type (show [v] 1))")
    assert error_kind(e) in ("unbound-symbol", "type-error")


# --------------------------------------------------------------------------- tail calls, deep recursion


def test_proper_tail_calls_3_000_000(rt: Runtime) -> None:
    src = """(defn count-down [n acc] (if (= n 0) acc (count-down (- n 1) (+ acc 1))))
             (count-down 3000000 0)"""
    assert run(rt, src) == "3000000"


def test_non_tail_recursion_1_000_000_deep(rt: Runtime) -> None:
    src = "(defn deep [n] (if (= n 0) 0 (+ 1 (deep (- n 1))))) (deep 1000000)"
    assert run(rt, src) == "1000000"


#: Each `f` recurses 1000 times through one kind of tail position, then captures the
#: continuation up to the reset: with proper tail calls it holds no frame of `f`.
TAIL_POSITIONS = {
    "if": "(defn f [n] (if (= n 0) BOTTOM (f (- n 1))))",
    "cond": "(defn f [n] (cond (= n 0) BOTTOM :else (f (- n 1))))",
    "when": "(defn f [n] (if (= n 0) BOTTOM (when #t (f (- n 1)))))",
    "unless": "(defn f [n] (if (= n 0) BOTTOM (unless #f (f (- n 1)))))",
    "let": "(defn f [n] (if (= n 0) BOTTOM (let [m (- n 1)] (f m))))",
    "do": "(defn f [n] (if (= n 0) BOTTOM (do 1 (f (- n 1)))))",
    "and": "(defn f [n] (if (= n 0) BOTTOM (and #t (f (- n 1)))))",
    "or": "(defn f [n] (if (= n 0) BOTTOM (or #f (f (- n 1)))))",
    "match": "(defn f [n] (match n 0 -> BOTTOM m -> (f (- m 1))))",
    "apply": "(defn f [n] (if (= n 0) BOTTOM (apply f [(- n 1)])))",
    "mutual": "(defn f [n] (if (= n 0) BOTTOM (g (- n 1)))) (defn g [n] (f n))",
    "local fn": "(defn f [n] (let [h (fn [m] (f m))] (if (= n 0) BOTTOM (h (- n 1)))))",
    "nested defn": "(defn f [n] (defn lp [i] (if (= i 0) BOTTOM (lp (- i 1)))) (lp n))",
    "class method": (
        "(defclass C [a] (step [x : a])) (instance C int64 (step [n] (f n)))"
        " (defn f [n] (if (= n 0) BOTTOM (step (- n 1))))"
    ),
    "catch handler": "(defn f [n] (if (= n 0) BOTTOM (try (throw n) (catch [e] (f (- e 1))))))",
    "try-with handler": "(defn f [n] (if (= n 0) BOTTOM (try-with (fn [] (throw n)) (fn [e k] (f (- e 1))))))",
    "loop/recur": "(defn f [n] (loop [i n] (if (= i 0) BOTTOM (recur (- i 1)))))",
}


@pytest.mark.parametrize("src", list(TAIL_POSITIONS.values()), ids=list(TAIL_POSITIONS))
def test_tail_positions_keep_no_frames(rt: Runtime, src: str) -> None:
    src = src.replace("BOTTOM", "(cloneable-shift [k] k)")
    k = evaluate(rt, src + " (cloneable-reset (fn [] (f 1000)))")
    assert len(k.frames) < 5


def test_non_tail_call_keeps_its_frames(rt: Runtime) -> None:
    k = evaluate(
        rt,
        "(defn f [n] (if (= n 0) (cloneable-shift [k] k) (+ 0 (f (- n 1)))))"
        " (cloneable-reset (fn [] (f 1000)))",
    )
    assert len(k.frames) >= 1000


# --------------------------------------------------------------------------- positions


def where(e: TurmericError) -> Pos | None:
    """The position an error names: its own, or else the innermost frame's."""
    if e.pos is not None:
        return e.pos
    for _, pos in e.trace:
        if pos is not None:
            return pos
    return None


POSITIONS = [
    # (source, line, col) of the form that failed
    ("(def a 1)\n(def b 2)\n    nope", 3, 5),
    pytest.param(
        "(defn f [x]\n  (let [a 1]\n    (nope 1)))\n(f 1)", 3, 5,
    ),
    pytest.param(
        "(def a 1)\n  (nope 1)", 2, 3,
    ),
    ("(defn f [x]\n  (let [a 1]\n    (+ 1 (nope 1))))\n(f 1)", 3, 10),
    ("(defn f [x]\n  (+ 1 (g x)))\n(defn g [x]\n  (+ x \"a\"))\n(f 1)", 4, 3),
    ("(defn f [x]\n  (let [a (g x)]\n    a))\n(defn g [a b] a)\n(f 1)", 2, 11),
    pytest.param(
        "(defn f [x]\n  (let [a 1]\n    nope))\n(f 1)", 3, 5,
    ),
    pytest.param(
        "(def a 1)\n(def b 2)\n(+ a\n    nope)", 4, 5,
    ),
    pytest.param(
        "(defn g [a b] a)\n(g 1)", 2, 1,
    ),
    pytest.param(
        "(def x 1)\n  (x 2)", 2, 3,
    ),
    pytest.param(
        "(def x 1)\n(match x\n  2 -> :two)", 2, 1,
    ),
    pytest.param(
        "(defn f [x]\n  (+ 1 (g x)))\n(defn g [x]\n  (match x 1 -> 2))\n(f 5)", 4, 3,
    ),
]


@pytest.mark.parametrize("src,line,col", POSITIONS)
def test_error_positions(rt: Runtime, src: str, line: int, col: int) -> None:
    e = raises(rt, src, file="pos.tm")
    assert where(e) == Pos("pos.tm", line, col), e.format()
    assert f"pos.tm:{line}:{col}" in e.format()


SYNTAX_POSITIONS = [
    ("(defn f []\n  (let [a] a))", 2, 3),
    ("(defn f []\n  (if))", 2, 3),
    ("(def x 1)\n  (match x 1 :one)", 2, 3),
    ("(def x 1)\n (cond 1)", 2, 2),
    ("(defn f [x]\n   (recur))", 2, 4),
    ("(struct p x)", 1, 1),
    ("(defn f [] (def))", 1, 12),
    ("(def x 1)\n  (set! 1 2)", 2, 3),
    ("(try 1 (catch e 2))", 1, 8),
    ("(loop [a] 1)", 1, 1),
    ("(if 1 2 3 4)", 1, 1),
]


@pytest.mark.parametrize("src,line,col", SYNTAX_POSITIONS)
def test_syntax_error_positions(rt: Runtime, src: str, line: int, col: int) -> None:
    e = raises(rt, src, file="syn.tm")
    assert error_kind(e) == "syntax-error"
    assert e.pos == Pos("syn.tm", line, col)
    assert f"syn.tm:{line}:{col}" in e.message


def test_macro_expansion_error_names_the_call_site(rt: Runtime) -> None:
    e = raises(rt, '(defmacro bad [x] (+ x 1))\n\n  (bad "a")', file="mac.tm")
    assert error_kind(e) == "type-error"
    assert "mac.tm:3:3" in e.format()


def test_unbound_symbol_position_and_name(rt: Runtime) -> None:
    e = raises(rt, "(def a 1)\n\n    nope-sym", file="u.tm")
    assert error_kind(e) == "unbound-symbol"
    assert e.pos is not None and (e.pos.line, e.pos.col) == (3, 5)
    assert "nope-sym" in e.message


def test_stack_trace_names_each_frame(rt: Runtime) -> None:
    src = "(defn inner [x]\n  (+ x \"a\"))\n(defn outer [x]\n  (* 2 (inner x)))\n(outer 1)"
    e = raises(rt, src, file="st.tm")
    text = e.format()
    assert "type-error" in text
    assert "inner" in text and "st.tm:2:3" in text
    assert "outer" in text and "st.tm:4:8" in text
    assert "Traceback" not in text


def test_arity_error_names_function(rt: Runtime) -> None:
    e = raises(rt, "(defn my-func [a b] a) (defn h [] (+ 1 (my-func 1)))  (h)")
    assert error_kind(e) == "arity-error"
    assert e.value.vals[0] == "my-func"
    assert "my-func" in e.message


def test_syntax_errors_name_their_position(rt: Runtime) -> None:
    e = raises(rt, "(def a 1)\n  (let [x] x)", file="syn.tm")
    assert error_kind(e) == "syntax-error"
    assert e.pos is not None and e.pos.line == 2
    assert "syn.tm:2:" in e.message
