(defn receive-bytes [] (read-file "job.bin"))

;; Node B: resume
(def job (deserialize (receive-bytes)))
(def result (resume job))
(println result)
