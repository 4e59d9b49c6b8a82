"""Hypothesis strategies for logic trees: function calls and the compound nodes (operators,
``and``/``or``, calls) built over a strategy of children."""

from __future__ import annotations

from hypothesis import strategies as st

from worker.core.logic.functions import FUNCTIONS
from worker.core.logic.nodes import Binary, Call, Logical, Node, String, Unary

# Functions whose literal arguments are checked at parse time get their own strategy.
PLAIN_FUNCTIONS = sorted(name for name, spec in FUNCTIONS.items() if spec.check is None)


UNITS = ["y", "M", "d", "h", "m", "s"]


def calls(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    def with_args(name: str) -> st.SearchStrategy[Node]:
        spec = FUNCTIONS[name]
        most = spec.max_args if spec.max_args is not None else spec.min_args + 2
        args = st.lists(children, min_size=spec.min_args, max_size=most)
        return args.map(lambda a: Call(name, tuple(a)))

    datediff = st.builds(
        lambda a, b, unit, rest: Call("datediff", (a, b, String(unit), *rest)),
        children,
        children,
        st.sampled_from(UNITS),
        st.lists(children, max_size=1),
    )
    return st.sampled_from(PLAIN_FUNCTIONS).flatmap(with_args) | datediff


def compound(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Unary, st.sampled_from(["-", "+", "not"]), children),
        st.builds(
            Binary,
            st.sampled_from(["=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "^"]),
            children,
            children,
        ),
        st.builds(
            Logical,
            st.sampled_from(["and", "or"]),
            st.lists(children, min_size=2, max_size=4).map(tuple),
        ),
        calls(children),
    )
