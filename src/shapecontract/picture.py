"""Pictures of contracts and errors: plain SVG and HTML strings (layer L7).

Design rules:
- Two entry points, `to_svg(obj)` and `to_html(obj)`, for a `Contract`, a `ShapeContractError`
  or a model (its `contract_of`). The CLI's `inspect --svg/--html` and notebooks
  (`_repr_html_`, through the L0 hook in `_render`, registered below) draw the same picture.
- Drawn only from the structured data (slots, specs, layer rows, violations, origins,
  bindings): no message is parsed to find an axis; a layer row's shapes are data
  (`LayerRow.in_shape`/`out_shape`). The one text still read is a violation's `contract`
  when it comes with no spec (a framework's own violation).
- Every string from outside (names, dims, messages) is XML-escaped, and characters XML cannot
  carry are replaced; no JavaScript, no external resource, no dependency. The same object
  always gives the same text (colours are picked by order of appearance, not by hash).
- Elements carry classes and `data-*` attributes (`layer`, `shape`, `dim`, `violation`,
  `relation`, `data-axis`, `data-dim`) so tools and tests read the picture structurally.
"""

from __future__ import annotations

import itertools
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from ._contract import Contract, Slot, spec_text
from ._dims import Expr, Fixed, Named, Variadic, dim_label, dim_text
from ._errors import ShapeContractError, Violation
from ._render import register_renderer
from ._slot import RowShape
from ._spec import ArraySpec, as_array, kind_of
from .frameworks import contract_of

__all__ = ["to_html", "to_svg"]

# -- layout and look ------------------------------------------------------------------------
CHAR = 7.3
"""Width of one character of the 12px monospace font, in px (a generous estimate)."""
SMALL = 6.1
"""Width of one character of the 10px font used for a dim's name under its size."""
PAD = 12
CELL_H = 34
LINE_H = 16
WRAP = 96
"""Characters per line of wrapped text (messages, fixes, notes)."""

PALETTE = ("#dbeafe", "#dcfce7", "#fef3c7", "#f3e8ff", "#ffe4e6", "#cffafe", "#ecfccb",
           "#fae8ff", "#e0e7ff", "#ffedd5")
"""Fills of shared dims, given in order of first appearance."""

STYLE = (
    "text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;"
    "fill:#111827}"
    ".title{font-weight:bold;font-size:13px}"
    ".small{font-size:10px;fill:#4b5563}"
    ".cell rect{stroke:#6b7280;stroke-width:1}"
    ".cell.violation rect{fill:#fecaca;stroke:#dc2626;stroke-width:2.5}"
    ".cell.violation text{fill:#991b1b;font-weight:bold}"
    ".shape.violation>rect.frame{fill:none;stroke:#dc2626;stroke-width:2;stroke-dasharray:4 3}"
    ".layer rect{fill:#f9fafb;stroke:#374151;stroke-width:1.5}"
    ".flow{stroke:#6b7280;stroke-width:1.5;fill:none}"
    ".arrowhead{fill:#6b7280}"
    ".link{stroke-width:2;fill:none;stroke-opacity:.9}"
    ".relation text,.relation{fill:#991b1b}"
    ".message{fill:#991b1b}"
    ".fix{fill:#065f46}"
    ".note{fill:#374151;font-style:italic}"
    ".block{fill:#fff;stroke:#e5e7eb}"
)

_OR = "\x00or"
"""Marks a row that is an alternative of the row above (drawn as `or`)."""

_WIDTH = "\x00width"
"""Stands for the picture's width until it is known; escaped text cannot contain it (NUL)."""

_BAD_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _esc(text: Any) -> str:
    """`text` made safe as XML character data or a quoted attribute value."""
    s = _BAD_XML.sub("\ufffd", str(text))
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def _attrs(**kw: Any) -> str:
    """` key="value"` pairs, escaped; `data_axis` is written `data-axis`; None is left out."""
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{_esc(v)}"'
                   for k, v in kw.items() if v is not None)


