;; The core library's higher-order functions, written in Turmeric.
;;
;; Their frames are ordinary Turmeric frames, so a cloneable-shift inside a callback
;; captures through them, and the continuation serializes and resumes like any other.
;; Loops walk collections as lists (%seq) and collect into vectors, so every step is O(1).

(defn identity [x] x)

(defn constantly [x] (fn [& _] x))

(defn complement [f] (fn [& args] (not (apply f args))))

(defn map [f coll & colls]
  (if (empty? colls)
    (loop [s (%seq coll) acc []]
      (if (empty? s)
        (apply list acc)
        (recur (rest s) (conj acc (f (first s))))))
    (loop [ss (map %seq (cons coll colls)) acc []]
      (if (some empty? ss)
        (apply list acc)
        (recur (map rest ss) (conj acc (apply f (map first ss))))))))

(defn mapv [f coll & colls]
  (vec (apply map f coll colls)))

(defn map-indexed [f coll]
  (loop [s (%seq coll) i 0 acc []]
    (if (empty? s)
      (apply list acc)
      (recur (rest s) (inc i) (conj acc (f i (first s)))))))

(defn filter [pred coll]
  (loop [s (%seq coll) acc []]
    (if (empty? s)
      (apply list acc)
      (let [x (first s)]
        (recur (rest s) (if (pred x) (conj acc x) acc))))))

(defn filterv [pred coll] (vec (filter pred coll)))

(defn remove [pred coll] (filter (complement pred) coll))

(defn keep [f coll]
  (loop [s (%seq coll) acc []]
    (if (empty? s)
      (apply list acc)
      (let [y (f (first s))]
        (recur (rest s) (if (nil? y) acc (conj acc y)))))))

(defn mapcat [f coll] (apply concat (map f coll)))

(defn reduce [f & args]
  (let [n (count args)]
    (cond
      (= n 1) (let [s (%seq (first args))]
                (if (empty? s)
                  (f)
                  (reduce f (first s) (rest s))))
      (= n 2) (loop [acc (first args) s (%seq (second args))]
                (if (empty? s)
                  acc
                  (recur (f acc (first s)) (rest s))))
      :else (throw (arity-error "reduce" "reduce: expected (reduce f coll) or (reduce f init coll)")))))

(defn %for-each [f coll]
  (loop [s (%seq coll)]
    (if (empty? s)
      nil
      (do (f (first s))
          (recur (rest s))))))

(defn for-each [a b]
  (if (%collection? a) (%for-each b a) (%for-each a b)))

(defn run! [f coll] (%for-each f coll))

(defn %for-each-with-index [coll f]
  (loop [s (%seq coll) i 0]
    (if (empty? s)
      nil
      (do (f i (first s))
          (recur (rest s) (inc i))))))

(defn for-each-with-index [a b]
  (if (%collection? a) (%for-each-with-index a b) (%for-each-with-index b a)))

(defn sort-by [keyfn coll]
  (let [items (%seq coll)]
    (%sort-by-keys (map keyfn items) items)))

(defn some [pred coll]
  (loop [s (%seq coll)]
    (if (empty? s)
      nil
      (let [r (pred (first s))]
        (if r r (recur (rest s)))))))

(defn every? [pred coll]
  (loop [s (%seq coll)]
    (cond
      (empty? s) #t
      (pred (first s)) (recur (rest s))
      :else #f)))

(defn not-any? [pred coll] (not (some pred coll)))

(defn take-while [pred coll]
  (loop [s (%seq coll) acc []]
    (if (and (not (empty? s)) (pred (first s)))
      (recur (rest s) (conj acc (first s)))
      (apply list acc))))

(defn drop-while [pred coll]
  (loop [s (%seq coll)]
    (if (and (not (empty? s)) (pred (first s)))
      (recur (rest s))
      s)))

(defn group-by [f coll]
  (reduce (fn [m x]
            (let [k (f x)]
              (assoc m k (conj (get m k []) x))))
          {} coll))

(defn frequencies [coll]
  (reduce (fn [m x] (assoc m x (inc (get m x 0)))) {} coll))

(defn repeatedly [n f]
  (loop [i 0 acc []]
    (if (< i n) (recur (inc i) (conj acc (f))) (apply list acc))))

(defn partial [f & bound]
  (fn [& more] (apply f (concat bound more))))

(defn comp [& fs]
  (if (empty? fs)
    identity
    (let [fs (reverse fs)]
      (fn [& args]
        (loop [r (apply (first fs) args) more (rest fs)]
          (if (empty? more) r (recur ((first more) r) (rest more))))))))

(defn juxt [& fs]
  (fn [& args] (mapv (fn [f] (apply f args)) fs)))

(defn swap! [r f & args]
  (ref-set! r (apply f (deref r) args)))

(defn update [m k f & args]
  (assoc m k (apply f (get m k) args)))

(defn update-in [m ks f & args]
  (let [k (first ks)]
    (if (empty? (rest ks))
      (assoc m k (apply f (get m k) args))
      (assoc m k (apply update-in (get m k) (rest ks) f args)))))

(defn zipmap [ks vs]
  (loop [ks (%seq ks) vs (%seq vs) m {}]
    (if (or (empty? ks) (empty? vs))
      m
      (recur (rest ks) (rest vs) (assoc m (first ks) (first vs))))))
