"""Every example of the seed document (shared/seeds/000_...), run as real programs.

Where the seed says "another process", the test runs a second `tmweb run`. The helpers the
seed leaves undefined (load-order, charge-payment, run-task1, ...) are written here.
The seed's own code is copied verbatim except for one typo: the task-migration example
has `(def job (deserialize (receive-bytes))` with a missing closing paren.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def tm(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "run", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert "Traceback" not in p.stderr
    return p.stdout


CAPTURE = """\
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
"""

LATER = """\
;; Later, in another process:
(def k (deserialize (read-file "continuation.dat")))
(println (resume k 42))  ; => 43
"""


#: Loading with the C decoder (where it was built) and with msgpack's Unpacker, what a
#: machine without a C compiler uses.
DECODERS = pytest.mark.parametrize("pure", ["0", "1"], ids=["c-decoder", "pure-python"])


@DECODERS
def test_capture_then_resume_in_another_process_prints_43(tmp_path: Path, pure: str) -> None:
    write(tmp_path, "capture.tm", CAPTURE)
    write(tmp_path, "later.tm", LATER)
    ok(tm(tmp_path, "capture.tm"))
    assert (tmp_path / "continuation.dat").exists()
    assert ok(tm(tmp_path, "later.tm", env={"TMWEB_PURE_PYTHON": pure})).strip() == "43"


WORKFLOW_HELPERS = """\
(defn load-order [id] {:id id :payment-info {:card "4242" :amount 30}})
(defn valid-order? [order] (some? (Some order)))
(defn validation-error [msg] (error msg))
(defn charge-payment [info]
  (def ledger (if (file-exists? "charges.log") (read-text "charges.log") ""))
  (write-file "charges.log" (str ledger "charged " (get info :amount) "\\n"))
  {:charged (get info :amount)})
(defn fulfill [order charge]
  (when (= (getenv "CRASH_IN") "fulfill")
    (println "crash!")
    (exit 3))
  [:shipped (get order :id) charge])
"""

WORKFLOW = """\
(defn process-order [order-id]
  ;; Step 1: Validate order
  (def order (load-order order-id))
  (unless (valid-order? order)
    (throw (validation-error "Invalid order")))
  (checkpoint "order-validated" order)

  ;; Step 2: Charge payment (slow network call)
  (def charge-result (charge-payment order.payment-info))
  (checkpoint "payment-charged" charge-result)

  ;; Step 3: Fulfill order
  (def fulfillment (fulfill order charge-result))
  (checkpoint "order-fulfilled" fulfillment)

  fulfillment)

