"""Symbol extraction: definitions, containers, signatures, docs, outlines and imports in every
language the index reads, and no exception on any text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quill.context import languages, syntax
from quill.context.symbols import FileSymbols, Import, Symbol, extract_symbols


def _symbols(result: FileSymbols) -> dict[tuple[str, str | None], Symbol]:
    return {(symbol.name, symbol.container): symbol for symbol in result.symbols}


def _kinds(result: FileSymbols) -> list[tuple[str, str]]:
    return [(symbol.name, symbol.kind) for symbol in result.symbols]


PYTHON = '''"""Shapes."""
import os
import os.path as osp, sys
from . import sibling
from .x import y as z, w
from ..pkg.mod import *

MAX_SIDES = 12
_DEFAULT_NAME: str = "shape"
lower_case = 3


def area(width: float,
         height: float) -> float:  # a comment: with a colon
    """Width times height.

    Both in metres.
    """
    def helper() -> None:
        pass
    return width * height


@dataclass
class Shape(Base):
    """A shape."""

    sides: int = 0

    def __init__(self) -> None:
        self.name = "x"

    @property
    def perimeter(self) -> float:
        """The perimeter."""
        return 0.0
'''


def test_python_definitions() -> None:
    result = extract_symbols(PYTHON, "python")
    found = _symbols(result)
    assert [s.name for s in result.symbols] == [
        "MAX_SIDES",
        "_DEFAULT_NAME",
        "area",
        "Shape",
        "__init__",
        "perimeter",
    ]  # no lower-case module variable, no local ``helper``
    assert found["MAX_SIDES", None].kind == "constant"
    assert found["MAX_SIDES", None].outline == "MAX_SIDES = 12"
    table = extract_symbols("TABLE = {\n    1: 2,\n    3: 4,\n    5: 6,\n}\n", "python")
    assert table.symbols[0].outline == "TABLE = {\n    1: 2,\n    3: 4, ..."
    area = found["area", None]
    assert area.kind == "function"
    assert area.signature == "def area(width: float, height: float) -> float:"
    assert area.docstring == "Width times height.\n\nBoth in metres."
    assert (area.start_line, area.end_line) == (12, 20)
    assert area.outline.startswith("def area(width: float,\n         height: float) -> float:")
    assert area.outline.endswith("return width * height")
    shape = found["Shape", None]
    assert (shape.kind, shape.signature, shape.docstring) == (
        "class",
        "class Shape(Base):",
        "A shape.",
    )
    assert shape.outline == (
        "@dataclass\n"
        "class Shape(Base):\n"
        '    """A shape."""\n'
        "    sides: int = 0\n"
        "    def __init__(self) -> None:\n"
        "    def perimeter(self) -> float:"
    )
    perimeter = found["perimeter", "Shape"]
    assert (perimeter.kind, perimeter.docstring) == ("method", "The perimeter.")
    assert perimeter.signature == "def perimeter(self) -> float:"


def test_python_imports() -> None:
    assert extract_symbols(PYTHON, "python").imports == (
        Import("os"),
        Import("os.path", alias="osp"),
        Import("sys"),
        Import(".", ("sibling",)),
        Import(".x", ("z", "w")),
        Import("..pkg.mod", ("*",)),
    )


def test_a_method_outline_is_dedented_to_its_own_indentation() -> None:
    source = (
        "class Outer:\n"
        "    class Inner:\n"
        "        def run(self, items: list[int]) -> int:\n"
        "            total = 0\n"
        "            for item in items:\n"
        "                total += item\n"
        "            return total\n"
    )
    run = _symbols(extract_symbols(source, "python"))["run", "Inner"]
    assert run.outline == (
        "def run(self, items: list[int]) -> int:\n"
        "    total = 0\n"
        "    for item in items:\n"
        "        total += item\n"
        "    return total"
    )
    assert _symbols(extract_symbols(source, "python"))["Inner", "Outer"].kind == "class"


def test_a_long_function_keeps_its_header_and_docstring_only() -> None:
    body = "".join(f"        x{i} = {i}\n" for i in range(20))
    source = f'class A:\n    def long(self) -> None:\n        """Does much."""\n{body}'
    long = _symbols(extract_symbols(source, "python"))["long", "A"]
    assert long.outline == 'def long(self) -> None:\n    """Does much."""\n    ...'
    go = "package p\n\n// Long does much.\nfunc Long() {\n" + "\tx := 1\n" * 20 + "}\n"
    assert _symbols(extract_symbols(go, "go"))["Long", None].outline == (
        "// Long does much.\nfunc Long() { ... }"
    )


def test_outlines_and_signatures_are_capped() -> None:
    members = "".join(f"    def m{i}(self) -> None: ...\n" for i in range(60))
    big = _symbols(extract_symbols(f"class Big:\n{members}", "python"))["Big", None]
    lines = big.outline.split("\n")
    assert len(lines) == 40
    assert lines[-1] == "    ..."
    params = ", ".join(f"argument_{i}: int" for i in range(40))
    wide = extract_symbols(f"def wide({params}) -> None:\n    pass\n", "python").symbols[0]
    assert len(wide.signature) <= 300
    assert len(wide.outline) <= 1500


JAVASCRIPT = """import Default, { a as b, c } from './m';
import * as ns from "lib";
import './side-effect';
const { x, y: renamed } = require('cjs');
const fs = require('fs');
export { q as r } from './re';
export * from './all';

