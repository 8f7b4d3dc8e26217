;; Add two numbers: the classic continuation demo. Two pages, straight-line code.

(defn ask-number [label]
  (def form
    (send/suspend
      (fn [k-url]
        (render "ask.html" {:label label :action k-url}))))
  (int (get form "n")))

(defroute GET "/add" [req]
  (def a (ask-number "First number"))
  (def b (ask-number "Second number"))
  (render "sum.html" {:a a :b b :sum (+ a b)}))
