(instance Resource-Serializable FileHandle
  (marshal [fh] (file-handle-path fh))
  (unmarshal [path] (open-file path)))

(defn reader-job []
  (def fh (open-file "data.txt"))
  (def first-line (read-line fh))
  (cloneable-shift [k] (write-file "reader.bin" (serialize k)) :suspended)
  [first-line (read-line fh)])

(when (= (first (command-line-args)) "start")
  (println (cloneable-reset (fn [] (reader-job)))))