/** The largest size. */
export const MAX = 10;
let counter = 0;

// Adds two numbers.
export function add(a, b) {
  function inner() {}
  return a + b;
}

export const handler = async (req) => {
  const nested = () => 1;
};

class Cart extends Base {
  /**
   * Adds an item.
   */
  add(item) {
    this.items.push(item);
  }
}

describe("cart", () => { function helper() {} });
"""


def test_javascript_definitions_and_imports() -> None:
    result = extract_symbols(JAVASCRIPT, "javascript")
    found = _symbols(result)
    assert _kinds(result) == [
        ("MAX", "constant"),  # neither ``let counter`` nor the ``require``s
        ("add", "function"),
        ("handler", "function"),
        ("Cart", "class"),
        ("add", "method"),
    ]  # nothing local: not ``inner``, ``nested`` or the callback's ``helper``
    assert found["MAX", None].signature == "export const MAX = 10"
    assert found["MAX", None].docstring == "The largest size."
    function = found["add", None]
    assert (function.kind, function.docstring) == ("function", "Adds two numbers.")
    assert function.signature == "export function add(a, b)"
    assert (function.start_line, function.end_line) == (13, 16)
    assert found["handler", None].signature == "export const handler = async (req) =>"
    method = found["add", "Cart"]
    assert (method.signature, method.docstring) == ("add(item)", "Adds an item.")
    assert method.outline == (
        "/**\n * Adds an item.\n */\nadd(item) {\n  this.items.push(item);\n}"
    )
    assert found["Cart", None].outline == "class Cart extends Base {\n  add(item)\n}"
    assert result.imports == (
        Import("./m", ("Default", "b", "c")),
        Import("lib", alias="ns"),
        Import("./side-effect"),
        Import("cjs", ("x", "renamed")),
        Import("fs", alias="fs"),
        Import("./re", ("r",)),
        Import("./all", ("*",)),
    )


TYPESCRIPT = """import type { Id } from './types';
import fs = require('fs');

/**
 * Anything with an area.
 */
export interface Shape {
  area(): number;
  name: string;
}

export type Size = 'small' | 'large';

enum Color { Red, Green }

export abstract class Base<T> implements Shape {
  name = 'base';
  // The area.
  abstract area(): number;
  static create(): Base<number> {
    return null as any;
  }
}

