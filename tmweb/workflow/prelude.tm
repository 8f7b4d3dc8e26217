;; Durable workflows, written in Turmeric on cloneable-shift.
;;
;; A workflow runs under a delimiter. A checkpoint captures the rest of the workflow as k,
;; stores [k value] and goes on with (resume k value): after a crash, a worker resumes
;; the stored k. Waiting stores k and ends the run with a marker instead: a worker
;; resumes k when the time comes or the signal arrives.

(defn %wf-then [k r]
  ;; r is [value] (go on now with value) or the marker that ends the run
  (if (vector? r) (resume k (first r)) r))

(defn checkpoint [name value]
  ;; the seed's checkpoint macro, storing in the app's store instead of a file
  (cloneable-shift [k]
    (%wf-checkpoint k name value)
    (resume k value)))

(defn workflow/sleep [seconds]
  ;; durable: the workflow is stored, and a worker resumes it after `seconds`
  (cloneable-shift [k] (%wf-sleep k seconds)))

(defn workflow/await-signal [name]
  ;; the value of the next signal `name` sent to this workflow (sent before or after)
  (cloneable-shift [k] (%wf-then k (%wf-await k name))))

(defn workflow/migrate [queue]
  ;; the rest of the workflow goes on on a worker of `queue` (tmweb worker --queue NAME)
  (cloneable-shift [k] (%wf-migrate k queue)))

(defn %wf-option [opts key default]
  (let [m (apply hash-map opts)]
    (if (contains? m key) (get m key) default)))

(defn %wf-attempt [name thunk attempt retries backoff max-backoff]
  (%wf-begin-step name)
  (if (> attempt retries)
    (thunk)  ; the last try: its error goes up with its own trace
    (let [r (try [:ok (thunk)] (catch [e] [:error e]))]
      (if (= (first r) :ok)
        (second r)
        (do
          ;; a durable pause: a crash during it resumes here, with this attempt count
          (workflow/sleep (min max-backoff (%wf-delay backoff attempt)))
          (%wf-attempt name thunk (+ attempt 1) retries backoff max-backoff))))))

(defn %wf-delay [backoff attempt]
  ;; backoff, doubled for each attempt after the first
  (if (<= attempt 1) backoff (* 2 (%wf-delay backoff (- attempt 1)))))

(defn workflow/step [name thunk & opts]
  ;; runs thunk at most once to completion per workflow and records its value with a
  ;; checkpoint; a run resumed after a crash before the record retries it with the same
  ;; (workflow/step-key). Options: :retries 3 :backoff 1 (seconds, doubled each retry)
  ;; :max-backoff 60
  (let [done (%wf-recorded name)]
    (if (empty? done)
      (let [v (%wf-attempt name thunk 1
                           (%wf-option opts :retries 3)
                           (%wf-option opts :backoff 1)
                           (%wf-option opts :max-backoff 60))]
        (cloneable-shift [k]
          (%wf-commit k name v)
          (resume k v)))
      (first done))))