def _el(tag: str, body: str | None = None, **kw: Any) -> str:
    """One element: `body` is markup already escaped (use `_esc` on text)."""
    attrs = _attrs(**kw)
    return f"<{tag}{attrs}/>" if body is None else f"<{tag}{attrs}>{body}</{tag}>"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


# -- the canvas: elements placed top to bottom -----------------------------------------------
@dataclass
class _Canvas:
    parts: list[str] = field(default_factory=list)
    width: float = 0.0
    y: float = PAD

    def add(self, svg: str, right: float) -> None:
        self.parts.append(svg)
        self.width = max(self.width, right)

    def text(self, x: float, text: str, cls: str = "", **data: Any) -> None:
        """One line of text at the current y, which then moves down a line."""
        self.add(f'<text{_attrs(x=_num(x), y=_num(self.y + 12), class_=cls or None, **data)}>'
                 f"{_esc(text)}</text>", x + len(text) * CHAR)
        self.y += LINE_H

    def paragraph(self, x: float, text: str, cls: str = "", prefix: str = "",
                  **data: Any) -> None:
        """`text` after `prefix`, wrapped at WRAP characters (its own line breaks kept), as one
        <text> of <tspan> lines; lines after the first start under the text, not the prefix."""
        lines: list[tuple[float, str]] = []  # (x, text): SVG collapses leading spaces
        for part in str(text).split("\n"):
            lead = len(prefix) + len(part) - len(part.lstrip(" "))
            lines += [(x + lead * CHAR, ln) for ln in textwrap.wrap(
                part.strip(" "), max(20, WRAP - lead), break_long_words=True,
                break_on_hyphens=False) or [""]]
        lines[0] = (x, prefix + lines[0][1])
        spans = "".join(_el("tspan", _esc(ln), x=_num(at), y=_num(self.y + 12 + i * LINE_H))
                        for i, (at, ln) in enumerate(lines))
        self.add(_el("text", spans, class_=cls or None, **data),
                 max(at + len(ln) * CHAR for at, ln in lines))
        self.y += LINE_H * len(lines)

    def svg(self, title: str) -> str:
        w, h = self.width + PAD, self.y + PAD
        head = (f'<svg xmlns="http://www.w3.org/2000/svg"{_attrs(width=_num(w), height=_num(h))}'
                f' viewBox="0 0 {_num(w)} {_num(h)}" class="shapecontract">'
                f"<title>{_esc(title)}</title><style>{STYLE}</style>"
                f'<rect x="0" y="0" width="{_num(w)}" height="{_num(h)}" fill="#ffffff"/>')
        return head + "".join(self.parts) + "</svg>\n"


# -- cells: one per axis ---------------------------------------------------------------------
@dataclass
class _Cell:
    main: str
    sub: str = ""
    key: str | None = None
    """What makes two cells the same dim (a name, a fixed size's label): shared dims match."""
    dim: str | None = None
    """The name messages give the dim (`data-dim`)."""
    uses: tuple[str, ...] = ()
    """For an expression (`t-1`): the names it uses."""

    @property
    def width(self) -> float:
        return max(36.0, len(self.main) * CHAR + 14, len(self.sub) * SMALL + 12)


def _spec_cells(spec: ArraySpec) -> list[_Cell]:
    out = []
    for d in spec.dims:
        label = dim_label(d)
        sub = d.label if isinstance(d, (Fixed, Expr)) and d.label and d.label != dim_text(d) else ""
        if isinstance(d, Expr) and not sub:
            sub = "from " + ", ".join(d.names)
        key: str | None = None
        if isinstance(d, Named):
            key = d.name
        elif isinstance(d, Fixed) and d.label:
            key = d.label
        elif isinstance(d, Expr):
            key = d.label or d.text
        elif isinstance(d, Variadic) and d.name is not None:  # a bare `*` too
            key = "*" + d.name
        out.append(_Cell(dim_text(d), sub, key, label,
                         d.names if isinstance(d, Expr) else ()))
    return out


def _row_cells(shape: RowShape) -> list[_Cell]:
    """Cells of a layer row's shape (data: sizes, names of open dims, unknowns)."""
    if shape.axes is None:
        return [_Cell("?")]
    if not shape.axes:
        return [_Cell("()")]
    return [_Cell(a, "", a, a) if isinstance(a, str) else _Cell("?" if a is None else str(a))
            for a in shape.axes]


