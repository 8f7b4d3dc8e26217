"""Workflows on the embedded SQLite store, run by an in-process worker: start, checkpoint,
steps (once, retries, keys), durable sleep, signals, migration, status, bad input."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.workflow.conftest import corrupt, fn, run_until
from tmweb.lang.values import Keyword
from tmweb.web.app import App
from tmweb.workflow import UnknownWorkflow, Worker, WorkflowFinished

pytestmark = pytest.mark.anyio

ORDERS = """
(def effects (ref []))

(defn note [x] (swap! effects conj x) x)

(defn process-order [order-id]
  (def order (checkpoint "order-validated" {:id order-id :amount 30}))
  (def charge (workflow/step "charge" (fn [] (note [:charged (workflow/step-key)]))))
  (checkpoint "payment-charged" charge)
  (def shipped (workflow/step "fulfil" (fn [] (note [:shipped order-id]))))
  [:done order-id charge shipped])
"""


async def test_start_returns_an_id_at_once_and_a_worker_runs_the_workflow(make_app: Callable[..., App]) -> None:
    app = make_app(ORDERS)
    wf_id = await app.workflows.start(fn(app, "process-order"), (7,))
    assert wf_id.startswith("wf-")
    row = await app.workflows.get(wf_id)
    assert (row.status, row.fn) == ("ready", "flows.process-order")
    row = await run_until(app, wf_id)
    assert row.status == "done", row.error
    assert row.steps == ["charge", "fulfil"]
    assert row.checkpoint == "fulfil" and row.checkpoints == 4
    result = app.workflows.value(row.result)
    assert result[2] == app.rt.eval_text(f'[:charged "{wf_id}/charge"]')


async def test_a_recorded_step_returns_its_result_without_running_again(make_app: Callable[..., App]) -> None:
    app = make_app("""
        (def runs (ref 0))
        (defn twice []
          [(workflow/step "s" (fn [] (swap! runs inc) (deref runs)))
           (workflow/step "s" (fn [] (swap! runs inc) (deref runs)))])
    """)
    wf_id = await app.workflows.start(fn(app, "twice"))
    row = await run_until(app, wf_id)
    assert list(app.workflows.value(row.result)) == [1, 1]


async def test_a_failing_step_is_retried_with_backoff_then_succeeds(make_app: Callable[..., App]) -> None:
    app = make_app("""
        (def tries (ref 0))
        (defn flaky []
          (workflow/step "call" (fn [] (swap! tries inc)
                                       (when (< (deref tries) 3) (throw (error "busy")))
                                       (deref tries))
                         :retries 3 :backoff 0.05))
    """)
    t0 = time.monotonic()
    wf_id = await app.workflows.start(fn(app, "flaky"))
    row = await run_until(app, wf_id)
    assert (row.status, app.workflows.value(row.result)) == ("done", 3)
    assert time.monotonic() - t0 >= 0.05 + 0.1  # two durable pauses, the second doubled


async def test_a_step_that_always_fails_fails_the_workflow_with_its_trace(make_app: Callable[..., App]) -> None:
    app = make_app("""
        (defn broken []
          (workflow/step "call" (fn [] (throw (error "card declined"))) :retries 1 :backoff 0.01))
    """)
    wf_id = await app.workflows.start(fn(app, "broken"))
    row = await run_until(app, wf_id)
    assert row.status == "failed"
    assert "error: card declined" in row.error and "flows.tm:2:" in row.error


async def test_sleep_is_durable_and_the_workflow_sleeps_in_the_store(make_app: Callable[..., App]) -> None:
    app = make_app("""
        (defn nap [] (workflow/sleep 0.3) :awake)
    """)
    wf_id = await app.workflows.start(fn(app, "nap"))
    row = await run_until(app, wf_id, ("sleeping",))
    assert row.wake_at > time.time() and row.lease_owner is None
    row = await run_until(app, wf_id)
    assert row.status == "done" and app.workflows.value(row.result) == Keyword("awake")
    assert row.updated >= row.created + 0.3


async def test_a_signal_sent_after_the_wait_wakes_the_workflow(make_app: Callable[..., App]) -> None:
    app = make_app("""
        (defn approval [] [:approved-by (workflow/await-signal "approve")])
    """)
    wf_id = await app.workflows.start(fn(app, "approval"))
    row = await run_until(app, wf_id, ("waiting",))
    assert row.waiting_for == "approve"
    await app.workflows.signal(wf_id, "approve", "ann")
    row = await run_until(app, wf_id)
    assert list(app.workflows.value(row.result)) == [Keyword("approved-by"), "ann"]


async def test_a_signal_sent_before_the_wait_is_not_lost(make_app: Callable[..., App]) -> None:
    app = make_app("""
        (defn two [] (workflow/sleep 0.1) [(workflow/await-signal "a") (workflow/await-signal "a")])
    """)
    wf_id = await app.workflows.start(fn(app, "two"))
    await app.workflows.signal(wf_id, "a", 1)
    await app.workflows.signal(wf_id, "a", 2)
    row = await run_until(app, wf_id)
    assert list(app.workflows.value(row.result)) == [1, 2]


async def test_unknown_ids_and_signals_to_finished_workflows_are_errors(make_app: Callable[..., App]) -> None:
    app = make_app("(defn quick [] 1)")
    with pytest.raises(UnknownWorkflow, match="no workflow with the id 'wf-nope'"):
        await app.workflows.signal("wf-nope", "x", 1)
    with pytest.raises(UnknownWorkflow):
        await app.workflows.get("wf-nope")
    wf_id = await app.workflows.start(fn(app, "quick"))
    await run_until(app, wf_id)
    with pytest.raises(WorkflowFinished, match="is done: it takes no more signals"):
        await app.workflows.signal(wf_id, "x", 1)


async def test_a_corrupt_record_fails_its_workflow_with_a_reason_and_others_go_on(make_app: Callable[..., App]) -> None:
    app = make_app("(defn quick [x] (checkpoint \"c\" x) (* x 2))")
    bad = await app.workflows.start(fn(app, "quick"), (1,))
    good = await app.workflows.start(fn(app, "quick"), (2,))
    await corrupt(app, bad, b"TMW2garbage")
    row = await run_until(app, good)
    assert app.workflows.value(row.result) == 4
    row = await run_until(app, bad)
    assert row.status == "failed" and "cannot be resumed" in row.error and "corrupt-data" in row.error


async def test_changed_code_fails_with_schema_mismatch_and_resumes_once_restored(make_app: Callable[..., App]) -> None:
    src = """
        (defn waits [] (def v (workflow/await-signal "go")) (+ v 1))
    """
    app = make_app(src)
    wf_id = await app.workflows.start(fn(app, "waits"))
    await run_until(app, wf_id, ("waiting",))
    changed = make_app(src.replace("(+ v 1)", "(+ v 2)"))
    await changed.workflows.signal(wf_id, "go", 1)
    row = await run_until(changed, wf_id)
    assert row.status == "failed" and "schema-mismatch" in row.error and "flows.waits" in row.error
    restored = make_app(src)
    await restored.workflows.backend.retry(wf_id)
    row = await run_until(restored, wf_id)
    assert (row.status, restored.workflows.value(row.result)) == ("done", 2)


async def test_migrate_moves_the_rest_of_the_workflow_to_another_queue(make_app: Callable[..., App]) -> None:
    app = make_app("""
        (defn travel [] (def here (workflow/step "a" (fn [] :node-a))) (workflow/migrate "gpu") [here :node-b])
    """)
    wf_id = await app.workflows.start(fn(app, "travel"))
    row = await run_until(app, wf_id, ("ready",), until=lambda r: r.queue == "gpu")
    assert (row.queue, row.checkpoint) == ("gpu", "migrate to gpu")
    row = await run_until(app, wf_id, queue="gpu")
    assert list(app.workflows.value(row.result)) == [Keyword("node-a"), Keyword("node-b")]


async def test_a_run_that_lost_its_lease_writes_nothing(make_app: Callable[..., App]) -> None:
    app = make_app("(defn slow [] (checkpoint \"a\" 1) (workflow/sleep 0) 2)")
    wf_id = await app.workflows.start(fn(app, "slow"))
    backend = app.workflows.backend
    first = await backend.claim("default", "w1", 0.01)
    await asyncio.sleep(0.05)
    second = await backend.claim("default", "w2", 0.01)
    assert first is not None and second is not None and second.id == first.id
    assert await app.workflows.run(first) == "lost"
    assert (await app.workflows.get(wf_id)).checkpoints == 0
    assert await app.workflows.run(second) == "suspended"


async def test_workflow_functions_outside_a_workflow_say_so(make_app: Callable[..., App]) -> None:
    app = make_app("(defn x [] 1)")
    from tmweb.lang.errors import TurmericError

    with pytest.raises(TurmericError, match="checkpoint works inside a workflow"):
        await _run(app, '(checkpoint "a" 1)')
    with pytest.raises(TurmericError, match="workflow/step works inside a workflow"):
        await _run(app, '(workflow/step "a" (fn [] 1))')


async def _run(app: App, src: str) -> object:
    from tmweb.lang.machine import Machine

    m = Machine()
    m.rt = app.rt
    f = app.rt.eval_text(f"(fn [] {src})")
    return await m.run_async(m.start(f, ()))


async def test_a_handler_starts_a_workflow_and_shows_its_status(make_app: Callable[..., App]) -> None:
    from starlette.testclient import TestClient

    app = make_app("""
        (defn greet [name] (workflow/step "hello" (fn [] (str "hello " name))))
        (defroute POST "/start" [req] (workflow/start greet "ann"))
        (defroute GET "/status/{id}" [req]
          (let [s (workflow/status (path-param req "id"))]
            (json {:status (str (get s :status)) :steps (get s :steps) :result (get s :result)})))
    """)
    with TestClient(app) as client:
        wf_id = client.post("/start").text
    row = await run_until(app, wf_id)
    assert row.status == "done"
    with TestClient(app) as client:
        assert client.get(f"/status/{wf_id}").json() == {"status": ":done", "steps": ["hello"], "result": "hello ann"}


async def test_two_in_process_workers_share_many_workflows_each_once(make_app: Callable[..., App]) -> None:
    app = make_app("""
        (defn one [i] (workflow/step "s" (fn [] (* i i))))
    """)
    ids = [await app.workflows.start(fn(app, "one"), (i,)) for i in range(40)]
    workers = [Worker(app.workflows, lease=2, poll=0.01) for _ in range(2)]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        for _ in range(500):
            rows = await app.workflows.backend.list("done", 1000)
            if len(rows) == 40:
                break
            await asyncio.sleep(0.02)
    finally:
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)
    rows = {r.id: r for r in await app.workflows.backend.list(None, 1000)}
    assert all(rows[i].status == "done" and rows[i].claims == 1 for i in ids)


DATASET = """
(defn process [item] {:item item :square (* item item) :label (str "item-" item)})

