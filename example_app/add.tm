;; Add two numbers: the classic continuation demo. Two pages, straight-line code.
;;
;; ask-number suspends the handler on a form and returns what the user typed, so the
;; route reads like a console program: ask, ask, answer.

(import lib.forms :as forms)

(defn ask-number [label]
  (def form
    (forms.ask-until-valid
      (fn [k-url error form]
        ;; a re-asked page shows what was typed, as it was typed
        (render "add/ask.html" {:label label :action k-url :error error :value (forms.typed form "n")}))
      (fn [form] (forms.int-problem (forms.field form "n")))))
  (forms.parse-int (forms.field form "n")))

(defroute GET "/add" [req]
  (def a (ask-number "First number"))
  (def b (ask-number "Second number"))
  (render "add/sum.html" {:a a :b b :sum (+ a b)}))
