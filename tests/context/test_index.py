"""The workspace index: built once, kept on disk, updated file by file. (The store's own
faults, a corrupt, deleted or full store and two writers, are in test_store.py.)"""

from __future__ import annotations

from pathlib import Path

from quill.context.index import WorkspaceIndex
from quill.context.store import SymbolStore
from quill.context.symbols import Import


def _project(root: Path) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "pricing.py").write_text(
        'TAX_RATE = 0.2\n\n\ndef net_price(gross: float) -> float:\n    """Price without tax."""\n'
        "    return gross / (1 + TAX_RATE)\n"
    )
    (root / "shop" / "cart.py").write_text(
        "from shop.pricing import net_price\nfrom .models import Item\n\n\n"
        "def total(items):\n    return sum(net_price(i.price) for i in items)\n"
    )
    (root / "shop" / "models.py").write_text(
        "class Item:\n    def __init__(self, price):\n        self.price = price\n"
    )
    (root / "web").mkdir()
    (root / "web" / "util.ts").write_text(
        "export function slugify(title: string): string {\n  return title;\n}\n"
    )
    (root / "web" / "page.ts").write_text(
        "import { slugify } from './util';\nconst s = slugify('A');\n"
    )
    return root


def test_a_scan_finds_definitions_and_resolves_imports(tmp_path: Path) -> None:
    root = _project(tmp_path / "ws")
    index = WorkspaceIndex(SymbolStore(tmp_path / "store"))
    report = index.scan([root])
    assert report.files == 6
    assert report.parsed == 6
    [net] = index.lookup("net_price")
    assert net.path == str(root / "shop" / "pricing.py")
    assert net.symbol.docstring == "Price without tax."
    cart = str(root / "shop" / "cart.py")
    assert index.resolve(cart, "python", "shop.pricing") == (str(root / "shop" / "pricing.py"),)
    assert index.resolve(cart, "python", ".models") == (str(root / "shop" / "models.py"),)
    found = index.imported_definitions(cart, "python", Import(".models", ("Item",)))
    assert [entry.symbol.name for entry in found] == ["Item"]
    page = str(root / "web" / "page.ts")
    assert index.resolve(page, "typescript", "./util") == (str(root / "web" / "util.ts"),)
    assert index.resolve(cart, "python", "numpy") == ()  # not the workspace's


def test_a_restart_parses_only_what_changed(tmp_path: Path) -> None:
    root = _project(tmp_path / "ws")
    WorkspaceIndex(SymbolStore(tmp_path / "store")).scan([root])
    (root / "shop" / "models.py").write_text("class Product:\n    pass\n")
    again = WorkspaceIndex(SymbolStore(tmp_path / "store"))
    report = again.scan([root])
    assert report.parsed == 1
    assert again.lookup("Product")
    assert not again.lookup("Item")


def test_updates_follow_buffers_saves_and_deletions(tmp_path: Path) -> None:
    root = _project(tmp_path / "ws")
    index = WorkspaceIndex(SymbolStore(tmp_path / "store"))
    index.scan([root])
    pricing = root / "shop" / "pricing.py"
    index.update_text(str(pricing), "def gross_price(net):\n    return net\n", "python")
    assert index.lookup("gross_price")
    assert not index.lookup("net_price")
    index.refresh(str(pricing))  # saved as it is on disk
    assert index.lookup("net_price")
    assert not index.lookup("gross_price")
    pricing.unlink()
    index.refresh(str(pricing))
    assert not index.lookup("net_price")
    assert not index.lookup("TAX_RATE")
    (root / "shop" / "new.py").write_text("def fresh():\n    pass\n")
    index.refresh(str(root / "shop" / "new.py"))
    assert index.lookup("fresh")


def test_a_name_re_exported_by_a_package_resolves_to_its_definition(tmp_path: Path) -> None:
    root = _project(tmp_path / "ws")
    (root / "shop" / "__init__.py").write_text("from shop.pricing import net_price\n")
    (root / "app.py").write_text("from shop import net_price\n")
    index = WorkspaceIndex()
    index.scan([root])
    found = index.imported_definitions(
        str(root / "app.py"), "python", Import("shop", ("net_price",))
    )
    assert [entry.path for entry in found] == [str(root / "shop" / "pricing.py")]
