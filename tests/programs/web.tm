;; helpers: a file-backed "database" of continuations, and a page renderer
(defn save-continuation-to-db [k]
  (def token (str "t" (count (serialize k))))
  (write-file (str token ".k") (serialize k))
  token)
(defn load-continuation-from-db [token] (deserialize (read-file (str token ".k"))))
(defn form [_ action] (str "<form action='" action "'></form>"))
(defn render-page [body] (str "<html>" body "</html>"))
(defn parse-form-data [req] (get req :form))

;; Initial page
(defn get-checkout [req]
  (cloneable-shift [k]
    ;; Save continuation to disk, return URL token
    (def token (save-continuation-to-db k))
    (render-page
      (form :action (str "/checkout-submit?token=" token)))))

;; Form submission handler
(defn post-checkout-submit [token req]
  ;; Load and resume continuation
  (def k (load-continuation-from-db token))
  (def response (resume k (parse-form-data req)))
  response)

(defn checkout [req]
  (def data (get-checkout req))
  (str "Thanks, " (get data "name") "!"))
