"""`verify_chain` over literal rows and checkpoints: an intact chain, then each way a chain
can be damaged — an edited body, edited query columns, a deleted row, swapped sequence
numbers, a cut-off tail, a rewritten chain under a checkpoint, a row that is not an entry —
named as `seq N: what is wrong`, never raised; and the cap on how many are listed."""

from __future__ import annotations

import hashlib
from typing import Any

from pipelines.audit.ledger import GENESIS, LedgerEntry
from pipelines.audit.verify import conclude, scan_chain, verify_chain
from pipelines.state.store import LedgerRow

TS = 1_700_000_000.0


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def entry_row(
    seq: int, prev: str, kind: str, spec: str, env: str | None, **details: Any
) -> LedgerRow:
    body = LedgerEntry(seq, TS + seq, kind, spec, env, details, prev).body()
    return LedgerRow(seq, TS + seq, kind, spec, env, prev, sha(body), body)


def chain(count: int = 3) -> list[LedgerRow]:
    """seq 1: gates of credit; then promotions of credit to production, models 1, 2, ..."""
    rows = [entry_row(1, GENESIS, "gates", "credit", None, passed=True)]
    for seq in range(2, count + 1):
        model = f"models:/credit/{seq - 1}"
        rows.append(entry_row(seq, rows[-1].hash, "promoted", "credit", "production", model=model))
    return rows


def checkpoint(seq: int, head: str, reason: str = "apply") -> dict[str, Any]:
    return {"seq": seq, "head": head, "ts": TS, "reason": reason, "key": "k", "signature": "s"}


def test_an_intact_chain_and_its_head() -> None:
    rows = chain()
    report = verify_chain(rows, [checkpoint(2, rows[1].hash), checkpoint(3, rows[2].hash)])
    assert (report.intact, report.problems, report.count) == (True, [], 3)
    assert (report.head, report.checkpoints) == ((3, rows[2].hash), 2)
    empty = verify_chain([], [])
    assert (empty.intact, empty.count, empty.head) == (True, 0, None)


def test_an_edited_body_no_longer_matches_its_hash() -> None:
    rows = chain()
    rows[1] = rows[1]._replace(body=rows[1].body.replace("credit/1", "credit/9"))
    assert verify_chain(rows, []).problems == ["seq 2: content does not match its hash (edited)"]


def test_edited_query_columns_disagree_with_the_body() -> None:
    rows = chain()
    rows[1] = rows[1]._replace(kind="rollback", env="staging")
    assert verify_chain(rows, []).problems == [
        "seq 2: columns say rollback credit/staging but the entry says promoted "
        "credit/production (edited outside Shipyard)"
    ]


def test_a_deleted_middle_row_breaks_the_link_and_the_sequence() -> None:
    rows = chain(4)
    del rows[1]
    assert verify_chain(rows, []).problems == [
        "seq 3: does not follow the entry before it (seq 1)",
        "seq 3 after seq 1: missing entries",
    ]


def test_swapped_sequence_numbers_are_caught() -> None:
    second, third = chain()[1:]
    # The seq columns of entries 2 and 3 swapped: read in seq order, 3's body comes second.
    rows = [chain()[0], third._replace(seq=2), second._replace(seq=3)]
    assert verify_chain(rows, []).problems == [
        "seq 2: stored as seq 2 but its content says 3",
        "seq 2: does not follow the entry before it (seq 1)",
        "seq 3: stored as seq 3 but its content says 2",
        "seq 3: does not follow the entry before it (seq 2)",
    ]


def test_rows_read_out_of_order_are_caught() -> None:
    first, second, third = chain()
    assert verify_chain([first, third, second], []).problems == [
        "seq 3: does not follow the entry before it (seq 1)",
        "seq 3 after seq 1: missing entries",
        "seq 2: does not follow the entry before it (seq 3)",
        "seq 2 after seq 3: out of order",
    ]


def test_a_tail_cut_off_behind_a_checkpoint_is_caught() -> None:
    rows = chain(5)
    # The chain cut back to seq 3 is intact in itself; only the checkpoint of seq 5 says so.
    report = verify_chain(rows[:3], [checkpoint(3, rows[2].hash), checkpoint(5, rows[4].hash)])
    assert report.problems == [
        "checkpoint of seq 5 (apply): the chain ends at seq 3, before this signed checkpoint "
        "— entries 4..5 were removed (truncated)"
    ]


def test_a_chain_rewritten_under_a_checkpoint_is_caught() -> None:
    rows = chain()
    rewritten = [*rows[:1], *chain_from(rows[0], models=("models:/credit/7", "models:/credit/8"))]
    assert verify_chain(rewritten, [checkpoint(2, rows[1].hash, "monitor")]).problems == [
        "checkpoint of seq 2 (monitor): the entry's hash is not the one signed (rewritten chain)"
    ]


