"""GB 32100-2015: the USCC check character."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.uscc import ALPHABET, WEIGHTS, check_character, uscc_problem, with_check_character

first17 = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


def test_the_worked_example_of_the_standard_is_valid() -> None:
    assert uscc_problem("91350100M000100Y43") is None
    assert check_character("91350100M000100Y4") == "3"


def test_weights_are_powers_of_three_modulo_31() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@given(first17)
def test_every_code_with_its_check_character_is_valid(prefix: str) -> None:
    assert uscc_problem(with_check_character(prefix)) is None


@given(first17, st.integers(0, 17), st.sampled_from(ALPHABET))
def test_any_single_character_change_is_detected(prefix: str, position: int, new: str) -> None:
    code = with_check_character(prefix)
    changed = code[:position] + new + code[position + 1 :]
    if changed != code:
        assert uscc_problem(changed) is not None


def test_letters_outside_the_alphabet_are_named() -> None:
    problem = uscc_problem("91350100M000100YO3")
    assert problem is not None
    assert "'O'" in problem
