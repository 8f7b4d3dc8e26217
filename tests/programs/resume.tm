;; Later, in another process:
(def k (deserialize (read-file "continuation.dat")))
(println (resume k 42))  ; => 43