declare function external(a: number): void;
"""


def test_typescript_definitions_and_imports() -> None:
    result = extract_symbols(TYPESCRIPT, "typescript")
    found = _symbols(result)
    shape = found["Shape", None]
    assert (shape.kind, shape.signature) == ("interface", "export interface Shape")
    assert shape.docstring == "Anything with an area."
    assert shape.outline == (
        "/**\n * Anything with an area.\n */\n"
        "export interface Shape {\n  area(): number\n  name: string;\n}"
    )
    assert found["Size", None].kind == "type"
    assert found["Color", None].kind == "enum"
    base = found["Base", None]
    assert (base.kind, base.signature) == (
        "class",
        "export abstract class Base<T> implements Shape",
    )
    area = found["area", "Base"]
    assert (area.kind, area.signature, area.docstring) == (
        "method",
        "abstract area(): number",
        "The area.",
    )
    assert found["create", "Base"].signature == "static create(): Base<number>"
    assert found["external", None].signature == "declare function external(a: number): void"
    assert result.imports == (Import("./types", ("Id",)), Import("fs", alias="fs"))
    assert extract_symbols(TYPESCRIPT, "typescriptreact").symbols == result.symbols


GO = """package shapes

import (
\t"fmt"
\tm "math"
)

// MaxSides is the most sides a shape may have.
const MaxSides = 12

const (
\t// Pi is a rough pi.
\tPi, Tau = 3.14, 6.28
)

var registry = map[string]Shape{}

// Shape is anything with an area.
type Shape interface {
\tArea() float64
}

// Circle is round.
type Circle struct {
\tRadius float64 // in metres
}

// Area returns the area.
func (c *Circle) Area() float64 {
\treturn m.Pi * c.Radius * c.Radius
}

func New[T any](r float64) *Circle {
\tconst local = 1
\treturn &Circle{Radius: r}
}
"""


def test_go_definitions_and_imports() -> None:
    result = extract_symbols(GO, "go")
    found = _symbols(result)
    assert _kinds(result) == [
        ("MaxSides", "constant"),
        ("Pi", "constant"),
        ("Tau", "constant"),
        ("registry", "variable"),
        ("Shape", "interface"),
        ("Circle", "struct"),
        ("Area", "method"),
        ("New", "function"),
    ]
    assert found["MaxSides", None].docstring == "MaxSides is the most sides a shape may have."
    assert found["Tau", None].docstring == "Pi is a rough pi."
    circle = found["Circle", None]
    assert circle.signature == "type Circle struct"
    assert circle.outline == (
        "// Circle is round.\ntype Circle struct {\n\tRadius float64 // in metres\n}"
    )
    area = found["Area", "Circle"]
    assert area.signature == "func (c *Circle) Area() float64"
    assert (area.start_line, area.end_line) == (28, 30)
    assert result.imports == (Import("fmt"), Import("math", alias="m"))


RUST = """use std::collections::{HashMap, HashSet as Set};
use std::fmt::Display;
use crate::util::*;
use std::io::{self, Write};

/// The largest size.
pub const MAX: usize = 10;

/// A point in space.
#[derive(Debug)]
pub struct Point<T> {
    pub x: T,
    y: T,
}

pub enum Shape { Circle(f64), Square(f64) }

/// Things with an area.
pub trait Area {
    fn area(&self) -> f64;
}

impl<T: Display> Point<T> {
    /// Makes a point.
    pub fn new(x: T, y: T) -> Self {
        fn helper() {}
        Point { x, y }
    }
}

macro_rules! square { ($x:expr) => { $x * $x }; }
"""


def test_rust_definitions_and_imports() -> None:
    result = extract_symbols(RUST, "rust")
    found = _symbols(result)
    assert _kinds(result) == [
        ("MAX", "constant"),
        ("Point", "struct"),
        ("Shape", "enum"),
        ("Area", "interface"),
        ("area", "method"),
        ("new", "method"),
        ("square", "macro"),
    ]
    point = found["Point", None]
    assert (point.signature, point.docstring) == ("pub struct Point<T>", "A point in space.")
    assert point.outline == (
        "/// A point in space.\n#[derive(Debug)]\npub struct Point<T> {\n"
        "    pub x: T,\n    y: T,\n}"
    )
    new = found["new", "Point"]
    assert (new.signature, new.docstring) == ("pub fn new(x: T, y: T) -> Self", "Makes a point.")
    assert found["area", "Area"].signature == "fn area(&self) -> f64"
    assert result.imports == (
        Import("std::collections", ("HashMap", "Set")),
        Import("std::fmt", ("Display",)),
        Import("crate::util", ("*",)),
        Import("std::io", ("io", "Write")),
    )


JAVA = """package com.example;

