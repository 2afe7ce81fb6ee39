"""How a number of the release becomes a :class:`~assets.reports.model.Figure`.

Every count in the report is looked up in ``release_ledger`` — the cells the release actually
published — never in microdata and never recomputed: a cell that is not in the ledger is not
shown as a number. Counts, absent cells and shares follow CBS's notation
(:mod:`assets.reports.notation`); shares are derived only from published cells, and a share with
a suppressed part is ``"×"`` too and says which part. A table protected by the cell key method
(``meta_table_protection``) is read the same way: its published, perturbed counts are the
figures, and its totals need not add up. The report check (``verify``) rebuilds figures from
the ledger with these same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assets.reports import labels as lb
from assets.reports.model import Cell, Figure, Ledger, ReleaseMeta
from assets.reports.notation import NIL, NOT_AVAILABLE, SECRET, suppressed_text


def count_figure(cell: Cell | None, threshold: int) -> Figure:
    """How one ledger cell is shown: its value, ``×`` when suppressed, ``–`` when the ledger
    does not list it (a suppression table lists no true zeros) or lists it as 0 (a table the
    cell key method perturbs lists every cell; CBS writes a zero as ``–`` everywhere)."""
    if cell is None:
        return Figure("absent", NIL, value=0.0)
    if cell.suppressed or cell.value is None:
        return Figure("count", suppressed_text(threshold), None, cell.key, suppressed=True)
    if round(cell.value) == 0:
        return Figure("count", NIL, 0.0, cell.key)
    return Figure("count", lb.fmt_int(cell.value), float(cell.value), cell.key)


def share_figure(numerator: Sequence[Figure], denominator: Sequence[Figure]) -> Figure:
    """A percentage from published figures only; ``×`` with the reason when a part of it was
    suppressed (the share would otherwise leak or guess a withheld number), ``.`` for a share of
    nobody."""
    num_keys = tuple(f.cell_key for f in numerator if f.cell_key)
    den_keys = tuple(f.cell_key for f in denominator if f.cell_key)
    sup_num = any(f.suppressed for f in numerator)
    sup_den = any(f.suppressed for f in denominator)
    if sup_num or sup_den:
        which = (
            "teller en noemer onderdrukt"
            if sup_num and sup_den
            else "teller onderdrukt"
            if sup_num
            else "noemer onderdrukt"
        )
        return Figure("derived", SECRET, None, num_keys=num_keys, den_keys=den_keys, note=which)
    den = sum(f.value or 0.0 for f in denominator)
    if den <= 0:
        return Figure("derived", NOT_AVAILABLE, None, num_keys=num_keys, den_keys=den_keys)
    value = sum(f.value or 0.0 for f in numerator) / den
    return Figure("derived", lb.fmt_pct(value), value, num_keys=num_keys, den_keys=den_keys)


def share_from_cells(
    ledger: Ledger, num_keys: Sequence[str], den_keys: Sequence[str]
) -> str | None:
    """The text :func:`share_figure` shows for these cell keys (``None``: a key is unknown).

    Used by the report check to recompute a derived number from the ledger alone.
    """
    cells = [ledger.cells.get(k) for k in (*num_keys, *den_keys)]
    if any(c is None for c in cells):
        return None
    num = [count_figure(ledger.cells[k], 0) for k in num_keys]
    den = [count_figure(ledger.cells[k], 0) for k in den_keys]
    return share_figure(num, den).text


def param_figure(name: str, text: str) -> Figure:
    """A release figure from meta_release, named so the check can look it up."""
    return Figure("param", text, value=lb.parse_int(text), param=name)


def label_figure(text: str) -> Figure:
    """A coordinate label or fixed phrase that holds digits (verified against the vocabulary)."""
    return Figure("label", text)


def change_figure(before: Figure, after: Figure) -> Figure:
    """``after − before`` as the change section shows it: a signed count (``+12``), or for
    shares a signed number of percentage points (``+2,1``); ``×`` when a side is secret (or
    derived from a secret cell), ``.`` when a side is not available."""
    points = "derived" in (before.kind, after.kind)
    sides = (before, after)
    if any(f.suppressed or f.text == SECRET for f in sides):
        return Figure("change", SECRET, None, suppressed=True, before=before, after=after)
    if any(f.value is None for f in sides):
        return Figure("change", NOT_AVAILABLE, None, before=before, after=after)
    diff = float(after.value) - float(before.value)  # type: ignore[arg-type]
    text = lb.fmt_signed_points(diff) if points else lb.fmt_signed_int(diff)
    return Figure("change", text, diff, before=before, after=after)


def figure_from_source(source: Mapping[str, Any], ledger: Ledger, params: Mapping[str, str]):
    """Rebuild a count, absent, derived or param figure from its ``source()`` and its
    release's ledger and parameter texts (``None`` when the source is not in that release).

    Used by the report check to recompute both sides of a change.
    """
    kind = source.get("kind")
    if kind == "absent":
        return Figure("absent", NIL, value=0.0)
    if kind == "count":
        cell = ledger.cells.get(str(source.get("cell")))
        return None if cell is None else count_figure(cell, 0)
    if kind == "derived":
        num, den = list(source.get("num") or []), list(source.get("den") or [])
        if any(k not in ledger.cells for k in (*num, *den)):
            return None
        return share_figure(
            [count_figure(ledger.cells[k], 0) for k in num],
            [count_figure(ledger.cells[k], 0) for k in den],
        )
    if kind == "param":
        text = params.get(str(source.get("param")))
        return None if text is None else param_figure(str(source.get("param")), text)
    return None


def release_params(meta: ReleaseMeta, ledger: Ledger, threshold: int) -> dict[str, str]:
    """The release figures the methods section shows, as text (name → text).

    The report check recomputes this from the database to verify every ``param`` figure.
    """
    anon = meta.parameters.get("anonymisation", {})
    out: dict[str, str] = {"threshold": lb.fmt_int(threshold)}

    def put(name: str, value: Any, fmt: Any) -> None:
        if value is not None:
            out[name] = fmt(value)

    put("k_required", anon.get("k"), lb.fmt_int)
    put("k_achieved", meta.k_achieved, lb.fmt_int)
    put("persons_suppressed", meta.persons_suppressed, lb.fmt_int)
    put("suppression_limit", anon.get("suppression_limit"), lb.fmt_pct)
    put("cells_primary", meta.cells_suppressed_primary, lb.fmt_int)
    put("cells_secondary", meta.cells_suppressed_secondary, lb.fmt_int)
    put("information_loss", meta.information_loss, lambda v: lb.fmt_decimal(v, 3))
    put("max_risk", meta.max_risk, lambda v: lb.fmt_decimal(v, 3))
    put("avg_risk", meta.avg_risk, lambda v: lb.fmt_decimal(v, 3))
    out["cells_published"] = lb.fmt_int(len(ledger))
    out["cells_withheld"] = lb.fmt_int(sum(c.suppressed for c in ledger.cells.values()))
    for attr, l_value in (anon.get("l_diversity") or {}).items():
        if l_value:
            out[f"l_diversity.{attr}"] = lb.fmt_int(l_value)
    return out
