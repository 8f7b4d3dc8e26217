;; The home page: every demo with a one-line description.

(def demos
  [{:path "/add"
    :title "Add two numbers"
    :description "Two questions, one answer: the classic continuation demo, three lines of handler."}
   {:path "/checkout"
    :title "Checkout"
    :description "Cart, address, payment, confirmation: a multi-page flow written as one function, with a one-shot payment step."}
   {:path "/counter"
    :title "Counter"
    :description "+1 and -1 links made with embed/url; the back button goes back in time and you can carry on from there."}
   {:path "/orders"
    :title "Order workflow"
    :description "The seed's process-order as a durable workflow: it runs in the background, its progress page shows each step, and a crash of the worker charges the card once."}
   {:path "/signup"
    :title "Sign-up wizard"
    :description "Name, email, password, review, an e-mailed confirmation link, done: each step validated and re-asked by a small reusable helper."}])

(defroute GET "/" [req]
  (render "index.html" {:demos demos}))
