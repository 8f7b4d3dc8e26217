;; A sign-up wizard: name -> email -> password -> review -> done.
;;
;; Each step is one call to ask-field, which keeps asking (with the error message) until
;; the answer passes its check. The route is the wizard's whole logic, top to bottom.
;; Going back and changing an answer is allowed until the account exists; after that,
;; (redirect/get :forward #t) makes every earlier page final. The e-mail confirmation link
;; is the one page that works in another browser (:shareable #t): open /outbox to "read"
;; the mail.

(import lib.forms :as forms)

(def steps ["Name" "Email" "Password" "Review"])

(defn check-name [s]
  (when (= (trim s) "") "Please tell us your name."))

(defn check-email [s]
  (when (not (and (includes? s "@") (includes? s ".")))
    "An email address needs an @ and a dot, like ann@example.com."))

(defn check-password [s]
  (when (< (count s) 8)
    (str "Use at least 8 characters (that was " (count s) ").")))

(defn field-value
  "What the user typed in `field`; passwords are kept exactly as typed."
  [form field type]
  (if (= type "password")
    (let [v (get form field "")] (if (string? v) v ""))
    (forms.field form field)))

(defn ask-field
  "Ask for one field on the step page until `check` (value -> error or nil) accepts it."
  [step label field type check]
  (def form
    (forms.ask-until-valid
      (fn [k-url error form]
        (render "signup/step.html"
                {:steps steps :step step :label label :field field :type type
                 :error error :action k-url
                 ;; never send a password back to the browser
                 :value (if (= type "password") "" (field-value form field type))}))
      (fn [form] (check (field-value form field type)))))
  (field-value form field type))

(defn confirm [name email password]
  (forms.ask-until-valid
    (fn [k-url error form]
      (render "signup/review.html"
              {:steps steps :step 4 :action k-url :error error
               :name name :email email :masked (join (repeatedly (count password) (fn [] "•")))}))
    (fn [form]
      (when (nil? (get form "confirm")) "Press Confirm to create the account."))))

(def outbox
  "The e-mails this server process has \"sent\": a stand-in for a mail provider, shown
  at /outbox (each worker process has its own)."
  (ref []))

(defn send-email! [to subject link]
  (swap! outbox (fn [mails] (conj mails {:to to :subject subject :link link}))))

(defn confirm-email
  "Mail a link and wait until someone follows it. The link is :shareable: it works in any
  browser (the mail app's, a phone's), once, for a day; every other page of the wizard is
  bound to the browser that made it."
  [name email]
  (send/suspend
    (fn [link]
      (send-email! email (str "Confirm your e-mail, " name) link)
      (render "signup/check_email.html" {:steps steps :email email}))
    :shareable #t :ttl 86400))

(defroute GET "/outbox" [req]
  (render "signup/outbox.html" {:mails (reverse (deref outbox))}))

(defn create-account!
  "Stand-in for saving the user (a real app would hash the password and insert a row)."
  [name email password]
  {:name name :email email})

(defroute GET "/signup" [req]
  (def name (ask-field 1 "What is your name?" "name" "text" check-name))
  (def email (ask-field 2 "Your email address" "email" "email" check-email))
  (def password (ask-field 3 "Choose a password" "password" "password" check-password))
  (confirm name email password)
  (confirm-email name email)
  (def account (create-account! name email password))
  ;; one account per visit: every earlier page of this flow expires (going back and
  ;; confirming again gets the "already completed" page), and the done page has its own
  ;; reloadable GET URL
  (redirect/get :forward #t)
  (render "signup/done.html" {:account account}))
