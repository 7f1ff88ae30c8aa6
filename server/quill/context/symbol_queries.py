"""The per-language tree-sitter queries extraction runs, and the family each language belongs to.

One compiled query per language finds every definition, import and anonymous scope in a
single walk of the tree, so only the matches reach Python. Each language's ``Extraction``
pairs its query with the reader of its import statements and the ``Family`` whose conventions
(wrappers, comment nodes, members) reading its matches needs; languages that write code alike
share a family (JavaScript and TypeScript, C and C++).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import attrs
import tree_sitter
from tree_sitter import Node

from quill.context import languages
from quill.context.imports import (
    Import,
    c_imports,
    go_imports,
    java_imports,
    js_imports,
    python_imports,
    rust_imports,
)
from quill.context.parsed_source import Family, Source

# --- Queries: the capture on the whole match names its kind or its handler.

_PYTHON_QUERY = """
(function_definition name: (identifier) @name) @function
(class_definition name: (identifier) @name) @class
(module (expression_statement (assignment left: (_) @name)) @py_constant)
(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import
"""

_JAVASCRIPT_QUERY = """
(function_declaration name: (identifier) @name) @function
(generator_function_declaration name: (identifier) @name) @function
(class_declaration name: (_) @name) @class
(class_body (method_definition name: (_) @name) @function)
(program (lexical_declaration kind: "const"
  (variable_declarator name: (identifier) @name value: (_)? @value)) @js_const)
(program (export_statement declaration: (lexical_declaration kind: "const"
  (variable_declarator name: (identifier) @name value: (_)? @value)) @js_const))
[(arrow_function) (function_expression) (generator_function)] @scope
(import_statement) @import
(export_statement source: (_)) @import
(variable_declarator name: (_) @name value: (call_expression function: (identifier) @fn
  arguments: (arguments . (string) @source)) (#eq? @fn "require")) @require
"""

_TYPESCRIPT_QUERY = (
    _JAVASCRIPT_QUERY
    + """
(abstract_class_declaration name: (_) @name) @class
(interface_declaration name: (_) @name) @interface
(type_alias_declaration name: (_) @name) @type
(enum_declaration name: (_) @name) @enum
(function_signature name: (_) @name) @function
(class_body (abstract_method_signature name: (_) @name) @function)
(class_body (method_signature name: (_) @name) @function)
"""
)

_GO_QUERY = """
(function_declaration name: (identifier) @name) @function
(method_declaration receiver: (parameter_list (parameter_declaration type: (_) @receiver))
  name: (field_identifier) @name) @go_method
(type_spec name: (type_identifier) @name type: (_) @type_body) @go_type
(type_alias name: (type_identifier) @name) @type
(const_spec) @go_value
(var_spec) @go_value
(func_literal) @scope
(import_spec) @import
"""

_RUST_QUERY = """
(function_item name: (identifier) @name) @function
(function_signature_item name: (identifier) @name) @function
(struct_item name: (type_identifier) @name) @struct
(union_item name: (type_identifier) @name) @struct
(enum_item name: (type_identifier) @name) @enum
(trait_item name: (type_identifier) @name) @interface
(type_item name: (type_identifier) @name) @type
(const_item name: (identifier) @name) @constant
(static_item name: (identifier) @name) @constant
(macro_definition name: (identifier) @name) @macro
(impl_item type: (_) @name) @impl
(use_declaration) @import
"""

_JAVA_QUERY = """
(class_declaration name: (identifier) @name) @class
(record_declaration name: (identifier) @name) @class
(interface_declaration name: (identifier) @name) @interface
(annotation_type_declaration name: (identifier) @name) @interface
(enum_declaration name: (identifier) @name) @enum
(method_declaration name: (identifier) @name) @function
(constructor_declaration name: (identifier) @name) @function
(field_declaration (modifiers) @modifiers
  declarator: (variable_declarator name: (identifier) @name)) @java_field
(constant_declaration declarator: (variable_declarator name: (identifier) @name)) @constant
(lambda_expression) @scope
(object_creation_expression (class_body) @scope)
(import_declaration) @import
"""

_C_QUERY = """
(function_definition declarator: (_) @declarator) @c_function
(declaration declarator: (function_declarator) @declarator) @c_prototype
(declaration declarator: (pointer_declarator declarator: (function_declarator) @declarator))
  @c_prototype
(struct_specifier name: (_) @name body: (_)) @struct
(union_specifier name: (_) @name body: (_)) @struct
(enum_specifier name: (_) @name body: (_)) @enum
(type_definition type: (_) @type_body declarator: (_) @declarator) @c_typedef
(preproc_def name: (identifier) @name) @macro
(preproc_function_def name: (identifier) @name) @macro
(preproc_include) @import
"""

_CPP_QUERY = (
    _C_QUERY
    + """
(class_specifier name: (_) @name body: (_)) @class
(field_declaration declarator: (function_declarator) @declarator) @c_prototype
(field_declaration declarator: (pointer_declarator declarator: (function_declarator) @declarator))
  @c_prototype
(field_declaration declarator: (reference_declarator (function_declarator) @declarator))
  @c_prototype
(declaration declarator: (reference_declarator (function_declarator) @declarator)) @c_prototype
(alias_declaration name: (type_identifier) @name) @type
(lambda_expression) @scope
"""
)

# Captures that describe a match rather than name what it is.
AUXILIARY_CAPTURES = frozenset(
    {"name", "value", "receiver", "type_body", "modifiers", "declarator", "fn", "source"}
)


# --- Families: the conventions each language's matches are read by.

_JS_FUNCTION_NODES = frozenset(
    {"method_definition", "abstract_method_signature", "method_signature", "function_signature"}
)

_PYTHON = Family(
    wrappers=frozenset({"decorated_definition"}),
    functions=frozenset({"function_definition", "decorated_definition"}),
    member_lists=frozenset(),
    python=True,
)
_JAVASCRIPT = Family(wrappers=frozenset({"export_statement"}), functions=_JS_FUNCTION_NODES)
_TYPESCRIPT = attrs.evolve(
    _JAVASCRIPT, wrappers=frozenset({"export_statement", "ambient_declaration"})
)
_GO = Family(
    wrappers=frozenset({"type_declaration", "const_declaration", "var_declaration"}),
    functions=frozenset({"method_elem"}),
)
_RUST = Family(
    comments=frozenset({"line_comment", "block_comment"}),
    between_doc=frozenset({"attribute_item"}),
    functions=frozenset({"function_item", "function_signature_item"}),
)
_JAVA = Family(
    comments=frozenset({"line_comment", "block_comment"}),
    functions=frozenset({"method_declaration", "constructor_declaration"}),
    member_lists=frozenset({"enum_body_declarations"}),
)
_C = Family(functions=frozenset({"function_definition"}))
_CPP = attrs.evolve(
    _C,
    wrappers=frozenset({"template_declaration", "linkage_specification"}),
    functions=frozenset({"function_definition", "template_declaration"}),
)


@attrs.frozen
class Extraction:
    """What extracting one language's symbols runs: its query, the reader of its import
    statements, and the family its matches are read by."""

    query: str
    imports: Callable[[Source, Node], list[Import]]
    family: Family


_JS = Extraction(_JAVASCRIPT_QUERY, js_imports, _JAVASCRIPT)
_TS = Extraction(_TYPESCRIPT_QUERY, js_imports, _TYPESCRIPT)

EXTRACTIONS: dict[str, Extraction] = {
    "python": Extraction(_PYTHON_QUERY, python_imports, _PYTHON),
    "javascript": _JS,
    "javascriptreact": _JS,
    "typescript": _TS,
    "typescriptreact": _TS,
    "go": Extraction(_GO_QUERY, go_imports, _GO),
    "rust": Extraction(_RUST_QUERY, rust_imports, _RUST),
    "java": Extraction(_JAVA_QUERY, java_imports, _JAVA),
    "c": Extraction(_C_QUERY, c_imports, _C),
    "cpp": Extraction(_CPP_QUERY, c_imports, _CPP),
}


@cache
def compiled_query(language: str) -> tree_sitter.Query:
    """The language's query, compiled once per process (compiling takes milliseconds)."""
    return tree_sitter.Query(languages.grammar(language), EXTRACTIONS[language].query)
