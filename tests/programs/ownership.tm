(def r (ref 42))
(def bytes
  (cloneable-reset
    (fn []
      (let [held r]
        (cloneable-shift [k]
          (serialize k))  ; Serialization deep-copies r
        (deref held)))))
(def copy-1 (deserialize bytes))  ; Deserialize: new r created with value 42
(def copy-2 (deserialize bytes))
(ref-set! r 0)
(println (resume copy-1) (resume copy-2) (deref r))
