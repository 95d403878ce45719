"""SMS-DELIVER PDUs built byte by byte, for bodies no encoder would write (TS 23.040 9.2.2.1)."""

from __future__ import annotations

import datetime as dt

#: Who sends them and when: +33612345678, stamped 2026-11-28 14:00 UTC.
SENDER = "+33612345678"
STAMPED = dt.datetime(2026, 11, 28, 14, 0, tzinfo=dt.UTC)
SMSC = "07913306091093f0"  # +33609001390
FROM_SENDER = "0b913316325476f8" + "00"  # TP-OA, then TP-PID 0
NOW_STAMP = "62118241000000"  # TP-SCTS of STAMPED
HI_UCS2 = "hi".encode("utf-16-be").hex()

# Bodies that cannot be read as their header says, each with a sender and a stamp that can.
ODD_UCS2 = ("0068006900", 5, 0x08, False)
COMPRESSED = ("e8329bfd06", 5, 0x20, False)
HEADER_TOO_LONG = ("100003", 3, 0x04, True)
CUT_BODY = ("e832", 5, 0x00, False)
# Concatenation elements no long SMS can have: read as single SMS with their defect recorded.
PART_0_OF_2 = ("050003070200" + HI_UCS2, 10, 0x08, True)
BOTH_CONCATENATIONS = ("0b0003070201080400070201" + HI_UCS2, 16, 0x08, True)


def deliver(user_data: str, *, udl: int, dcs: int = 0x08, header: bool = True) -> bytes:
    """An SMS-DELIVER from SENDER stamped STAMPED, with this user data (hex), length, coding."""
    first = 0x44 if header else 0x04  # SMS-DELIVER (0x04), with TP-UDHI (0x40)
    tail = f"{dcs:02x}{NOW_STAMP}{udl:02x}{user_data}"
    return bytes.fromhex(f"{SMSC}{first:02x}{FROM_SENDER}{tail}")


def crafted(body: tuple[str, int, int, bool]) -> bytes:
    """``deliver`` of one of the bodies above."""
    user_data, udl, dcs, header = body
    return deliver(user_data, udl=udl, dcs=dcs, header=header)
