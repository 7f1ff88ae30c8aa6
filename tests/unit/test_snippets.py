from __future__ import annotations

import pytest

from quill.context.snippets import Buffer, SnippetFinder, tokens

INVOICES = """\
from decimal import Decimal


def invoice_total(invoice_lines: list[InvoiceLine], tax_rate: Decimal) -> Decimal:
    subtotal = sum(line.unit_price * line.quantity for line in invoice_lines)
    return subtotal * (1 + tax_rate)


def invoice_discount(invoice_lines: list[InvoiceLine], coupon: Coupon) -> Decimal:
    subtotal = sum(line.unit_price * line.quantity for line in invoice_lines)
    return subtotal * coupon.percent / 100
"""

LOGGING = """\
import logging

logger = logging.getLogger(__name__)


def configure_handlers(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
"""

PRICES = """\
from decimal import Decimal

PRICE_LIST: dict[str, Decimal] = {"apple": Decimal("0.40"), "pear": Decimal("0.55")}


def unit_price(product: str) -> Decimal:
    return PRICE_LIST[product]
"""

QUERY = """\
def invoice_shipping(invoice_lines: list[InvoiceLine], weight_rate: Decimal) -> Decimal:
    subtotal = sum(line.unit_price * line.quantity for line in invoice_lines)
"""


def _numbered(count: int, prefix: str) -> str:
    return "\n".join(f"{prefix}_{line} = {prefix}_{line + 1}" for line in range(count))


def test_tokens_are_identifiers_without_keywords_or_single_letters() -> None:
    assert tokens("for x in items: return self.total_price + 2") == {"items", "total_price"}


def test_the_buffer_sharing_the_vocabulary_ranks_first() -> None:
    finder = SnippetFinder()
    buffers = [
        Buffer("logging.py", 1, LOGGING),
        Buffer("prices.py", 1, PRICES),
        Buffer("invoices.py", 1, INVOICES),
    ]
    found = finder.similar(QUERY, buffers, min_score=0.0)
    # prices.py shares two names, logging.py none at all
    assert [snippet.path for snippet in found] == ["invoices.py", "prices.py"]
    assert "invoice_lines" in found[0].text
    assert found[0].score > 0.3


def test_one_window_per_buffer_and_at_most_max_snippets() -> None:
    text = "\n".join([QUERY] * 30)  # the same code in every window
    buffers = [Buffer(f"b{index}.py", 1, text) for index in range(5)]
    found = SnippetFinder().similar(QUERY, buffers, max_snippets=3, window_lines=4)
    assert [snippet.path for snippet in found] == ["b0.py", "b1.py", "b2.py"]


def test_the_best_window_of_a_long_buffer() -> None:
    text = "\n".join([_numbered(100, "noise"), INVOICES, _numbered(100, "other")])
    [snippet] = SnippetFinder().similar(QUERY, [Buffer("long.py", 1, text)], window_lines=10)
    assert 100 <= snippet.start_line <= snippet.end_line < 112
    lines = text.split("\n")
    assert snippet.text == "\n".join(lines[snippet.start_line : snippet.end_line + 1])


def test_keyword_only_overlap_scores_low() -> None:
    keywords_only = "for x in range(10):\n    if x:\n        return self\n    else:\n        pass\n"
    query = "for y in range(3):\n    if y:\n        return self.account_balance\n"
    assert SnippetFinder().similar(query, [Buffer("kw.py", 1, keywords_only)]) == []


def test_blank_lines_around_a_window_are_trimmed() -> None:
    text = "\n\n\n" + QUERY + "\n\n\n"
    [snippet] = SnippetFinder().similar(QUERY, [Buffer("padded.py", 1, text)], window_lines=20)
    assert (snippet.start_line, snippet.end_line) == (3, 4)
    assert snippet.text == QUERY.rstrip("\n")


def test_snippet_text_keeps_the_buffers_line_ends() -> None:
    text = QUERY.replace("\n", "\r\n") + "\r\n"
    [snippet] = SnippetFinder().similar(QUERY, [Buffer("crlf.py", 1, text)])
    assert snippet.text == QUERY.rstrip("\n").replace("\n", "\r\n")


def test_a_new_version_is_reindexed_and_the_same_version_is_trusted() -> None:
    finder = SnippetFinder()
    assert finder.similar(QUERY, [Buffer("a.py", 1, LOGGING)]) == []
    # The version identifies the text: the same version is served from the cache...
    assert finder.similar(QUERY, [Buffer("a.py", 1, INVOICES)]) == []
    # ...and a new version is read again.
    assert [s.path for s in finder.similar(QUERY, [Buffer("a.py", 2, INVOICES)])] == ["a.py"]


def test_the_cache_is_bounded_and_forgets_closed_buffers() -> None:
    finder = SnippetFinder(max_cached_buffers=1)
    finder.similar(QUERY, [Buffer("a.py", 1, LOGGING)])
    finder.similar(QUERY, [Buffer("b.py", 1, LOGGING)])  # evicts a.py
    assert finder.similar(QUERY, [Buffer("a.py", 1, INVOICES)]) != []
    finder.forget("a.py")
    assert finder.similar(QUERY, [Buffer("a.py", 1, LOGGING)]) == []


def test_empty_inputs() -> None:
    finder = SnippetFinder()
    assert finder.similar("", [Buffer("a.py", 1, INVOICES)]) == []
    assert finder.similar(QUERY, [Buffer("empty.py", 1, "")]) == []
    assert finder.similar(QUERY, []) == []
    with pytest.raises(ValueError, match="window_lines"):
        finder.similar(QUERY, [], window_lines=0)