def _text_cells(shape_text: str) -> list[_Cell]:
    """Cells of a shape written as text, `(batch, 50)` (a layer row's display form)."""
    inner = shape_text.strip()
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1]
    items = [i.strip() for i in inner.split(",") if i.strip()]
    if not items:
        return [_Cell(shape_text.strip() or "?")]
    return [_Cell(i, "", None if i.isdigit() or i == "?" else i,
                  None if i.isdigit() or i == "?" else i) for i in items]


def _value_cells(shape: tuple[Any, ...]) -> list[_Cell]:
    return [_Cell("?" if s is None else str(s)) for s in shape] or [_Cell("()", "scalar")]


def _cells_row(c: _Canvas, x: float, cells: list[_Cell], colours: dict[str, str],
               highlight: int | None = None, row_cls: str = "shape",
               **data: Any) -> list[tuple[float, float]]:
    """Draw `cells` side by side at the current y; return each cell's (centre x, top y)."""
    y, start = c.y, x
    out = []
    parts = []
    for axis, cell in enumerate(cells):
        w = cell.width
        cls = "cell" + (" violation" if axis == highlight else "")
        if cell.key is not None and cell.key in colours:
            cls += " shared"
        fill = colours.get(cell.key or "", "#ffffff") if cell.key else "#ffffff"
        text_y = y + (15 if cell.sub else 21)
        body = (_el("rect", x=_num(x), y=_num(y), width=_num(w), height=CELL_H, rx=3, fill=fill)
                + _el("text", _esc(cell.main), x=_num(x + w / 2), y=_num(text_y),
                      text_anchor="middle"))
        if cell.sub:
            body += _el("text", _esc(cell.sub), x=_num(x + w / 2), y=_num(y + 28),
                        text_anchor="middle", class_="small")
        parts.append(f"<g{_attrs(class_=cls, data_axis=axis, data_dim=cell.dim)}>{body}</g>")
        out.append((x + w / 2, y))
        x += w + 4
    frame = ""
    if "violation" in row_cls.split():
        box = _attrs(x=_num(start - 3), y=_num(y - 3), width=_num(x - start + 2),
                     height=CELL_H + 6)
        frame = f'<rect class="frame"{box}/>'
    c.add(f"<g{_attrs(class_=row_cls, **data)}>{frame}{''.join(parts)}</g>", x)
    c.y += CELL_H + 8
    return out


def _arrow(c: _Canvas, x: float, top: float, bottom: float) -> None:
    """A downward arrow at `x` from `top` to `bottom` (the flow from one layer to the next)."""
    c.add(f'<line class="flow"{_attrs(x1=_num(x), y1=_num(top), x2=_num(x), y2=_num(bottom - 5))}/>'
          f'<polygon class="arrowhead" points="{_num(x - 4)},{_num(bottom - 6)} {_num(x + 4)},'
          f'{_num(bottom - 6)} {_num(x)},{_num(bottom)}"/>', x + 4)


# -- contracts -------------------------------------------------------------------------------
def _slot_rows(contract: Contract) -> list[tuple[str, Slot, ArraySpec | None, str]]:
    """(label, slot, spec or None, text) for each row of a function-style picture: one row per
    array spec (tuple items, dict values, alternatives each get their own)."""
    rows: list[tuple[str, Slot, ArraySpec | None, str]] = []
    for s in contract.slots:
        label = "return" if s.name == "return" else (s.label if s.loc else s.star + s.name)
        if s.kind == "array":
            for sub, spec in _flat(s.spec, ""):
                rows.append((label + sub, s, spec, ""))
        elif s.kind == "dim":
            rows.append((label, s, None, f"int: binds dim {s.name}"))
        elif s.kind == "pin":
            rows.append((label, s, None, f"pinned: {s.name}={s.value}"))
        else:
            rows.append((label, s, None, getattr(s.hint, "__name__", repr(s.hint))))
    return rows


