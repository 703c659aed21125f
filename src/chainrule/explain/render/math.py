"""Formulas written once in a small subset of LaTeX and rendered three ways: MathML, LaTeX and Unicode text.

The subset is what the explanations need (scripts, fractions, Greek letters, a few operators and
``\\num{...}`` for computed numbers); anything outside it raises ValueError rather than rendering wrongly.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

# ----------------------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Ident:
    """A variable or function name: italic when one letter, upright when ``upright``."""
    text: str
    latex: str
    upright: bool = False


@dataclass(frozen=True)
class Number:
    """A number, kept as the text it is printed with (e.g. ``-1.2345678e-05``)."""
    text: str


@dataclass(frozen=True)
class Operator:
    """An operator or a delimiter."""
    text: str
    latex: str


@dataclass(frozen=True)
class Text:
    """Words inside a formula."""
    text: str


@dataclass(frozen=True)
class Space:
    """Horizontal space, in em."""
    width: float


@dataclass(frozen=True)
class Row:
    """A sequence of nodes."""
    children: tuple = field(default_factory=tuple)


@dataclass(frozen=True)
class Scripts:
    """A base with a subscript and/or a superscript."""
    base: object
    sub: object | None = None
    sup: object | None = None


@dataclass(frozen=True)
class Fraction:
    """numerator over denominator."""
    numerator: object
    denominator: object


GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
    "lambda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "φ", "Delta": "Δ", "Sigma": "Σ",
    "partial": "∂", "nabla": "∇", "ell": "ℓ", "infty": "∞",
}
OPERATORS = {
    "odot": "⊙", "cdot": "·", "times": "×", "leftarrow": "←", "to": "→", "approx": "≈", "le": "≤",
    "ge": "≥", "ne": "≠", "sum": "∑", "ldots": "…", "in": "∈", "mid": "|", "pm": "±", "circ": "∘",
    "lbrace": "{", "rbrace": "}",
}
FUNCTIONS = {"ln", "log", "exp", "max", "min", "tanh"}
SPACES = {"quad": 1.0, "qquad": 2.0, ",": 0.17, ";": 0.28, " ": 0.25}
ASCII_OPERATORS = {"+": "+", "-": "−", "=": "=", "(": "(", ")": ")", "[": "[", "]": "]", ",": ",",
                   "/": "/", "<": "<", ">": ">", "|": "|", ";": ";", ":": ":", "!": "!", ".": "."}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\[,; {}]|\d+(?:\.\d+)?|\s+|.", re.DOTALL)


# --------------------------------------------------------------------------------------- the parser


class _Parser:
    """Recursive descent over the token list; ``parse_row`` stops at ``}`` or the end."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _TOKEN.findall(source)
        self.pos = 0

    def error(self, message: str) -> ValueError:
        return ValueError(f"formula {self.source!r}: {message}")

    def peek(self) -> str | None:
        """The next token that is not white space."""
        while self.pos < len(self.tokens) and self.tokens[self.pos].isspace():
            self.pos += 1
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, raw: bool = False) -> str:
        """The next token; with ``raw``, white space counts as a token."""
        token = (self.tokens[self.pos] if self.pos < len(self.tokens) else None) if raw else self.peek()
        if token is None:
            raise self.error("ends too early")
        self.pos += 1
        return token

    def braced_text(self) -> str:
        """The raw characters of a ``{...}`` argument (for \\text and \\num)."""
        if self.take() != "{":
            raise self.error("expected '{'")
        depth, parts = 1, []
        while True:
            token = self.take(raw=True)
            depth += token == "{"
            depth -= token == "}"
            if depth == 0:
                return "".join(parts)
            parts.append(token)

    def group(self) -> object:
        """A ``{...}`` group or a single atom (the argument of ^, _ or \\frac)."""
        if self.peek() == "{":
            self.take()
            row = self.parse_row()
            if self.take() != "}":
                raise self.error("expected '}'")
            return row
        return self.atom()

    def parse_row(self) -> Row:
        children = []
        while self.peek() not in (None, "}"):
            node = self.atom()
            sub = sup = None
            while self.peek() in ("^", "_", "'"):
                token = self.take()
                if token == "'":
                    sup = Operator("′", "\\prime") if sup is None else Row((sup, Operator("′", "\\prime")))
                elif token == "^":
                    sup = self.group()
                else:
                    sub = self.group()
            children.append(Scripts(node, sub, sup) if (sub or sup) else node)
        return Row(tuple(children))

    def atom(self) -> object:
        """One operand: a group, a number, a letter, an operator or a command of the supported subset."""
        token = self.take()
        if token == "{":
            row = self.parse_row()
            if self.take() != "}":
                raise self.error("expected '}'")
            return row
        if token[0].isdigit():
            return Number(token)
        if token.isalpha():
            return Ident(token, token)
        if token in ASCII_OPERATORS:
            return Operator(ASCII_OPERATORS[token], token)
        if not token.startswith("\\"):
            raise self.error(f"unsupported character {token!r}")
        return self.command(token)

    def command(self, token: str) -> object:
        """A backslash command: a symbol from the tables, or one of the commands that read what follows."""
        name = token[1:]
        if name in GREEK:
            return Ident(GREEK[name], token)
        if name in OPERATORS:
            return Operator(OPERATORS[name], token)
        if name in SPACES:
            return Space(SPACES[name])
        if name in FUNCTIONS:
            return Ident(name, token, upright=True)
        if name == "top":
            return Ident("T", "\\top", upright=True)
        if name in ("text", "mathrm", "operatorname"):
            text = self.braced_text()
            return Text(text) if name == "text" else Ident(text, f"\\{name}{{{text}}}", upright=True)
        if name == "num":
            return self.number()
        if name == "frac":
            return Fraction(self.group(), self.group())
        if name in ("left", "right"):
            return self.delimiter()
        raise self.error(f"unsupported command {token}")

    def number(self) -> object:
        """\\num{...}: a number as text (a leading minus becomes an operator)."""
        text = self.braced_text().strip()
        if not re.fullmatch(r"-?(\d+(\.\d*)?(e[-+]?\d+)?|inf|nan)", text):
            raise self.error(f"\\num{{{text}}} is not a number")
        if text.startswith("-"):
            return Row((Operator("−", "-"), Number(text[1:])))
        return Number(text)

    def delimiter(self) -> object:
        """The delimiter after \\left or \\right (\\left. is none)."""
        delimiter = self.take()
        if delimiter not in ("(", ")", "[", "]", "|", ".", "\\{", "\\}"):
            raise self.error(f"unsupported delimiter {delimiter!r}")
        delimiter = delimiter.removeprefix("\\")
        return Row(()) if delimiter == "." else Operator(delimiter, delimiter)