import java.util.List;
import java.util.*;
import static java.lang.Math.max;

/**
 * A shape.
 * With two lines.
 */
public abstract class Shape {
    /** The most sides. */
    public static final int MAX_SIDES = 12;
    private final String name;

    public Shape(String name) {
        this.name = name;
    }

    /** The area. */
    public abstract double area();

    static class Inner {
        void run() {}
    }
}

interface Named { String name(); }

enum Color { RED, GREEN }

record Pair(int a, int b) {}
"""


def test_java_definitions_and_imports() -> None:
    result = extract_symbols(JAVA, "java")
    found = _symbols(result)
    shape = found["Shape", None]
    assert (shape.kind, shape.docstring) == ("class", "A shape.\nWith two lines.")
    assert shape.signature == "public abstract class Shape"
    assert shape.outline.endswith(
        "public abstract class Shape {\n"
        "    public static final int MAX_SIDES = 12;\n"
        "    private final String name;\n"
        "    public Shape(String name)\n"
        "    public abstract double area()\n"
        "    static class Inner {\n"
        "}"
    )
    constant = found["MAX_SIDES", "Shape"]
    assert (constant.kind, constant.docstring) == ("constant", "The most sides.")
    assert ("name", "Shape") not in found  # an instance field is not a symbol
    assert found["Shape", "Shape"].kind == "method"  # the constructor
    assert found["area", "Shape"].signature == "public abstract double area()"
    assert found["run", "Inner"].kind == "method"
    assert found["Named", None].kind == "interface"
    assert found["Color", None].kind == "enum"
    assert found["Pair", None].signature == "record Pair(int a, int b)"
    assert result.imports == (
        Import("java.util.List", ("List",)),
        Import("java.util", ("*",)),
        Import("java.lang.Math.max", ("max",)),
    )


C = """#include <stdio.h>
#include "shapes.h"

#define MAX_SIDES 12
#define SQUARE(x) ((x) * (x))

/* A point. */
struct point {
    int x;
    int y;
};

typedef struct {
    double r;
} circle_t;

typedef unsigned long size_type;

enum color { RED, GREEN };

// Computes the area.
double area(const circle_t *c);

int perimeter(int sides);

double area(const circle_t *c) {
    struct local { int a; };
    return 3.14 * c->r * c->r;
}
"""


def test_c_definitions_and_imports() -> None:
    result = extract_symbols(C, "c")
    found = _symbols(result)
    assert _kinds(result) == [
        ("MAX_SIDES", "macro"),
        ("SQUARE", "macro"),
        ("point", "struct"),
        ("circle_t", "struct"),
        ("size_type", "type"),
        ("color", "enum"),
        ("perimeter", "function"),  # a prototype the file does not define
        ("area", "function"),
    ]
    assert found["point", None].docstring == "A point."
    assert (
        found["point", None].outline == "/* A point. */\nstruct point {\n    int x;\n    int y;\n}"
    )
    assert found["circle_t", None].signature == "typedef struct { ... } circle_t"
    area = found["area", None]
    assert area.start_line == 25  # the definition, documented by its prototype
    assert (area.signature, area.docstring) == (
        "double area(const circle_t *c)",
        "Computes the area.",
    )
    assert found["SQUARE", None].signature == "#define SQUARE(x) ((x) * (x))"
    assert result.imports == (Import("stdio.h"), Import("shapes.h"))


CPP = """#include <vector>
#include "shape.hpp"

