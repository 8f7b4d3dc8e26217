(defn load-order [id] {:id id :payment-info {:card "4242" :amount 30}})
(defn valid-order? [order] (some? (Some order)))
(defn validation-error [msg] (error msg))
(defn charge-payment [info]
  (def ledger (if (file-exists? "charges.log") (read-text "charges.log") ""))
  (write-file "charges.log" (str ledger "charged " (get info :amount) "\n"))
  {:charged (get info :amount)})
(defn fulfill [order charge]
  (when (= (getenv "CRASH_IN") "fulfill")
    (println "crash!")
    (exit 3))
  [:shipped (get order :id) charge])
(defn process-order [order-id]
  ;; Step 1: Validate order
  (def order (load-order order-id))
  (unless (valid-order? order)
    (throw (validation-error "Invalid order")))
  (checkpoint "order-validated" order)

  ;; Step 2: Charge payment (slow network call)
  (def charge-result (charge-payment order.payment-info))
  (checkpoint "payment-charged" charge-result)

  ;; Step 3: Fulfill order
  (def fulfillment (fulfill order charge-result))
  (checkpoint "order-fulfilled" fulfillment)

  fulfillment)

;; Checkpointing macro
(defmacro checkpoint [name value]
  `(cloneable-shift [k]
     ;; Save continuation to disk
     (def checkpoint-file (str "checkpoint-" ~name ".bin"))
     (write-file checkpoint-file (serialize k))
     ;; Resume immediately on first run
     (continue k ~value)))

;; On crash, user can resume from last checkpoint
(defn resume-from-checkpoint [name]
  (def checkpoint-file (str "checkpoint-" name ".bin"))
  (def k (deserialize (read-file checkpoint-file)))
  (resume k))

(when (= (first (command-line-args)) "start")
  (println (process-order 7)))
