(defclass Serializable [a]
  (serialize [x : a] : bytes)
  (deserialize [b : bytes] : a))

;; Primitive implementations
(instance Serializable int64 ...)
(instance Serializable string ...)
(instance Serializable bool ...)

;; Derived implementations
(instance Serializable (Pair a b) [Serializable a, Serializable b] ...)

;; NOT serializable
(instance Serializable FileHandle
  ;; Custom handler: store file path, re-open on deserialize
  (serialize [fh] (file-handle-path fh))
  (deserialize [path] (open-file path)))

(defclass Resource-Serializable [a]
  ;; Serialize to a stable representation
  (marshal [x : a] : resource-token)
  ;; Restore from token in new process
  (unmarshal [token : resource-token] : a))

(def fh (open-file "data.txt"))
(write-file "fh.bin" (serialize [1 "two" #t fh]))