def parse(source: str) -> Row:
    """Parse the LaTeX subset into a tree of nodes."""
    parser = _Parser(source)
    row = parser.parse_row()
    if parser.peek() is not None:
        raise parser.error("unbalanced '}'")
    return row


# ------------------------------------------------------------------------------------------- MathML


def _mathml(node: object) -> str:
    """The node as MathML."""
    if isinstance(node, Row):
        inner = "".join(_mathml(child) for child in node.children)
        return f"<mrow>{inner}</mrow>"
    if isinstance(node, Ident):
        variant = ' mathvariant="normal"' if node.upright and len(node.text) == 1 else ""
        return f"<mi{variant}>{html.escape(node.text)}</mi>"
    if isinstance(node, Number):
        return _mathml_number(node)
    if isinstance(node, Operator):
        if node.text == "′":
            return "<mo>′</mo>"
        stretch = ' stretchy="false"' if node.text in "()[]|" else ""
        return f"<mo{stretch}>{html.escape(node.text)}</mo>"
    if isinstance(node, Text):
        return f"<mtext>{html.escape(node.text)}</mtext>"
    if isinstance(node, Space):
        return f'<mspace width="{node.width}em"></mspace>'
    if isinstance(node, Scripts):
        return _mathml_scripts(node)
    if isinstance(node, Fraction):
        return f"<mfrac>{_mathml(node.numerator)}{_mathml(node.denominator)}</mfrac>"
    raise TypeError(f"not a formula node: {node!r}")


