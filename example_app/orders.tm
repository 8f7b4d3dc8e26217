;; The seed's persistent workflow, run as a durable workflow.
;;
;; POST /orders starts (process-order order) in the background and redirects to the
;; order's progress page, which shows each checkpoint and step as the workflow reaches it.
;; The workflow is the seed's process-order: validate, charge, fulfil, each followed by a
;; checkpoint. The charge and the fulfilment are steps: each runs at most once to
;; completion, with (workflow/step-key) as the idempotency key a payment provider would
;; deduplicate by. Between them the workflow waits for the warehouse (a durable sleep):
;; kill the worker then, and after a restart the order is fulfilled and charged once.

(def items
  [{:sku "mug" :name "Turmeric mug" :price 1200}
   {:sku "tea" :name "Golden tea, 100 g" :price 850}])

(def packing-seconds 2)

(defn append-line [file line]
  (write-file file (str (if (file-exists? file) (read-text file) "") line "\n")))

(defn load-order [sku]
  (let [found (filter (fn [i] (= i.sku sku)) items)]
    (if (empty? found) nil {:sku sku :payment-info {:card "4242" :amount (get (first found) :price)}})))

(defn valid-order? [order] (not (nil? order)))

(defn charge-payment [info]
  ;; the payment provider: one line per charge, keyed by the step's idempotency key
  (append-line "payments.log" (str "charged " (get info :amount) " key " (workflow/step-key)))
  {:charged (get info :amount) :key (workflow/step-key)})

(defn fulfil [order charge]
  (append-line "shipments.log" (str "shipped " (get order :sku) " key " (workflow/step-key)))
  {:shipped (get order :sku)})

(defn process-order [sku]
  ;; Step 1: Validate order
  (def order (load-order sku))
  (unless (valid-order? order)
    (throw (error (str "Invalid order: no item " sku))))
  (checkpoint "order-validated" order)

  ;; Step 2: Charge payment (a step: at most once to completion)
  (def charge-result (workflow/step "charge-payment" (fn [] (charge-payment order.payment-info))))
  (checkpoint "payment-charged" charge-result)

  ;; the warehouse packs the parcel: a durable wait, no process kept busy
  (workflow/sleep packing-seconds)

  ;; Step 3: Fulfil order
  (def fulfillment (workflow/step "fulfil" (fn [] (fulfil order charge-result))))
  (checkpoint "order-fulfilled" fulfillment)

  fulfillment)

(defroute GET "/orders" [req]
  (render "orders/new.html" {:items items}))

(defroute POST "/orders" [req]
  (let [id (workflow/start process-order (get (form-data req) "sku"))]
    (redirect (url-for (str "/orders/" id)) :status 303)))

(defn order-status [id]
  ;; nil for an id that names no workflow
  (try (workflow/status id) (catch [e] nil)))

(defroute GET "/orders/{id}" [req]
  (let [id (path-param req "id")
        s (order-status id)]
    (if (nil? s)
      (response (html [:h1 "No such order"]) :status 404)
      (let [status (str (get s :status))]
        (render "orders/progress.html"
                {:id id
                 :status (subs status 1)
                 :finished (or (= status ":done") (= status ":failed"))
                 :checkpoint (get s :checkpoint)
                 :steps (get s :steps)
                 :result (if (get s :result) (pr-str (get s :result)) nil)
                 :error (get s :error)})))))
