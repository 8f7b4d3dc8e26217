;; Small helpers shared by the demos: reading form fields and asking until the answer is good.
;;
;; Import with (import lib.forms :as forms) and call forms.ask-until-valid, forms.field...

(defn field
  "The trimmed text of form field `name`, or \"\" when it is missing."
  [form name]
  (let [v (get form name)]
    (if (string? v) (trim v) "")))

(defn typed
  "The text of form field `name` exactly as the user typed it, or \"\" when it is missing:
  what a re-asked page shows back in the field."
  [form name]
  (let [v (get form name)]
    (if (string? v) v "")))

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
  "The integer written in `s`: the ASCII digits 0-9 with an optional + or - in front, and
  nothing else; nil otherwise. Stricter than the built-in `int`, which parses what
  Python's int does: \"1_000\", other scripts' digits such as \"١٢\", spaces around it.
  (`field` has already trimmed the spaces a form field may keep around it.)"
  [s]
  (when (string? s)
    (let [unsigned (if (or (starts-with? s "-") (starts-with? s "+")) (subs s 1) s)]
      (when (digits? unsigned)
        (try (int s) (catch [e] nil))))))

(defn int-problem
  "Why `s` is not a whole number that parse-int accepts, as a message for the user; nil
  when it is one."
  [s]
  (cond
    (blank? s) "Please enter a whole number, like 42."
    (nil? (parse-int s)) "Please enter a whole number, like 42, with the digits 0-9 only (and a + or - in front if you need one)."
    :else nil))

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