def _flat(spec: Any, path: str) -> list[tuple[str, ArraySpec | None]]:
    kind = kind_of(spec)
    if kind is None:
        return [(path, None)]
    if kind.is_array:
        return [(path, spec)]
    items, options = kind.items(spec), kind.options(spec)
    if options:
        return [(f"{path} {_OR}" if k else path, o) for k, o in enumerate(options)]
    if items is None:
        return [(path, None)]  # a model annotation, or a spec with nothing to draw per axis
    out: list[tuple[str, ArraySpec | None]] = []
    for key, item in items:
        out += _flat(item, f"{path}[{key}]" if type(key) is int else f"{path}[{key!r}]")
    return out


def _shared_colours(groups: list[list[_Cell]], extra: tuple[str, ...] = ()) -> dict[str, str]:
    """key -> fill for every dim key that shows up in two or more groups (or in `extra`)."""
    seen: dict[str, int] = {}
    order: list[str] = []
    for cells in groups:
        for key in dict.fromkeys(c.key for c in cells if c.key):
            assert key is not None
            if key not in seen:
                order.append(key)
            seen[key] = seen.get(key, 0) + 1
    for key in extra:
        if key not in seen:
            order.append(key)
        seen[key] = seen.get(key, 0) + 2
    shared = [k for k in order if seen[k] > 1]
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(shared)}


def _contract_title(contract: Contract) -> str:
    bits = [b for b in (contract.framework_name, contract.level) if b]
    return contract.name + (f"  [{', '.join(bits)}]" if bits else "")


def _draw_function(c: _Canvas, contract: Contract) -> None:
    rows = _slot_rows(contract)
    groups = [(_spec_cells(spec) or [_Cell("()", "scalar")]) if spec is not None else []
              for _, _, spec, _ in rows]
    # an `int` parameter that binds a dim, or a pin, shares that dim with the arrays using it
    binders = [s.name for _, s, spec, _ in rows if s.kind in ("dim", "pin")]
    for (_, s, _, _), cells in zip(rows, groups):
        if s.kind in ("dim", "pin"):
            cells.append(_Cell(s.name if s.kind == "dim" else f"{s.name}={s.value}", "",
                               s.name, s.name))
    uses = {n for cells in groups for cell in cells for n in cell.uses}
    colours = _shared_colours(groups, tuple(n for n in sorted(uses) if n in binders or
                                            any(cell.key == n for g in groups for cell in g)))
    left = PAD + max((len(label) for label, *_ in rows if _OR not in label), default=0) * CHAR + 14
    positions: dict[str, list[tuple[int, float, float]]] = {}
    for k, ((label, s, _, text), cells) in enumerate(zip(rows, groups)):
        option = label.count(_OR)
        label = label.replace(" " + _OR, "")
        role = "output" if s.is_return else ("dim" if s.kind in ("dim", "pin") else
                                              "hint" if s.kind == "hint" else "input")
        c.add(_el("text", "or" if option else _esc(label), x=_num(PAD + 16 if option else PAD),
                  y=_num(c.y + 21), class_="slot-label"), left)
        if cells:
            y_row = c.y
            centres = _cells_row(c, left, cells, colours, row_cls=f"shape slot {role}",
                                 data_slot=label, data_option=option or None)
            for cell, (cx, cy) in zip(cells, centres):
                if cell.key in colours:
                    positions.setdefault(cell.key or "", []).append((k, cx, cy))
            if text:
                at = left + sum(x.width + 4 for x in cells) + 6
                c.add(_el("text", _esc(text), x=_num(at), y=_num(y_row + 21), class_="small"),
                      at + len(text) * SMALL)
        else:
            label_el = _el("text", _esc(text or "any"), x=_num(left), y=_num(c.y + 21),
                           class_="small")
            c.add(_el("g", label_el, class_=f"slot {role}", data_slot=label),
                  left + len(text) * SMALL)
            c.y += CELL_H + 8
    # links: a shared dim's cells in two adjacent rows are joined (colour alone marks the rest)
    links = []
    for key, where in positions.items():
        colour = _darker(colours[key])
        for (r0, x0, y0), (r1, x1, y1) in itertools.pairwise(where):
            if r1 != r0 + 1:
                continue
            links.append(f'<path class="link"{_attrs(data_dim=key, stroke=colour)} d="M{_num(x0)},'
                         f'{_num(y0 + CELL_H)} C{_num(x0)},{_num(y0 + CELL_H + 14)} {_num(x1)},'
                         f'{_num(y1 - 14)} {_num(x1)},{_num(y1)}"/>')
    if links:
        c.parts.insert(0, "".join(links))
    if colours:
        c.y += 4
        c.paragraph(PAD, "shared dims: " + ", ".join(colours), cls="legend")


