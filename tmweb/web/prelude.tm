;; The send/suspend family, written in Turmeric on cloneable-shift.
;;
;; A handler runs under a delimiter. Suspending captures the rest of the handler as k,
;; stores it (save-continuation serializes it and puts it in the store under a signed
;; token) and answers with a page that links to k's URL. A request to that URL resumes
;; k with the request's form data, under a new delimiter, on any server process.

(defn send/suspend [make-page & opts]
  ;; the step's URL first, then its page, then the step is stored with its page function:
  ;; a page that POSTs a form to the URL makes a step that only a POST resumes (a GET of
  ;; the URL shows the page again)
  (cloneable-shift [k]
    (let [url (apply %step-url opts)]
      (%save-step url k make-page (make-page url)))))

(defn send/suspend/dispatch [make-page & opts]
  (cloneable-shift [k]
    (make-page
      (fn [handler]
        ;; each link stores a function that resumes k with the handler's answer
        (continuation-url
          (apply save-continuation (fn [data] (resume k (handler data))) opts))))))

(defn send/forward [make-page & opts]
  ;; like send/suspend, after expiring every earlier continuation of this flow: no page
  ;; shown before this one can be submitted again (Racket's send/forward)
  (apply send/suspend make-page :forward #t opts))

(defn send/finish [resp & opts]
  ;; expire every continuation of this flow and answer resp; `:done-url "/x"` makes the
  ;; expired page of an earlier step link to /x (Racket's send/finish)
  (cloneable-shift [k]
    (apply expire-flow opts)
    resp))

(defn send/back [resp]
  (cloneable-shift [k] resp))

(defn redirect/get [& opts]
  (apply send/suspend (fn [k-url] (redirect k-url :status 303)) opts))