def _mathml_number(node: Number) -> str:
    """1.5e-3 as 1.5 × 10⁻³."""
    mantissa, _, exponent = node.text.partition("e")
    if not exponent:
        return f"<mn>{mantissa}</mn>"
    power = int(exponent)
    sign = "<mo>−</mo>" if power < 0 else ""
    return (f"<mrow><mn>{mantissa}</mn><mo>×</mo><msup><mn>10</mn>"
            f"<mrow>{sign}<mn>{abs(power)}</mn></mrow></msup></mrow>")


def _mathml_scripts(node: Scripts) -> str:
    base = _mathml(node.base)
    if isinstance(node.sup, Operator) and node.sup.text == "′":  # σ′: the prime glyph is raised already
        base = f"<mrow>{base}<mo>′</mo></mrow>"
        node = Scripts(node.base, node.sub, None)
        if node.sub is None:
            return base
    if node.sub is not None and node.sup is not None:
        return f"<msubsup>{base}{_mathml(node.sub)}{_mathml(node.sup)}</msubsup>"
    if node.sub is not None:
        return f"<msub>{base}{_mathml(node.sub)}</msub>"
    return f"<msup>{base}{_mathml(node.sup)}</msup>"


def to_mathml(source: str, display: bool = False) -> str:
    """The formula as a MathML ``<math>`` element (block when ``display``)."""
    kind = ' display="block"' if display else ""
    return f'<math{kind}>{_mathml(parse(source))}</math>'


# -------------------------------------------------------------------------------------------- LaTeX


def _latex(node: object) -> str:
    """The node as standard LaTeX."""
    if isinstance(node, Row):
        return "".join(_latex(child) for child in node.children)
    if isinstance(node, Ident):
        return _spaced_word(node.latex)
    if isinstance(node, Number):
        mantissa, _, exponent = node.text.partition("e")
        return f"{mantissa}\\times 10^{{{int(exponent)}}}" if exponent else mantissa
    if isinstance(node, Operator):
        return _spaced_word("\\" + node.latex if node.latex in ("{", "}") else node.latex)
    if isinstance(node, Text):
        return f"\\text{{{node.text}}}"
    if isinstance(node, Space):
        return "\\quad " if node.width >= 1 else "\\, "
    if isinstance(node, Scripts):
        return _latex_scripts(node)
    if isinstance(node, Fraction):
        return f"\\frac{{{_latex(node.numerator)}}}{{{_latex(node.denominator)}}}"
    raise TypeError(f"not a formula node: {node!r}")


def _spaced_word(latex: str) -> str:
    """A control word (\\alpha) followed by a space, so that a letter after it is not read as part of it."""
    return latex + (" " if latex.startswith("\\") and latex[-1].isalpha() else "")


def _latex_scripts(node: Scripts) -> str:
    out = _latex(node.base).strip()
    if not isinstance(node.base, (Ident, Number, Operator)) or " " in out.strip():
        out = "{" + out + "}"
    if node.sub is not None:
        out += "_{" + _latex(node.sub) + "}"
    if node.sup is not None:
        out += "^{" + _latex(node.sup) + "}"
    return out


def to_latex(source: str) -> str:
    """The formula as standard LaTeX (numbers in scientific notation become ``a\\times 10^{b}``)."""
    return _latex(parse(source)).strip()


# ------------------------------------------------------------------------------------- Unicode text

