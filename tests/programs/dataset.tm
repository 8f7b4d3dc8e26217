(def processed-count 0)
(defn process [item]
  (set! processed-count (inc processed-count))
  (* item item))

(defn analyze-large-dataset [data]
  (defn checkpoint-every-n [n items]
    (let [processed []]
      (for-each-with-index items
        (fn [i item]
          (set! processed (conj processed (process item)))
          (when (= (mod (+ i 1) n) 0)
            ;; Checkpoint every n items
            (cloneable-shift [k]
              (write-file (str "checkpoint-" i ".bin")
                         (serialize k))
              (continue k)))))))

  (checkpoint-every-n 1000 data))