def _darker(fill: str) -> str:
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(int(v * 0.55) for v in (r, g, b)))


def _draw_chain(c: _Canvas, contract: Contract) -> None:
    layers = contract.layers
    shapes: list[list[_Cell]] = [_row_cells(layers[0].in_shape)]
    shapes += [_row_cells(r.out_shape) for r in layers]
    ins, outs = contract.inputs(), contract.outputs()
    first_spec = as_array(ins[0].spec) if ins else None
    if first_spec is not None:
        first = _spec_cells(first_spec)
        if layers[0].in_shape.axes is None or [x.main for x in first] == [x.main for x in shapes[0]]:
            shapes[0] = first
    last_spec = as_array(outs[-1].spec) if outs else None
    if last_spec is not None:
        last = _spec_cells(last_spec)
        if [x.main for x in last] == [x.main for x in shapes[-1]]:
            shapes[-1] = last
    colours = _shared_colours(shapes)
    texts = [f"{r.name}  ({r.kind})" if r.kind != r.name else r.name for r in layers]
    box_w = max(120.0, *(len(t) * CHAR + 24 for t in texts))
    x0, x1 = PAD, PAD + box_w + 28
    # row 0: the input; row k: layer k's box, and the shape it hands to the next one
    c.add(f'<text{_attrs(x=_num(x0 + box_w / 2), y=_num(c.y + 21), class_="small")}'
          ' text-anchor="middle">input</text>', x0 + box_w)
    _cells_row(c, x1, shapes[0], colours, data_shape=_shape_of(shapes[0]), data_step=0)
    for k, (row, text) in enumerate(zip(layers, texts)):
        _arrow(c, x0 + box_w / 2, top=c.y - (18 if k == 0 else 11), bottom=c.y + 3)
        y = c.y
        box = (_el("rect", x=_num(x0), y=_num(y + 3), width=_num(box_w), height=28, rx=6)
               + _el("text", _esc(text), x=_num(x0 + 12), y=_num(y + 21)))
        head = " ".join(f"{_num(a)},{_num(b)}" for a, b in ((x1 - 7, y + 13), (x1 - 7, y + 21),
                                                             (x1 - 1, y + 17)))
        c.add(_el("g", box, class_="layer", data_name=row.name, data_kind=row.kind, data_index=k)
              + _el("line", class_="flow", x1=_num(x0 + box_w), y1=_num(y + 17), x2=_num(x1 - 6),
                    y2=_num(y + 17))
              + _el("polygon", class_="arrowhead", points=head), x1)
        _cells_row(c, x1, shapes[k + 1], colours, data_shape=_shape_of(shapes[k + 1]),
                   data_step=k + 1)


def _shape_of(cells: list[_Cell]) -> str:
    return "(" + ", ".join(x.main for x in cells) + ("," if len(cells) == 1 else "") + ")"


def _draw_graph(c: _Canvas, contract: Contract) -> None:
    """Layers that do not form one chain: one box per layer, its input and output beside it."""
    shapes = [_row_cells(r.in_shape) for r in contract.layers]
    shapes += [_row_cells(r.out_shape) for r in contract.layers]
    colours = _shared_colours(shapes)
    for k, row in enumerate(contract.layers):
        y = c.y
        _cells_row(c, PAD, _row_cells(row.in_shape), colours, data_shape=row.input,
                   data_role="input", data_layer=row.name)
        c.y = y
        w_in = sum(x.width + 4 for x in _row_cells(row.in_shape))
        text = f"-> {row.name} ({row.kind}) ->"
        c.add(f"<g{_attrs(class_='layer', data_name=row.name, data_kind=row.kind, data_index=k)}>"
              f'<text{_attrs(x=_num(PAD + w_in + 8), y=_num(y + 21))}>{_esc(text)}</text></g>',
              PAD + w_in + 8 + len(text) * CHAR)
        _cells_row(c, PAD + w_in + 16 + len(text) * CHAR, _row_cells(row.out_shape), colours,
                   data_shape=row.output, data_role="output", data_layer=row.name)


