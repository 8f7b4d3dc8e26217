;; The seed's checkout flow, Racket style: cart -> address -> payment -> confirmation.
;;
;; The whole flow is one function that reads top to bottom. Each ask-* call shows a page
;; and returns what the user submitted; between requests the rest of the function waits in
;; the store as a serialized continuation. Validation is a loop (forms.ask-until-valid)
;; that re-asks the same page with an error.
;;
;; What keeps a payment to one per visit, whatever the browser does:
;; - the payment page is one-shot (:once #t): of two concurrent submits (a double click),
;;   exactly one is resumed, the other gets the 410 page;
;; - a declined card asks again on a fresh payment page, with cart and address kept;
;; - once the card is charged, (redirect/get :forward #t) expires every earlier page of
;;   this flow (cart, address, payment): going back and submitting any of them again gets
;;   the "already completed" page, never a second charge;
;; - the confirmation has its own GET URL, so reloading it shows it again.
;; Every page posts its form, so a reload or a new tab of any step shows that step again
;; (tmweb answers each POST with a redirect to the next step's own URL).

(import lib.forms :as forms)

;; Prices in cents.
(def catalog
  [{:sku "mug" :name "Turmeric mug" :price 1200}
   {:sku "tea" :name "Golden tea, 100 g" :price 850}
   {:sku "socks" :name "Continuation socks" :price 1500}
   {:sku "sticker" :name "Lambda sticker" :price 200}])

(def address-fields
  [{:name "name" :label "Full name" :autocomplete "name"}
   {:name "street" :label "Street and number" :autocomplete "street-address"}
   {:name "city" :label "City" :autocomplete "address-level2"}
   {:name "postcode" :label "Postcode" :autocomplete "postal-code"}
   {:name "country" :label "Country" :autocomplete "country-name"}])

(def steps ["Cart" "Address" "Payment" "Done"])

;; ---------------------------------------------------------------------------- the cart

(defn qty-field [item] (str "qty-" item.sku))

(defn quantity
  "The quantity typed for `item`: blank counts as 0; nil when it is not a whole number."
  [form item]
  (let [s (forms.field form (qty-field item))]
    (if (= s "") 0 (forms.parse-int s))))

(defn cart-problem [form]
  (let [qs (map (fn [item] (quantity form item)) catalog)]
    (cond
      (some (fn [q] (or (nil? q) (< q 0) (> q 99))) qs) "Quantities are whole numbers from 0 to 99."
      (every? zero? qs) "Your cart is empty: pick at least one item."
      :else nil)))

(defn cart-lines
  "The items with a quantity above 0, each with :qty and :subtotal."
  [form]
  (filterv (fn [line] (pos? line.qty))
           (map (fn [item]
                  (let [q (quantity form item)]
                    (assoc item
                           :qty q
                           :unit (forms.money item.price)
                           :amount (forms.money (* q item.price))
                           :subtotal (* q item.price))))
                catalog)))

(defn ask-cart []
  (def form
    (forms.ask-until-valid
      (fn [k-url error form]
        (render "checkout/cart.html"
                {:steps steps :step 1 :action k-url :error error
                 :items (map (fn [item]
                               (assoc item
                                      :field (qty-field item)
                                      :value (forms.typed form (qty-field item))
                                      :unit (forms.money item.price)))
                             catalog)}))
      cart-problem))
  (cart-lines form))

;; ---------------------------------------------------------------------------- the address

(defn address-problem [form]
  (let [missing (filter (fn [f] (= (forms.field form f.name) "")) address-fields)]
    (when (not (empty? missing))
      (str "Please fill in: " (join ", " (map (fn [f] (lower f.label)) missing)) "."))))

(defn ask-address [total]
  (def form
    (forms.ask-until-valid
      (fn [k-url error form]
        (render "checkout/address.html"
                {:steps steps :step 2 :action k-url :error error :total (forms.money total)
                 :fields (map (fn [f] (assoc f :value (forms.field form f.name))) address-fields)}))
      address-problem))
  (reduce (fn [m f] (assoc m (keyword f.name) (forms.field form f.name))) {} address-fields))

;; ---------------------------------------------------------------------------- payment

(defn card-digits [form]
  (replace (replace (forms.field form "card") " " "") "-" ""))

(defn card-problem [form]
  (let [d (card-digits form)]
    (when (not (and (forms.digits? d) (= (count d) 16)))
      "A card number is 16 digits (spaces are fine), like 4242 4242 4242 4242.")))

(defn charge!
  "Stand-in for a payment provider. A real app would call its API here (a Python
  function exposed to Turmeric; async ones do not block the server). The test card
  4000 0000 0000 0002 is declined, as with real providers' test cards."
  [card-number cents]
  (if (= card-number "4000000000000002")
    {:declined "Your card was declined. Try another card."}
    (let [receipt {:id (format "TM-%06d" (mod (current-time-ms) 1000000))
                   :last4 (subs card-number 12)
                   :amount (forms.money cents)}]
      ;; the provider's record of the charge, on the server's terminal
      (println (str "charged " receipt.amount " to the card ending in " receipt.last4
                    ": order " receipt.id))
      receipt)))

(defn pay
  "Ask for a card on a one-shot page and charge it, until a charge goes through; return
  the receipt. A declined card asks again, on a fresh page. The card number lives only in
  this function's frame, so it is gone from every later continuation."
  [lines total address]
  (loop [declined nil]
    (let [form (forms.ask-until-valid
                 (fn [k-url error form]
                   (render "checkout/payment.html"
                           {:steps steps :step 3 :action k-url :error (or error declined)
                            :lines lines :total (forms.money total) :address address}))
                 card-problem
                 :once #t)
          result (charge! (card-digits form) total)]
      (if result.declined
        (recur result.declined)
        result))))

;; ---------------------------------------------------------------------------- the flow

(defroute GET "/checkout" [req]
  (def lines (ask-cart))
  (def total (reduce + 0 (map (fn [line] line.subtotal) lines)))
  (def address (ask-address total))
  (def receipt (pay lines total address))
  ;; charged: no earlier page of this flow may be submitted again (:forward), and the
  ;; confirmation gets its own GET URL, so reloading it shows it again
  (redirect/get :forward #t)
  (render "checkout/confirmation.html"
          {:steps steps :step 4 :lines lines :total (forms.money total)
           :address address :receipt receipt}))