def chain_from(first: LedgerRow, models: tuple[str, ...]) -> list[LedgerRow]:
    """A valid continuation of `first` (a rewritten history: every hash recomputed)."""
    rows = [first]
    for model in models:
        seq = rows[-1].seq + 1
        rows.append(entry_row(seq, rows[-1].hash, "promoted", "credit", "production", model=model))
    return rows[1:]


def test_a_checkpoint_whose_entry_is_gone_and_a_bad_signature() -> None:
    rows = chain(4)
    del rows[1]

    def signature(found: dict[str, Any]) -> str | None:
        return "its signature does not match (forged or edited)" if found["seq"] == 4 else None

    report = verify_chain(
        rows,
        [checkpoint(2, chain(4)[1].hash), checkpoint(4, rows[-1].hash, "rollback")],
        signature,  # type: ignore[arg-type]  # a Mapping check; dicts are given
    )
    assert report.problems[2:] == [
        "checkpoint of seq 2 (apply): the entry it signed is gone",
        "checkpoint of seq 4 (rollback): its signature does not match (forged or edited)",
    ]


def test_rows_that_are_not_entries_are_named_not_raised() -> None:
    rows = chain(5)
    rows[1] = rows[1]._replace(body="not json", hash=sha("not json"))
    rows[2] = rows[2]._replace(body="[1, 2]", hash=sha("[1, 2]"))
    rows[3] = rows[3]._replace(body='{"seq": 4}', hash=sha('{"seq": 4}'))
    assert verify_chain(rows, []).problems == [
        "seq 2: malformed entry, not a ledger record (Expecting value: line 1 column 1 (char 0))",
        "seq 3: malformed entry, not a ledger record (fields <class 'list'>)",
        "seq 4: malformed entry, not a ledger record (fields ['seq'])",
        "seq 5: does not follow the entry before it (seq 4)",
    ]


def test_at_most_limit_problems_are_listed_and_the_rest_counted() -> None:
    rows = [row._replace(body=row.body + " ") for row in chain(10)]
    problems = verify_chain(rows, [], limit=3).problems
    assert problems == [
        "seq 1: content does not match its hash (edited)",
        "seq 2: content does not match its hash (edited)",
        "seq 3: content does not match its hash (edited)",
        "... and 7 more problems",
    ]


def damaged_chains() -> dict[str, tuple[list[LedgerRow], list[dict[str, Any]]]]:
    """Chains of 8 with one kind of damage each, and the checkpoints they are read with."""
    rows = chain(8)
    edited = [*rows[:3], rows[3]._replace(body=rows[3].body + " "), *rows[4:]]
    deleted = [*rows[:4], *rows[5:]]
    swapped = [*rows[:2], rows[5], *rows[3:5], rows[2], *rows[6:]]
    garbled = [*rows[:4], rows[4]._replace(body=b"\x00", hash=None), *rows[5:]]  # type: ignore[arg-type]
    cut = rows[:6]
    signed = [checkpoint(4, rows[3].hash), checkpoint(8, rows[7].hash)]
    return {
        "intact": (rows, signed),
        "edited": (edited, signed),
        "deleted": (deleted, signed),
        "swapped": (swapped, signed),
        "garbled": (garbled, signed),
        "cut": (cut, signed),
    }


def test_stretches_checked_apart_say_exactly_what_one_pass_says() -> None:
    # `audit verify` reads a large ledger in stretches, one process each: a stretch starts
    # from the last row of the one before it (seq, hash), whatever that row is.
    for name, (rows, signed) in damaged_chains().items():
        whole = verify_chain(rows, signed)
        wanted = {int(c["seq"]): c for c in signed}
        for cut in range(len(rows) + 1):
            for cut2 in range(cut, len(rows) + 1):
                after = [(0, GENESIS)] + [
                    (rows[at - 1].seq, rows[at - 1].hash) if at else (0, GENESIS)
                    for at in (cut, cut2)
                ]
                stretches = [rows[:cut], rows[cut:cut2], rows[cut2:]]
                parts = [
                    scan_chain(stretch, set(wanted), after=start)
                    for stretch, start in zip(stretches, after, strict=True)
                ]
                assert conclude(parts, wanted) == whole, (name, cut, cut2)


def test_concluded_stretches_cap_the_problems_listed_as_one_pass_does() -> None:
    rows = [row._replace(body=row.body + " ") for row in chain(10)]
    first = scan_chain(rows[:5], set(), limit=3)
    second = scan_chain(rows[5:], set(), after=(rows[4].seq, rows[4].hash), limit=3)
    assert (
        conclude([first, second], {}, limit=3).problems == verify_chain(rows, [], limit=3).problems
    )
