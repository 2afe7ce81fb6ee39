"""One export contract per organisation: the one place an export's facts are written.

``assets/raw/contracts/<organisation>.py`` declares, per export, the file pattern, encoding,
separator, the ordered columns with their kind (id, code with its code list, integer with its
range, date with its formats, amount, BSN, direct identifier, free text …), the id column and the
person-key column, and which columns are never read past the raw layer. Everything else derives
from it:

* the raw layer reads the files as the contract says (``assets/raw/reader.py``) and one raw
  asset per export is built from it, with its description (``assets/raw/assets.py``);
* the raw expectation suites are the contract's columns, ids, code lists, ranges, dates and BSN
  (``assets/raw/suite.py``);
* each adapter's ``EXPORTS`` is its contract; staging loads the contract's read columns under
  their aliases, and the adapters take date formats and ranges from it;
* the governance purge and access requests find a person's raw rows by the contract's person key
  and BSN column (``assets/governance/``);
* the synthetic generator (``synthetic/``) writes each export's file name, header, encoding,
  separator and byte-order mark from it.

A changed export is one edit here (and its description in ``assets/raw/FORMATS.md``).
Standard library only: the synthetic generator imports this without pulling in the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from assets.raw.contracts import aalsmeer, breda, groningen, hengelo, zuidplas
from assets.raw.contracts.groningen import BRIDGE_DOMAINS
from assets.raw.contracts.model import Column, Contract, ExportSpec

CONTRACTS: Mapping[str, Contract] = MappingProxyType(
    {m.CONTRACT.organisation: m.CONTRACT for m in (groningen, zuidplas, aalsmeer, hengelo, breda)}
)
"""Organisation code -> its contract, in the canonical organisation order."""


def export_spec(organisation: str, export: str) -> ExportSpec:
    """One export's contract; ValueError naming the known exports otherwise.

    >>> export_spec("hengelo", "trajectories").header[:2]
    ('traject_id', 'contact_id')
    """
    contract = CONTRACTS.get(organisation)
    names = [e.name for e in contract.exports] if contract else []
    if export not in names:
        known = ", ".join(f"{o}/{e.name}" for o, c in CONTRACTS.items() for e in c.exports)
        raise ValueError(f"no export contract for {organisation}/{export}; known: {known}")
    return contract.export(export)


__all__ = ["BRIDGE_DOMAINS", "CONTRACTS", "Column", "Contract", "ExportSpec", "export_spec"]
