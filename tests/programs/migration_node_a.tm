(defn run-task1 [] 10)
(defn run-task2 [x]
  ;; the job stops here and hands its continuation to the caller
  (let [extra (cloneable-shift [k] k)]
    (+ x (if extra extra 5))))
(defn run-task3 [x] (* x 3))
(defn send-to-node-b [bytes] (write-file "job.bin" bytes))

;; Node A: long-running job, half done
(def job
  (cloneable-reset
    (fn []
      (def task1-result (run-task1))
      (def task2-result (run-task2 task1-result))
      (def task3-result (run-task3 task2-result))
      task3-result)))

;; Save state
(def bytes (serialize job))
(send-to-node-b bytes)
