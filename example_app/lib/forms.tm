;; Small helpers shared by the demos: reading form fields and asking until the answer is good.
;;
;; Import with (import lib.forms :as forms) and call forms.ask-until-valid, forms.field...

(defn field
  "The trimmed text of form field `name`, or \"\" when it is missing."
  [form name]
  (let [v (get form name)]
    (if (string? v) (trim v) "")))

(defn blank?
  "Whether `s` is nil or only whitespace."
  [s]
  (or (nil? s) (= (trim s) "")))

(defn digits?
  "Whether `s` is a non-empty string of the characters 0-9 only."
  [s]
  (and (string? s)
       (not (= s ""))
       (every? (fn [c] (includes? "0123456789" c)) (split s ""))))

(defn parse-int
  "The integer in string `s`, or nil when it is not one."
  [s]
  (try (int s) (catch [e] nil)))

(defn ask-until-valid
  "Show a page and return the submitted form once `validate` accepts it.

  (make-page k-url error form) builds the page: `k-url` is the form's action, `error` is
  nil the first time and then the message of the last rejection, `form` is the last
  submitted form ({} the first time) so the page can keep what the user typed.
  (validate form) returns nil when the form is good, or an error message to show.
  `opts` go to send/suspend, e.g. :once #t for a one-shot step.

  Each rejection is a new send/suspend, so the back button walks through the attempts."
  [make-page validate & opts]
  (loop [error nil previous {}]
    (let [form (apply send/suspend (fn [k-url] (make-page k-url error previous)) opts)
          problem (validate form)]
      (if (nil? problem)
        form
        (recur problem form)))))

(defn money
  "Cents as a price: 1250 -> \"$12.50\"."
  [cents]
  (format "$%d.%02d" (quot cents 100) (mod cents 100)))
