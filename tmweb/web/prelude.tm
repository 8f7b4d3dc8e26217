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
      ;; an error building the page names the handler's frames too (suspended at ...)
      (%save-step url k make-page (%with-suspended k make-page url)))))

(defn %dispatch-page [k make-page opts]
  ;; the page of send/suspend/dispatch: each (embed/url handler) is a step that resumes k
  ;; with the handler's answer; a GET of one whose page posts a form to it shows a fresh
  ;; copy of the page (with new URLs for the same k)
  (let [made (ref [])
        page (%with-suspended k make-page
                              (fn [handler]
                                (let [url (apply %step-url opts)]
                                  (swap! made conj [url handler])
                                  url)))]
    (for-each (fn [made-step]
                (let [url (first made-step) handler (second made-step)]
                  (%save-step url
                              (fn [data] (resume k (handler data)))
                              (fn [_] (%dispatch-page k make-page opts))
                              page)))
              (deref made))
    page))

(defn send/suspend/dispatch [make-page & opts]
  (cloneable-shift [k]
    (%dispatch-page k make-page opts)))

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
