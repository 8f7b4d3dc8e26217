;; bench/web.py's tmweb side: the same flow as bench/handwritten.py
(defn ask-number [label]
  (def form (send/suspend (fn [k-url] (render "ask.html" {:label label :action k-url}))))
  (int (get form "n")))

(defroute GET "/add" [req]
  (def a (ask-number "First number"))
  (def b (ask-number "Second number"))
  (html [:p a " + " b " = " [:strong (+ a b)]]))