SUPERSCRIPTS = dict(zip(
    "0123456789+−-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUW′",
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁᵂ′",
))
SUBSCRIPTS = dict(zip("0123456789+−-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))


def _needs_parentheses(node: object) -> bool:
    """Whether a fraction's part must be wrapped when written on one line as a/b."""
    if isinstance(node, Row):
        return any(_needs_parentheses(child) for child in node.children)
    if isinstance(node, Operator):
        return node.text in "+−=·×⊙/"
    return isinstance(node, (Space, Fraction, Text))


def _is_closing(node: object) -> bool:
    """An operator that needs no space before it."""
    return isinstance(node, (Operator, Space)) and (not isinstance(node, Operator) or node.text in "=+−·×⊙,)]")


def _is_word(node: object) -> bool:
    """A function name such as ln or softmax, set apart by spaces from its neighbours."""
    return isinstance(node, Ident) and node.upright and len(node.text) > 1


def _is_big_operator(node: object) -> bool:
    """∑, with or without limits: the summand gets a space after it."""
    base = node.base if isinstance(node, Scripts) else node
    return isinstance(base, Operator) and base.text == "∑"


def _script_text(node: object, table: dict[str, str], marker: str) -> str:
    plain = _text(node).replace(" ", "")
    if plain and all(char in table for char in plain):
        return "".join(table[char] for char in plain)
    return f"{marker}({plain})" if len(plain) > 1 else f"{marker}{plain}"


def _row_text(row: Row) -> str:
    """A row's children on one line, a unary minus kept tight and words, fractions and sums set apart."""
    parts, previous = [], None
    for child in row.children:
        unary = (isinstance(child, Operator) and child.text == "−"
                 and (previous is None or isinstance(previous, Operator) and previous.text != ")"))
        parts.append(("−" if unary else "") or (" " if _spaced(previous, child) else "") + _text(child))
        previous = child
    return "".join(parts)


def _spaced(previous: object, child: object) -> bool:
    """Whether a space goes between two neighbours in a row (after a fraction, ∑ or a word; before a word)."""
    after_operator = isinstance(previous, (Operator, Space))
    return (isinstance(previous, Fraction) and not _is_closing(child)
            or isinstance(child, Fraction) and previous is not None and not after_operator
            or _is_big_operator(previous) and not _is_closing(child)
            or _is_word(previous) and not isinstance(child, Operator)
            or _is_word(child) and previous is not None and not after_operator)


def _text(node: object) -> str:
    """The node as Unicode text.

    Complexity: one branch per kind of formula node, so the whole mapping reads as one table.
    """
    if isinstance(node, Row):
        return _row_text(node)
    if isinstance(node, Ident):
        return node.text
    if isinstance(node, Number):
        return node.text
    if isinstance(node, Operator):
        if node.text in "=←→≈≤≥≠+⊙×∈·−<>":
            return f" {node.text} "
        if node.text == ",":
            return ", "
        return node.text
    if isinstance(node, Text):
        return node.text
    if isinstance(node, Space):
        return "  " if node.width >= 1 else " "
    if isinstance(node, Scripts):
        out = _text(node.base)
        if node.sup is not None:
            out += _script_text(node.sup, SUPERSCRIPTS, "^")
        if node.sub is not None:
            out += _script_text(node.sub, SUBSCRIPTS, "_")
        return out
    if isinstance(node, Fraction):
        top, bottom = _text(node.numerator), _text(node.denominator)
        top = f"({top})" if _needs_parentheses(node.numerator) else top
        bottom = f"({bottom})" if _needs_parentheses(node.denominator) else bottom
        return f"{top}/{bottom}"
    raise TypeError(f"not a formula node: {node!r}")


def to_text(source: str) -> str:
    """The formula as one line of Unicode text (superscript and subscript characters where they exist)."""
    return re.sub(r" {3,}", "  ", _text(parse(source))).strip()
