(def captured-value (subs (serialize [1 2 3]) 0 7))
;; Wrap potentially failing values in Option
(def opt-value
  (try
    (deserialize captured-value)
    (catch [e] (None))))
(println (none? opt-value) (match opt-value (None) -> :fell-back _ -> :loaded))
