;; The send/suspend family, written in Turmeric on cloneable-shift.
;;
;; A handler runs under a delimiter. Suspending captures the rest of the handler as k,
;; stores it (save-continuation serializes it and puts it in the store under a signed
;; token) and answers with a page that links to k's URL. A request to that URL resumes
;; k with the request's form data, under a new delimiter, on any server process.

(defn send/suspend [make-page & opts]
  (cloneable-shift [k]
    (make-page (continuation-url (apply save-continuation k opts)))))

(defn send/suspend/dispatch [make-page & opts]
  (cloneable-shift [k]
    (make-page
      (fn [handler]
        ;; each link stores a function that resumes k with the handler's answer
        (continuation-url
          (apply save-continuation (fn [data] (resume k (handler data))) opts))))))

(defn send/back [resp]
  (cloneable-shift [k] resp))

(defn redirect/get [& opts]
  (apply send/suspend (fn [k-url] (redirect k-url :status 303)) opts))