namespace geo {

/// A shape.
class Shape {
public:
    virtual ~Shape() = default;
    /// The area.
    virtual double area() const = 0;
    int sides() const { return sides_; }
private:
    int sides_;
};

template <typename T>
struct Box {
    T value;
};

using Real = double;

double Shape::area() const {
    return 0.0;
}

}  // namespace geo
"""


def test_cpp_definitions_and_imports() -> None:
    result = extract_symbols(CPP, "cpp")
    found = _symbols(result)
    shape = found["Shape", None]
    assert (shape.kind, shape.docstring) == ("class", "A shape.")
    assert shape.outline == (
        "/// A shape.\nclass Shape {\npublic:\n    virtual ~Shape() = default\n"
        "    virtual double area() const = 0;\n    int sides() const\nprivate:\n"
        "    int sides_;\n}"
    )
    assert found["~Shape", "Shape"].kind == "method"
    assert found["sides", "Shape"].signature == "int sides() const"
    area = found["area", "Shape"]  # defined out of the class: the prototype folds into it
    assert (area.kind, area.start_line, area.docstring) == ("method", 23, "The area.")
    assert area.signature == "double Shape::area() const"
    box = found["Box", None]
    assert (box.kind, box.signature) == ("struct", "template <typename T> struct Box")
    assert found["Real", None].kind == "type"
    assert result.imports == (Import("vector"), Import("shape.hpp"))


def test_broken_and_odd_text_still_gives_what_parses() -> None:
    broken = "def ok() -> int:\n    return 1\n\ndef broken(:\n    pass\n\nclass Fine:\n    pass\n"
    names = [s.name for s in extract_symbols(broken, "python").symbols]
    assert "ok" in names
    assert "Fine" in names
    lone = extract_symbols("def f():\n    '''\ud800 lone surrogate'''\n", "python")
    assert lone.symbols[0].docstring == "? lone surrogate"
    assert extract_symbols("anything", "cobol") == FileSymbols("cobol")


# Code-like garbage: any character (lone surrogates included), brackets, and keywords.
_FRAGMENTS = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=3),
    st.sampled_from(list("{}()[];:,.=<>*&#/\\'\"`\n\t ")),
    st.sampled_from(["def ", "class ", "fn ", "func ", "struct ", "impl ", "import ", "use "]),
    st.sampled_from(["#define ", "typedef ", "template <", "export ", "const ", "/**", "///"]),
)


@pytest.mark.parametrize("language", sorted(languages.LANGUAGES))
@settings(max_examples=60, deadline=None)
@given(text=st.lists(_FRAGMENTS, max_size=80).map("".join))
def test_extraction_never_raises(language: str, text: str) -> None:
    result = extract_symbols(text, language)
    for symbol in result.symbols:
        assert 0 <= symbol.start_line <= symbol.end_line
        assert len(symbol.outline) <= 1500


def test_the_registry_maps_ids_and_suffixes() -> None:
    assert languages.language_of("typescriptreact") == "typescriptreact"
    assert languages.language_of("", "/src/lib.rs") == "rust"
    assert languages.language_of("plaintext", "/src/Main.JAVA") == "java"
    assert languages.language_of("c++", "x.h") == "cpp"  # the editor's id wins
    assert languages.language_of("markdown", "README.md") is None
    assert languages.language_for_path("include/vec.hpp") == "cpp"
    assert languages.language_for_path("file:///a/b/app.mts") == "typescript"
    assert ".pyi" in languages.SUFFIXES
    assert languages.parser("go") is languages.parser("go")
    assert languages.grammar("c").name == "c"


def test_syntax_definitions_use_the_registry() -> None:
    tree = syntax.parse("package p\n\nfunc (c *C) Area() float64 { return 0 }\n", "go")
    assert [(d.kind, d.name) for d in tree.definitions()] == [("function", "Area")]
    assert syntax.language_of("rust") == "rust"
    assert syntax.error_count("fn main() {}", "rust") == 0