(defn analyze [n every]
  ;; the seed's dataset checkpointing: a checkpoint every `every` items
  (let [processed (ref [])]
    (for-each-with-index (range n)
      (fn [i item]
        (swap! processed conj (process item))
        (when (= (mod (+ i 1) every) 0)
          (checkpoint (str "after " (+ i 1)) i))))
    [(count (deref processed)) (get (last (deref processed)) :square)]))
"""


async def test_incremental_checkpoints_write_only_the_chunks_not_stored_yet(make_app: Callable[..., App]) -> None:
    app = make_app(DATASET)
    engine = app.workflows
    written: list[tuple[int, int]] = []
    save = engine.save

    async def recording(ctx, k, value, s):  # type: ignore[no-untyped-def]
        taken = await save(ctx, k, value, s)
        written.append((engine.last_written, s.size))
        return taken

    engine.save = recording  # type: ignore[method-assign]
    wf_id = await engine.start(fn(app, "analyze"), (2000, 200))
    row = await run_until(app, wf_id)
    assert (row.status, list(engine.value(row.result))) == ("done", [2000, 1999 * 1999])
    assert row.checkpoints == 10
    late = written[-3:]
    assert all(size > 50_000 for _, size in late)
    # each later checkpoint adds 200 items to a list already stored: far less than the whole
    assert all(w < size / 3 for w, size in late), written


async def test_a_workflow_resumed_from_an_incremental_checkpoint_goes_on(make_app: Callable[..., App]) -> None:
    app = make_app(DATASET)
    wf_id = await app.workflows.start(fn(app, "analyze"), (1500, 500))
    backend = app.workflows.backend
    claimed = await backend.claim("default", "w1", 0.01)
    assert claimed is not None
    # a run that stops after its second checkpoint, as a killed worker does
    calls = 0
    save = app.workflows.save

    async def crash_after_two(ctx, k, value, s):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls > 2:
            raise asyncio.CancelledError
        return await save(ctx, k, value, s)

    app.workflows.save = crash_after_two  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await app.workflows.run(claimed)
    app.workflows.save = save  # type: ignore[method-assign]
    row = await app.workflows.get(wf_id)
    assert row.checkpoint == "after 1000" and row.state.startswith(b"TMWC")
    await asyncio.sleep(0.02)  # the lease runs out
    row = await run_until(app, wf_id)
    assert list(app.workflows.value(row.result)) == [1500, 1499 * 1499]


async def test_a_missing_chunk_fails_the_workflow_with_a_reason(make_app: Callable[..., App]) -> None:
    app = make_app(DATASET.replace('(checkpoint (str "after " (+ i 1)) i)', '(workflow/await-signal "go")'))
    wf_id = await app.workflows.start(fn(app, "analyze"), (1000, 1000))
    row = await run_until(app, wf_id, ("waiting",))
    assert row.state.startswith(b"TMWC")
    backend = app.workflows.backend
    if hasattr(backend, "r"):
        await backend.r.delete(backend._wf(wf_id) + ":chunks")
    else:
        await backend._run(lambda conn: conn.execute("DELETE FROM wf_chunks WHERE wf = ?", (wf_id,)))
    await app.workflows.signal(wf_id, row.waiting_for, 1)
    row = await run_until(app, wf_id)
    assert row.status == "failed" and "corrupt-data" in row.error and "is missing from the store" in row.error


async def test_a_workflow_waits_for_a_person_who_follows_an_emailed_link(make_app: Callable[..., App]) -> None:
    from starlette.testclient import TestClient

    app = make_app("""
        (def outbox (ref []))
        (defn send-email [to url] (swap! outbox conj [to url]))

        (defn approval [who]
          (let [id (workflow/id)
                url (workflow/step "link"
                      (fn [] (continuation-url
                               (save-continuation
                                 (fn [data] (workflow/signal id "answer" (get data "ok")) "Thanks, noted.")
                                 :shareable #t :ttl 86400))))]
            (workflow/step "mail" (fn [] (send-email who url)))
            [:approved (workflow/await-signal "answer")]))
    """)
    wf_id = await app.workflows.start(fn(app, "approval"), ("boss@example.com",))
    await run_until(app, wf_id, ("waiting",))
    [[to, url]] = list(fn(app, "outbox").value)
    assert to == "boss@example.com" and url.startswith("/k/")
    with TestClient(app) as person:  # another browser: the link is shareable
        assert person.get(url).status_code == 200  # a preview uses nothing up
        assert person.post(url, data={"ok": "yes"}).text == "Thanks, noted."
        assert person.post(url, data={"ok": "no"}).status_code == 410  # one-shot
    row = await run_until(app, wf_id)
    assert list(app.workflows.value(row.result)) == [Keyword("approved"), "yes"]


async def test_exit_in_a_workflow_fails_that_workflow_and_the_worker_goes_on(make_app: Callable[..., App]) -> None:
    app = make_app("""
        (defn quits [] (exit 3))
        (defn fine [] :ok)
    """)
    bad = await app.workflows.start(fn(app, "quits"))
    good = await app.workflows.start(fn(app, "fine"))
    row = await run_until(app, bad)
    assert row.status == "failed" and "(exit 3)" in row.error
    assert (await run_until(app, good)).status == "done"


async def test_an_http_post_the_app_exposes_signals_a_workflow(make_app: Callable[..., App]) -> None:
    from starlette.testclient import TestClient

    app = make_app("""
        (defn approval [] [:by (workflow/await-signal "approve")])
        (defroute POST "/approve/{id}" [req]
          (try
            (workflow/signal (path-param req "id") "approve" (get (form-data req) "who"))
            "sent"
            (catch [e] (response (str "cannot: " e.message) :status 409))))
    """)
    wf_id = await app.workflows.start(fn(app, "approval"))
    await run_until(app, wf_id, ("waiting",))
    with TestClient(app) as client:
        assert client.post(f"/approve/{wf_id}", data={"who": "ann"}).text == "sent"
    row = await run_until(app, wf_id)
    assert list(app.workflows.value(row.result)) == [Keyword("by"), "ann"]
    with TestClient(app) as client:
        late = client.post(f"/approve/{wf_id}", data={"who": "bob"})
        unknown = client.post("/approve/wf-nope", data={"who": "bob"})
    assert late.status_code == 409 and "is done: it takes no more signals" in late.text
    assert unknown.status_code == 409 and "no workflow with the id 'wf-nope'" in unknown.text


async def test_a_workflow_whose_runs_keep_dying_is_failed_after_ten_claims(make_app: Callable[..., App]) -> None:
    from tmweb.workflow.records import MAX_TRIES

    app = make_app('(defn doomed [] (checkpoint "a" 1) 2)')
    wf_id = await app.workflows.start(fn(app, "doomed"))
    backend = app.workflows.backend
    for i in range(MAX_TRIES):  # each claimer dies before its first checkpoint
        row = await backend.claim("default", f"w{i}", 0.01)
        assert row is not None and row.id == wf_id
        await asyncio.sleep(0.03)
    assert await backend.claim("default", "last", 0.01) is None
    row = await app.workflows.get(wf_id)
    assert row.status == "failed" and f"claimed {MAX_TRIES} times in a row without reaching a checkpoint" in row.error
    await backend.retry(wf_id)
    row = await run_until(app, wf_id)
    assert (row.status, app.workflows.value(row.result)) == ("done", 2)