def _draw_contract(c: _Canvas, contract: Contract) -> None:
    c.text(PAD, _contract_title(contract), cls="title")
    c.y += 6
    if contract.layers and contract.chain:
        _draw_chain(c, contract)
    elif contract.layers:
        _draw_graph(c, contract)
    else:
        _draw_function(c, contract)
    if contract.layers:
        c.y += 4
        for s in contract.slots:
            if s.kind == "array":
                c.paragraph(PAD, f"{_slot_name(s)}: {spec_text(s.spec)}", cls="small slot-spec")
    for note in contract.notes:
        c.paragraph(PAD, note, cls="note", prefix="note: ")
    if not contract.complete and contract.framework_name:
        c.paragraph(PAD, f"relations between layers: {contract.framework_name} is asked on each "
                    "new input shape", cls="note relation", prefix="note: ")
    if contract.dropped:
        c.paragraph(PAD, "read from JSON without: " + ", ".join(contract.dropped), cls="note",
                    prefix="note: ")


def _slot_name(s: Slot) -> str:
    return "return" if s.name == "return" else (s.label or s.name)


# -- errors ----------------------------------------------------------------------------------
def _expected(v: Violation) -> tuple[list[_Cell] | None, int | None]:
    """The cells of the shape `v`'s value was checked against, and which of them stands for
    the violating axis (a variadic cell stands for all the axes it matched)."""
    spec = v.spec
    rank = len(v.shape) if v.shape is not None else None
    axis = v.axis if v.kind == "dim" else None
    kind = kind_of(spec)
    spec = None if kind is None else kind.at_rank(spec, rank)
    if spec is not None:
        at = spec.variadic_at
        if at is not None and axis is not None and rank is not None:
            extra = rank - spec.min_rank
            axis = axis if axis < at else at if axis < at + extra else axis - extra + 1
        return _spec_cells(spec) or [_Cell("()", "scalar")], axis
    if v.contract is not None:
        return _text_cells(v.contract), axis
    return None, axis


def _draw_violation(c: _Canvas, v: Violation, bindings: dict[str, Any]) -> None:
    top = c.y
    c.parts.append("")  # placeholder for the block's background
    at = len(c.parts) - 1
    x = PAD + 8
    c.y += 6
    if v.location_text():
        c.text(x, v.location_text(), cls="title location",
               data_slot=v.slot, data_axis=v.axis, data_dim=v.dim)
    expected, expected_axis = _expected(v)
    got = _value_cells(v.shape) if v.shape is not None else None
    axis = v.axis if v.kind == "dim" else None
    rank_bad = v.kind == "rank"
    left = x + 9 * CHAR + 10
    colours: dict[str, str] = {}
    if expected is not None:
        for cell in expected:
            name = cell.key[1:] if cell.key and cell.key.startswith("*") else cell.dim
            size = bindings.get(name or "") if cell.key and cell.main.lstrip("*") == name else None
            if (type(size) is int or isinstance(size, tuple)) and not cell.sub:
                cell.sub = f"= {_fmt(size)}"
        c.add(f'<text{_attrs(x=_num(x), y=_num(c.y + 21), class_="small")}>expected</text>', left)
        _cells_row(c, left, expected, colours, highlight=expected_axis,
                   row_cls="shape expected" + (" violation" if rank_bad else ""),
                   data_shape=_shape_of(expected))
    if got is not None:
        # each actual axis under the name of the contract's axis it is checked against
        names = [e.dim for e in expected or []]
        if len(names) != len(got) or any(e.key and e.key.startswith("*") for e in expected or []):
            names = []  # another rank, or a variadic dim: the axes do not line up one to one
        for cell, name in zip(got, names):
            if name and name != cell.main:
                cell.sub = name
        c.add(f'<text{_attrs(x=_num(x), y=_num(c.y + 21), class_="small")}>got</text>', left)
        _cells_row(c, left, got, colours, highlight=axis,
                   row_cls="shape actual" + (" violation" if rank_bad else ""),
                   data_shape=_shape_of(got))
    if v.kind == "value":
        layer = getattr(v.message, "layer", None)
        c.paragraph(x, str(v.message), cls="relation", prefix="relation failed: ",
                    data_layer=layer)
    else:
        c.paragraph(x, str(v.message), cls="message", data_kind=v.kind)
    if v.origin:
        c.paragraph(x, str(v.origin), cls="small origin", prefix="expected by: ")
    for s in v.suggestions:
        label = "hint: " if getattr(s, "kind", "") == "advice" else "fix: "
        c.paragraph(x, str(s), cls="fix", prefix=label)
    c.y += 6
    c.parts[at] = (f'<rect class="block" x="{PAD}" y="{_num(top)}" width="{_WIDTH}"'
                   f' height="{_num(c.y - top)}" rx="6"/>')
    c.y += 8


