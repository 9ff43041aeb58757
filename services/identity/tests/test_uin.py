from stdnum import verhoeff

from identity import uin


def test_new_uin_carries_a_valid_verhoeff_check_digit():
    numbers = [uin.new_uin() for _ in range(200)]

    assert all(len(n) == 10 and verhoeff.is_valid(n) and uin.is_valid(n) for n in numbers)


def test_uins_are_random_not_sequential():
    numbers = {uin.new_uin() for _ in range(500)}

    assert len(numbers) == 500
    assert not any(int(b) - int(a) == 1 for a, b in zip(sorted(numbers), sorted(numbers)[1:]))


def test_a_single_wrong_digit_is_detected():
    number = uin.new_uin()
    typo = number[:4] + str((int(number[4]) + 1) % 10) + number[5:]

    assert not uin.is_valid(typo)


def test_swapped_neighbours_are_detected():
    number = next(n for n in iter(uin.new_uin, None) if n[3] != n[4])
    swapped = number[:3] + number[4] + number[3] + number[5:]

    assert not uin.is_valid(swapped)


def test_numbers_with_runs_or_leading_zero_or_one_are_never_issued():
    numbers = [uin.new_uin() for _ in range(300)] + [uin.new_vid() for _ in range(100)]

    assert all(n[0] not in "01" and not uin._too_regular(n) for n in numbers)
    assert all(len(v) == 16 and uin.is_valid(v) for v in numbers[300:])
