"""Every example of the seed document (shared/seeds/000_...), run as real programs.

The programs are the files of tests/programs/ (its README says which seed example each one
is; the benchmarks and tests/lang/serial use some of them too). Where the seed says "another
process", the test runs a second `tmweb run`.
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


PROGRAMS = Path(__file__).resolve().parents[1] / "programs"


def program(name: str) -> str:
    """The text of tests/programs/NAME."""
    return (PROGRAMS / name).read_text(encoding="utf-8")


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert "Traceback" not in p.stderr
    return p.stdout


#: Loading with the C decoder (where it was built) and with msgpack's Unpacker, what a
#: machine without a C compiler uses.
DECODERS = pytest.mark.parametrize("pure", ["0", "1"], ids=["c-decoder", "pure-python"])


@DECODERS
def test_capture_then_resume_in_another_process_prints_43(tmp_path: Path, pure: str) -> None:
    write(tmp_path, "capture.tm", program("capture.tm"))
    write(tmp_path, "later.tm", program("resume.tm"))
    ok(tm(tmp_path, "capture.tm"))
    assert (tmp_path / "continuation.dat").exists()
    assert ok(tm(tmp_path, "later.tm", env={"TMWEB_PURE_PYTHON": pure})).strip() == "43"


def test_persistent_workflow_survives_a_crash_and_charges_once(tmp_path: Path) -> None:
    write(tmp_path, "orders.tm", program("workflow.tm"))
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


#: How the test starts the dataset example: `tmweb run analysis.tm start`.
DATASET_START = """
(when (= (first (command-line-args)) "start")
  (analyze-large-dataset (range 3500))
  (println "processed" processed-count))
"""


@DECODERS
def test_long_computation_resumes_from_a_checkpoint_file(tmp_path: Path, pure: str) -> None:
    write(tmp_path, "analysis.tm", program("dataset.tm") + DATASET_START)
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


def test_task_migrates_to_another_process(tmp_path: Path) -> None:
    node_a = tmp_path / "a"
    node_a.mkdir()
    write(node_a, "node_a.tm", program("migration_node_a.tm"))
    ok(tm(node_a, "node_a.tm"))
    # node B has its own folder; it finds node A's code on TURMERIC_PATH
    node_b = tmp_path / "b"
    node_b.mkdir()
    (node_b / "job.bin").write_bytes((node_a / "job.bin").read_bytes())
    write(node_b, "node_b.tm", program("migration_node_b.tm"))
    out = ok(tm(node_b, "node_b.tm", env={"TURMERIC_PATH": str(node_a)}))
    assert out.strip() == "45"


def test_web_continuation_example_resumes_in_another_process(tmp_path: Path) -> None:
    write(tmp_path, "shop.tm", program("web.tm"))
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


def test_resource_marshalling_reopens_a_file_in_the_new_process(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("alpha\nbeta\n")
    write(tmp_path, "res.tm", program("resources.tm"))
    assert ok(tm(tmp_path, "res.tm", "start")).strip() == ":suspended"
    write(tmp_path, "res_resume.tm", '(println (resume (deserialize (read-file "reader.bin"))))\n')
    # the handle was re-opened by path: reading starts again at the top of the file
    assert ok(tm(tmp_path, "res_resume.tm")).strip() == '["alpha" "alpha"]'


def test_serializable_class_declarations_and_filehandle_instance(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("line one\n")
    write(tmp_path, "classes.tm", program("serializable_classes.tm"))
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


def test_ownership_deserialized_state_is_a_deep_copy(tmp_path: Path) -> None:
    write(tmp_path, "own.tm", program("ownership.tm"))
    assert ok(tm(tmp_path, "own.tm")).strip() == "42 42 0"


def test_schema_versioning_recipe_reports_both_versions(tmp_path: Path) -> None:
    write(tmp_path, "job.tm", "(defn step [x] (+ 1 (cloneable-shift [k] (write-file \"checkpoint.bin\" (serialize k)) 0)))\n(step 1)\n")
    ok(tm(tmp_path, "job.tm"))
    # no import: deserialize loads job.tm definitions-only, so (step 1) does not run again
    write(tmp_path, "check.tm", program("schema_versioning.tm") + "(println :loaded)\n")
    # unchanged code (comments and whitespace may change): it loads
    (tmp_path / "job.tm").write_text(";; a comment\n" + (tmp_path / "job.tm").read_text().replace("(+ 1", "(+  1"))
    assert ok(tm(tmp_path, "check.tm")).strip() == ":loaded"
    # a changed body: the recipe's error names the old and the current version
    (tmp_path / "job.tm").write_text((tmp_path / "job.tm").read_text().replace("(+  1", "(+ 2"))
    p = tm(tmp_path, "check.tm")
    assert p.returncode == 1
    assert "Cannot resume: checkpoint uses version " in p.stderr
    assert "but current code is version " in p.stderr


def test_partial_reconstruction_with_option(tmp_path: Path) -> None:
    write(tmp_path, "partial.tm", program("partial.tm"))
    assert ok(tm(tmp_path, "partial.tm")).strip() == "#t :fell-back"


@pytest.mark.parametrize("script", ["capture.tm"])
def test_inspect_shows_the_envelope_and_frames(tmp_path: Path, script: str) -> None:
    write(tmp_path, "capture.tm", program("capture.tm"))
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
