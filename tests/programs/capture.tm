;; Capture a continuation
(def saved #f)
(def result
  (+ 1 (cloneable-shift [k]
         (set! saved k)
         10)))

;; Serialize to bytes
(def bytes (serialize saved))

;; Write to disk or send over network
(write-file "continuation.dat" bytes)
