;; A counter with +1 / -1 links, Racket's send/suspend/dispatch demo.
;;
;; Each link is (embed/url handler): following it makes send/suspend/dispatch return
;; (handler query-data). The loop is ordinary code; every page is a snapshot of it, so
;; the back button shows an older count, and clicking from there carries on from that count.
;;
;; (Context keys are single words, so each is a plain template variable; a dashed key such
;; as :inc-url would be {{ inc_url }} in the template, since `-` is subtraction in Jinja.)

(defroute GET "/counter" [req]
  (loop [n 0]
    (recur
      (send/suspend/dispatch
        (fn [embed/url]
          (render "counter/counter.html"
                  {:count n
                   :increment (embed/url (fn [_] (inc n)))
                   :decrement (embed/url (fn [_] (dec n)))
                   :reset (embed/url (fn [_] 0))}))))))
