"""Bytes of a ``.txt`` page -> text, the way archives hold them.

Chinese archives store pages as UTF-8, GBK/GB18030, Big5 or UTF-16. :func:`decode_text` with
``encoding="auto"`` reads a byte-order mark first, then UTF-8; bytes that are not UTF-8 go to
charset-normalizer, limited to the encodings Chinese text comes in, so a GBK page is read as GBK
instead of turning into U+FFFD. A UTF-8 file with a few broken bytes stays a UTF-8 error (guessing
another encoding for it would turn the whole page into mojibake). Files that are not text at all
(a .docx, a PDF, an image) are named as what they are.
"""

from __future__ import annotations

import codecs

# What a Chinese page can be encoded in, for detection (charset-normalizer's names).
CHINESE_ENCODINGS: tuple[str, ...] = ("gb18030", "big5", "utf_16", "utf_16_le", "utf_16_be")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (.docx, .xlsx, .odt …)"), (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.doc, .xls)"), (b"{\\rtf", "an RTF document"),
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"))


class TextDecodeError(ValueError):
    """Bytes that cannot be read as a page; the message says why and what to do."""


def not_text(raw: bytes) -> str | None:
    """What the bytes are when they are clearly not a text page (a document, an image), else None."""
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            return what
    return None


def _broken_utf8(raw: bytes) -> bool:
    """Mostly UTF-8 with a few bad bytes (more valid multi-byte characters than bad sequences)."""
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for c in text if ord(c) > 0x7F and c != "\ufffd")
    return good >= bad


def decode_text(raw: bytes, encoding: str = "auto", errors: str = "strict", offset: int = 0) -> tuple[str, str]:
    """``(text, encoding used)``. ``encoding="auto"``: BOM, then UTF-8, then detection among
    :data:`CHINESE_ENCODINGS`; any other name decodes with that codec. ``errors="replace"`` puts
    U+FFFD where bytes cannot be read. Raises :class:`TextDecodeError` naming the byte offset."""
    what = not_text(raw)
    if what is not None:
        raise TextDecodeError(f"this is {what}, not a text page: export its text first (UTF-8 or GBK .txt)")
    if encoding != "auto":
        try:
            return raw.decode(encoding, errors=errors), encoding
        except LookupError:
            raise TextDecodeError(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as e:
            raise TextDecodeError(f"invalid {encoding} at byte offset {offset + e.start} ({e.reason}); "
                                  "check --encoding or pass --encoding-errors replace") from None
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return decode_text(raw, name, errors, offset)[0], name
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as e:
        first_bad = e
    if not _broken_utf8(raw):
        from charset_normalizer import from_bytes

        best = from_bytes(raw, cp_isolation=list(CHINESE_ENCODINGS)).best()
        if best is not None and best.encoding:
            return str(best), best.encoding
    if errors == "replace":
        return raw.decode("utf-8", errors="replace"), "utf-8"
    raise TextDecodeError(f"invalid utf-8 at byte offset {offset + first_bad.start} ({first_bad.reason}); "
                          "re-encode the file, name its encoding with --encoding (e.g. gb18030, big5, utf-16) "
                          "or pass --encoding-errors replace")