;; Checkpointing macro
(defmacro checkpoint [name value]
  `(cloneable-shift [k]
     ;; Save continuation to disk
     (def checkpoint-file (str "checkpoint-" ~name ".bin"))
     (write-file checkpoint-file (serialize k))
     ;; Resume immediately on first run
     (continue k ~value)))

;; On crash, user can resume from last checkpoint
(defn resume-from-checkpoint [name]
  (def checkpoint-file (str "checkpoint-" name ".bin"))
  (def k (deserialize (read-file checkpoint-file)))
  (resume k))
"""


def test_persistent_workflow_survives_a_crash_and_charges_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        "orders.tm",
        WORKFLOW_HELPERS + WORKFLOW + '\n(when (= (first (command-line-args)) "start")\n  (println (process-order 7)))\n',
    )
    first = tm(tmp_path, "orders.tm", "start", env={"CRASH_IN": "fulfill"})
    assert first.returncode == 3 and "crash!" in first.stdout
    assert (tmp_path / "checkpoint-payment-charged.bin").exists()
    assert not (tmp_path / "checkpoint-order-fulfilled.bin").exists()
    write(tmp_path, "recover.tm", '(import orders)\n(orders.resume-from-checkpoint "payment-charged")\n')
    out = ok(tm(tmp_path, "recover.tm"))
    # the resumed run finishes the top-level form that started it: it prints the result
    assert out.strip() == "[:shipped 7 {:charged 30}]"
    assert (tmp_path / "charges.log").read_text() == "charged 30\n"  # charged exactly once
    assert (tmp_path / "checkpoint-order-fulfilled.bin").exists()


DATASET = """\
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

(when (= (first (command-line-args)) "start")
  (analyze-large-dataset (range 3500))
  (println "processed" processed-count))
"""


@DECODERS
def test_long_computation_resumes_from_a_checkpoint_file(tmp_path: Path, pure: str) -> None:
    write(tmp_path, "analysis.tm", DATASET)
    assert ok(tm(tmp_path, "analysis.tm", "start")).strip() == "processed 3500"
    for i in (999, 1999, 2999):
        assert (tmp_path / f"checkpoint-{i}.bin").exists()
    (tmp_path / "checkpoint-2999.bin").unlink()
    write(
        tmp_path,
        "again.tm",
        '(import analysis)\n(resume (deserialize (read-file "checkpoint-1999.bin")))\n'
        '(println "processed after resume" analysis.processed-count)\n',
    )
    # items 2000..3499 are processed again, the later checkpoint is written again, and the
    # rest of the top-level form that started the run (its println) runs too
    out = ok(tm(tmp_path, "again.tm", env={"TMWEB_PURE_PYTHON": pure})).splitlines()
    assert out == ["processed 1500", "processed after resume 1500"]
    assert (tmp_path / "checkpoint-2999.bin").exists()


MIGRATION_A = """\
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
"""

MIGRATION_B = """\
(defn receive-bytes [] (read-file "job.bin"))

;; Node B: resume
(def job (deserialize (receive-bytes)))
(def result (resume job))
(println result)
"""


def test_task_migrates_to_another_process(tmp_path: Path) -> None:
    node_a = tmp_path / "a"
    node_a.mkdir()
    write(node_a, "node_a.tm", MIGRATION_A)
    ok(tm(node_a, "node_a.tm"))
    # node B has its own folder; it finds node A's code on TURMERIC_PATH
    node_b = tmp_path / "b"
    node_b.mkdir()
    (node_b / "job.bin").write_bytes((node_a / "job.bin").read_bytes())
    write(node_b, "node_b.tm", MIGRATION_B)
    out = ok(tm(node_b, "node_b.tm", env={"TURMERIC_PATH": str(node_a)}))
    assert out.strip() == "45"


WEB_SEED = """\
;; helpers: a file-backed "database" of continuations, and a page renderer
(defn save-continuation-to-db [k]
  (def token (str "t" (count (serialize k))))
  (write-file (str token ".k") (serialize k))
  token)
(defn load-continuation-from-db [token] (deserialize (read-file (str token ".k"))))
(defn form [_ action] (str "<form action='" action "'></form>"))
(defn render-page [body] (str "<html>" body "</html>"))
(defn parse-form-data [req] (get req :form))

;; Initial page
(defn get-checkout [req]
  (cloneable-shift [k]
    ;; Save continuation to disk, return URL token
    (def token (save-continuation-to-db k))
    (render-page
      (form :action (str "/checkout-submit?token=" token)))))

;; Form submission handler
(defn post-checkout-submit [token req]
  ;; Load and resume continuation
  (def k (load-continuation-from-db token))
  (def response (resume k (parse-form-data req)))
  response)

(defn checkout [req]
  (def data (get-checkout req))
  (str "Thanks, " (get data "name") "!"))
"""


def test_web_continuation_example_resumes_in_another_process(tmp_path: Path) -> None:
    write(tmp_path, "shop.tm", WEB_SEED)
    write(tmp_path, "get.tm", "(import shop)\n(println (cloneable-reset (fn [] (shop.checkout {}))))\n")
    page = ok(tm(tmp_path, "get.tm")).strip()
    assert page.startswith("<html><form action='/checkout-submit?token=")
    token = page.split("token=")[1].split("'")[0]
    write(
        tmp_path,
        "post.tm",
        f'(import shop)\n(println (shop.post-checkout-submit "{token}" {{:form {{"name" "Ann"}}}}))\n',
    )
    assert ok(tm(tmp_path, "post.tm")).strip() == "Thanks, Ann!"


RESOURCES = """\
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
"""


def test_resource_marshalling_reopens_a_file_in_the_new_process(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("alpha\nbeta\n")
    write(tmp_path, "res.tm", RESOURCES)
    assert ok(tm(tmp_path, "res.tm", "start")).strip() == ":suspended"
    write(tmp_path, "res_resume.tm", '(println (resume (deserialize (read-file "reader.bin"))))\n')
    # the handle was re-opened by path: reading starts again at the top of the file
    assert ok(tm(tmp_path, "res_resume.tm")).strip() == '["alpha" "alpha"]'


SERIALIZABLE_CLASS = """\
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
"""


def test_serializable_class_declarations_and_filehandle_instance(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("line one\n")
    write(tmp_path, "classes.tm", SERIALIZABLE_CLASS)
    ok(tm(tmp_path, "classes.tm"))
    write(
        tmp_path,
        "load.tm",
        '(import classes)\n(def v (deserialize (read-file "fh.bin")))\n'
        "(println (subs (pr-str v) 0 10) (read-line (nth v 3)))\n",
    )
    assert ok(tm(tmp_path, "load.tm")).strip() == '[1 "two" # line one'


def test_a_file_handle_without_an_instance_is_not_serializable(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("x\n")
    write(
        tmp_path,
        "nope.tm",
        '(defn keep-open [] (let [fh (open-file "data.txt")] (cloneable-shift [k] (serialize k)) fh))\n'
        "(keep-open)\n",
    )
    p = tm(tmp_path, "nope.tm")
    assert p.returncode == 1
    assert "not-serializable" in p.stderr and "FileHandle" in p.stderr
    assert "nope.keep-open" in p.stderr and "variable fh" in p.stderr
    assert "Traceback" not in p.stderr


OWNERSHIP = """\
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
"""


def test_ownership_deserialized_state_is_a_deep_copy(tmp_path: Path) -> None:
    write(tmp_path, "own.tm", OWNERSHIP)
    assert ok(tm(tmp_path, "own.tm")).strip() == "42 42 0"


SCHEMA = """\
(def k (try-with
  (fn []
    (deserialize (read-file "checkpoint.bin")))
  (fn [e k]
    (match e
      (schema-mismatch _ old-version) ->
        (throw (error (str "Cannot resume: checkpoint uses version " old-version
                           " but current code is version " (current-version))))))))
"""


def test_schema_versioning_recipe_reports_both_versions(tmp_path: Path) -> None:
    write(tmp_path, "job.tm", "(defn step [x] (+ 1 (cloneable-shift [k] (write-file \"checkpoint.bin\" (serialize k)) 0)))\n(step 1)\n")
    ok(tm(tmp_path, "job.tm"))
    # no import: deserialize loads job.tm definitions-only, so (step 1) does not run again
    write(tmp_path, "check.tm", SCHEMA + "(println :loaded)\n")
    # unchanged code (comments and whitespace may change): it loads
    (tmp_path / "job.tm").write_text(";; a comment\n" + (tmp_path / "job.tm").read_text().replace("(+ 1", "(+  1"))
    assert ok(tm(tmp_path, "check.tm")).strip() == ":loaded"
    # a changed body: the recipe's error names the old and the current version
    (tmp_path / "job.tm").write_text((tmp_path / "job.tm").read_text().replace("(+  1", "(+ 2"))
    p = tm(tmp_path, "check.tm")
    assert p.returncode == 1
    assert "Cannot resume: checkpoint uses version " in p.stderr
    assert "but current code is version " in p.stderr


PARTIAL = """\
(def captured-value (subs (serialize [1 2 3]) 0 7))
;; Wrap potentially failing values in Option
(def opt-value
  (try
    (deserialize captured-value)
    (catch [e] (None))))
(println (none? opt-value) (match opt-value (None) -> :fell-back _ -> :loaded))
"""


def test_partial_reconstruction_with_option(tmp_path: Path) -> None:
    write(tmp_path, "partial.tm", PARTIAL)
    assert ok(tm(tmp_path, "partial.tm")).strip() == "#t :fell-back"


@pytest.mark.parametrize("script", ["capture.tm"])
def test_inspect_shows_the_envelope_and_frames(tmp_path: Path, script: str) -> None:
    write(tmp_path, "capture.tm", CAPTURE)
    ok(tm(tmp_path, "capture.tm"))
    p = subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "inspect", "continuation.dat"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert "program version:" in p.stdout
    assert "capture~def:result" in p.stdout
    assert "capture.tm:4:8" in p.stdout  # where the frame waits: (+ 1 _)
    assert "size:" in p.stdout and "code table" in p.stdout