def _draw_error(c: _Canvas, err: ShapeContractError) -> None:
    n = len(err.violations)
    head = f"{err.function}: " if err.function else ""
    c.text(PAD, f"{head}{n} contract violation{'s' if n != 1 else ''}", cls="title")
    c.y += 6
    for k, v in enumerate(err.violations):
        c.add(f'<g{_attrs(class_="violation-block", data_index=k, data_kind=v.kind)}>', 0)
        _draw_violation(c, v, err.bindings)
        c.add("</g>", 0)
    if err.bindings:
        c.paragraph(PAD, ", ".join(f"{k}={_fmt(v)}" for k, v in err.bindings.items()),
                    cls="bindings", prefix="bindings: ")
    for note in err.notes:
        c.paragraph(PAD, note, cls="note", prefix="note: ")


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join("?" if s is None else str(s) for s in v) + ")"
    return str(v)


# -- entry points ----------------------------------------------------------------------------
def _subject(obj: Any) -> Contract | ShapeContractError:
    if isinstance(obj, (Contract, ShapeContractError)):
        return obj
    try:
        return contract_of(obj)
    except TypeError as e:
        raise TypeError(f"shapecontract.picture draws a Contract, a ShapeContractError or a "
                        f"model; got {type(obj).__name__} ({e})") from None


def to_svg(obj: Any) -> str:
    """A picture of `obj` as an SVG document (a string).

    `obj` is a `Contract` (`contract_of(fn)` or `contract_of(model)`), a `ShapeContractError`,
    or a model (drawn as `contract_of(model)`). A model's contract shows its layers as boxes
    with the shape that flows between them; a function's, its slots with shared dims in one
    colour and joined; an error, each violation's expected and actual shape with the failing
    axis highlighted (class `violation`), the failed relation, the fixes and the bindings.
    """
    subject = _subject(obj)
    c = _Canvas()
    if isinstance(subject, ShapeContractError):
        _draw_error(c, subject)
        title = subject.render()
    else:
        _draw_contract(c, subject)
        title = f"{subject.name}: {subject}" if subject.layers else str(subject)
    c.parts = [p.replace(_WIDTH, _num(c.width - PAD + 4)) for p in c.parts]
    return c.svg(title)


def to_html(obj: Any) -> str:
    """`obj`'s picture (`to_svg`) inline in an HTML fragment, with its text form below it in a
    `<pre>` (what a notebook shows for a contract or an error)."""
    subject = _subject(obj)
    text = subject.render() if isinstance(subject, ShapeContractError) else (
        subject.table() if subject.layers else str(subject))
    svg = to_svg(subject)
    return (f'<div class="shapecontract-picture">{svg.rstrip()}'
            f'<pre style="font-size:11px;margin:4px 0 0 0">{_esc(text)}</pre></div>')


register_renderer("html", to_html)
