import pytest

from reservoir.domain.entries.services import decode_cursor, encode_cursor
from reservoir.lib.codes import check_code, is_valid_code, path_code
from reservoir.lib.errors import ProblemError


@pytest.mark.parametrize("code", ["A", "sku-1", "a.b_c:d/e-f", "x" * 64, "0"])
def test_valid_codes(code: str) -> None:
    assert is_valid_code(code)
    assert check_code(code, "sku") == code


@pytest.mark.parametrize("code", ["", "x" * 65, "a b", "é", "a\n", "a?b", "a#b", "a%2F", None, 5])
def test_invalid_codes_name_the_field(code: object) -> None:
    assert not is_valid_code(code)
    with pytest.raises(ProblemError) as info:
        check_code(code, "location")  # type: ignore[arg-type]
    assert info.value.status == 422
    assert info.value.extra["field"] == "location"
    with pytest.raises(ProblemError) as info:
        check_code(code, "sku", status=400)  # type: ignore[arg-type]
    assert info.value.status == 400
    assert info.value.extra["field"] == "sku"


def test_path_code_drops_the_leading_slash_of_path_parameters() -> None:
    assert path_code("/a/b") == "a/b"
    assert path_code("a") == "a"


@pytest.mark.parametrize("last_id", [0, 1, 99, 2**62])
def test_cursor_round_trip(last_id: int) -> None:
    cursor = encode_cursor(last_id)
    assert str(last_id) not in cursor or last_id < 10
    assert decode_cursor(cursor) == last_id


@pytest.mark.parametrize("cursor", ["", "abc", "!!!", encode_cursor(5)[:-1] + "$", "aWQ6LTE"])
def test_bad_cursors_are_400_naming_after(cursor: str) -> None:
    with pytest.raises(ProblemError) as info:
        decode_cursor(cursor)
    assert info.value.status == 400
    assert info.value.extra["field"] == "after"
