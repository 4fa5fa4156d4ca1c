"""Readers: bytes from files, folders or stdin in, :class:`RawRow` out, whatever the bytes are.

A reader never raises on bad content. A row it cannot read becomes a ``RawRow`` with a
``problem`` (reason, detail); a file that cannot be read to its end (bad gzip, a quote that is
never closed) ends with one row marked ``fatal``, so the pipeline rejects the unreadable rest,
keeps everything before it, and reports the file as failed.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import re
import sys
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from app.ingest.mapping import SourceOptions

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 1 << 20
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
READABLE_SUFFIXES = tuple(SUFFIX_FORMATS) + tuple(f"{s}.gz" for s in SUFFIX_FORMATS) + (".gz",)
DELIMITERS = (",", ";", "\t", "|")

_NON_ASCII = re.compile(r"[^\x00-\x7f\ufffd]")
_UNDECODED = re.compile(r"[\udc80-\udcff]")  # bytes that surrogateescape could not decode

csv.field_size_limit(1 << 20)


@dataclass(slots=True)
class RawRow:
    source: str
    line_number: int
    fields: dict[str, str] | None
    raw: str
    problem: tuple[str, str] | None = None
    fatal: bool = False
    part: int = 0
    """Which line of a JSON order record with nested ``lines`` (they share a line number)."""
    index: int = 0
    """Position of the row in its source: identical rows on one line (JSON array elements)
    are still distinct rows."""


@dataclass(frozen=True, slots=True)
class Source:
    """A named stream of bytes: a file path, or stdin as ``-``."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.path is None:
            return sys.stdin.buffer
        return self.path.open("rb")

    @property
    def size(self) -> int | None:
        if self.data is not None:
            return len(self.data)
        return self.path.stat().st_size if self.path is not None else None


class SourceNotFound(FileNotFoundError):
    pass


def expand_paths(paths: list[str]) -> list[Source]:
    """Files as given, folders walked in name order for readable files, ``-`` for stdin."""
    sources: list[Source] = []
    for text in paths:
        if text == "-":
            sources.append(Source(name="<stdin>"))
            continue
        path = Path(text)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(READABLE_SUFFIXES)
            )
            if not found:
                raise SourceNotFound(f"{text}: folder holds no CSV or JSON files")
            sources.extend(Source(name=str(p.resolve()), path=p) for p in found)
        elif path.is_file():
            # Resolved, so that "x.csv" and "./x.csv" are one source (rejection ids use it).
            sources.append(Source(name=str(path.resolve()), path=path))
        else:
            raise SourceNotFound(f"{text}: no such file or folder")
    return sources


class _Gunzip(io.RawIOBase):
    """gzip decompressed chunk by chunk, so that a truncated or corrupt stream still yields
    every byte before the damage (``gzip.GzipFile`` loses its last buffer); ``error`` then says
    what happened. Concatenated gzip members are read one after the other."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._inflater = zlib.decompressobj(wbits=31)
        self._out = b""
        self._position = 0
        self._done = False
        self.error: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._position >= len(self._out) and not self._done:
            self._out, self._position = self._inflate(self._raw.read(1 << 16)), 0
        size = min(len(buffer), len(self._out) - self._position)
        buffer[:size] = self._out[self._position : self._position + size]
        self._position += size
        return size

    def _inflate(self, chunk: bytes) -> bytes:
        if not chunk:
            if not self._inflater.eof:
                self.error = "the gzip stream ends early: the file is truncated"
            self._done = True
            return b""
        out = b""
        try:
            while chunk:
                if self._inflater.eof:
                    self._inflater = zlib.decompressobj(wbits=31)
                out += self._inflater.decompress(chunk)
                chunk = self._inflater.unused_data if self._inflater.eof else b""
        except zlib.error as error:
            self.error = f"the gzip data is corrupt ({error})"
            self._done = True
        return out


class _Lines:
    """Binary lines from a possibly gzipped stream, counting bytes and trapping corruption.

    Iterating stops early (rather than raising) when the stream is corrupt; ``error`` then says
    why, so the reader can end the file with a fatal row at the right line.
    """

    def __init__(self, stream: BinaryIO, on_bytes: Callable[[int], None] | None) -> None:
        if not hasattr(stream, "peek"):
            stream = io.BufferedReader(stream)  # type: ignore[arg-type]
        self._raw = stream
        self.compressed = stream.peek(2)[:2] == GZIP_MAGIC  # type: ignore[attr-defined]
        self._gunzip = _Gunzip(stream) if self.compressed else None
        # A large buffer lets the reader peek far enough to guess encoding and format.
        inner = self._gunzip or stream
        self._stream = io.BufferedReader(inner, buffer_size=SNIFF_BYTES)  # type: ignore[arg-type]
        self._on_bytes = on_bytes
        self._reported = 0
        self._error: str | None = None
        self.cut_line = b""

    @property
    def error(self) -> str | None:
        return self._error or (self._gunzip.error if self._gunzip else None)

    def peek_text(self, size: int) -> bytes:
        try:
            return self._stream.peek(size)[:size]
        except OSError as error:
            self._error = f"the file could not be read ({error})"
            return b""

    def __iter__(self) -> Iterator[bytes]:
        """Binary lines; stops (setting ``error``) instead of raising on unreadable input.

        Only the last line can lack its line break. When the stream broke off, that line is
        cut short and must not pass for a complete row (a price "10.5" cut from "10.50"
        would), so it is kept in ``cut_line`` instead of being yielded."""
        number = 0
        try:
            for line in self._stream:
                if not line.endswith(b"\n"):
                    self.cut_line = line
                    break
                number += 1
                yield line
                if not number & 4095:
                    self._report()
        except OSError as error:
            self._error = f"the file could not be read ({error})"
        if self.cut_line and not self.error:
            yield self.cut_line
            self.cut_line = b""
        self._report()

    def _report(self) -> None:
        if self._on_bytes is None or not self._raw.seekable():
            return
        position = self._raw.tell()
        self._on_bytes(position - self._reported)
        self._reported = position


class _LineFeed:
    """Decoded, numbered lines for ``csv.reader``.

    It remembers the lines the reader took for the current row (their numbers and text, and
    whether they decoded cleanly), and lines can be put back: when a quote left open swallows
    the lines after it, only the line with the quote is rejected and the rest are read again.
    Decoding is per line so that one badly encoded line costs one row, not the file.
    """

    def __init__(self, lines: Iterable[bytes], encoding: str) -> None:
        self._source = iter(lines)
        self._encoding = encoding
        self._number = 0
        self._back: deque[tuple[int, str, bool]] = deque()
        self.taken: list[tuple[int, str, bool]] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self._back:
            item = self._back.popleft()
        else:
            line = next(self._source)
            self._number += 1
            try:
                item = (self._number, line.decode(self._encoding), False)
            except UnicodeDecodeError:
                item = (self._number, line.decode(self._encoding, errors="replace"), True)
        self.taken.append(item)
        return item[1]

    @property
    def last_number(self) -> int:
        return self._number

    def take(self) -> list[tuple[int, str, bool]]:
        taken, self.taken = self.taken, []
        return taken

    def put_back(self, items: list[tuple[int, str, bool]]) -> None:
        self._back.extendleft(reversed(items))


def choose_encoding(sample: bytes, configured: str) -> str:
    """UTF-8 when the sample decodes as UTF-8 (or has its BOM), else Latin-1."""
    if configured != "auto":
        return configured
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        # A UTF-8 file with a few bad bytes still has far more valid multi-byte characters
        # than invalid bytes; a Latin-1 file has almost none that happen to be valid UTF-8.
        text = sample.decode("utf-8", errors="replace")
        invalid = text.count("\ufffd")
        valid = len(_NON_ASCII.findall(text))
        return "utf-8" if valid > invalid else "latin-1"
    return "utf-8"


def choose_delimiter(header: str, configured: str) -> str:
    if configured != "auto":
        return configured.replace("\\t", "\t")
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def detect_format(source: Source, sample: bytes, configured: str) -> str:
    if configured != "auto":
        return configured
    name = source.name.lower().removesuffix(".gz")
    for suffix, kind in SUFFIX_FORMATS.items():
        if name.endswith(suffix):
            return kind
    first = sample.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
    if first == b"[":
        return "json"
    if first == b"{":
        return "jsonl"
    return "csv"


def read_rows(
    source: Source,
    options: SourceOptions,
    on_bytes: Callable[[int], None] | None = None,
    on_header: Callable[[list[str]], list[str]] | None = None,
) -> Iterator[RawRow]:
    """Rows of one source. ``on_header`` sees a CSV header first; it returns the header to use
    (names may be respelled) or raises to refuse the file."""
    try:
        stream = source.open()
    except OSError as error:  # gone since it was listed, no permission, not a regular file
        detail = f"the file cannot be opened ({error.strerror or error})"
        yield RawRow(source.name, 1, None, "", ("unreadable_file", detail), fatal=True)
        return
    # stdin belongs to the process; files are closed when their rows are read (or abandoned).
    with contextlib.nullcontext() if source.path is None else stream:
        lines = _Lines(stream, on_bytes)
        sample = lines.peek_text(SNIFF_BYTES)
        if lines.error and not sample:
            yield RawRow(source.name, 1, None, "", ("corrupt_file", lines.error), fatal=True)
            return
        encoding = choose_encoding(sample, options.encoding)
        kind = detect_format(source, sample, options.format)
        if kind == "csv":
            rows = _csv_rows(source, lines, encoding, options, on_header)
        elif kind == "jsonl":
            rows = _jsonl_rows(source, lines, encoding)
        else:
            rows = _json_array_rows(source, lines, encoding)
        for index, row in enumerate(rows):
            row.index = index
            yield row


def _csv_rows(
    source: Source,
    lines: _Lines,
    encoding: str,
    options: SourceOptions,
    on_header: Callable[[list[str]], list[str]] | None,
) -> Iterator[RawRow]:
    feed = _LineFeed(lines, encoding)
    first = next(feed, None)
    if first is None:
        if lines.error:
            yield RawRow(source.name, 1, None, "", ("corrupt_file", lines.error), fatal=True)
        return
    feed.take()
    delimiter = choose_delimiter(first, options.delimiter)
    try:
        cells = next(csv.reader([first], delimiter=delimiter, strict=True))
    except csv.Error as error:
        detail = f"the header line cannot be read as CSV ({error})"
        yield RawRow(source.name, 1, None, first.rstrip("\r\n"), ("broken_header", detail), True)
        return
    header = [cell.strip().lstrip("\ufeff") for cell in cells]
    folded = [name.casefold() for name in header]
    repeated = sorted({name for name in header if folded.count(name.casefold()) > 1})
    if repeated:
        detail = f"the header names a column twice: {', '.join(repeated)}; which one is meant?"
        yield RawRow(source.name, 1, None, first.rstrip("\r\n"), ("broken_header", detail), True)
        return
    if on_header is not None:
        header = on_header(header)
    width = len(header)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    while True:
        problem = ("", "")
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            cells, problem = None, ("broken_quoting", str(error))
            if "field larger than field limit" in str(error):
                limit = f"a field is longer than {csv.field_size_limit():,} characters"
                problem = ("value_too_long", limit)
        taken = feed.take()
        if not taken:
            break
        start, first_line, bad = taken[0]
        if len(taken) == 1:
            if not cells and cells is not None:
                continue  # a blank line separates nothing and is not a row
            raw = first_line.rstrip("\r\n")
        else:
            if (cells is None or len(cells) != width) and '"' in first_line:
                # A quote left open swallowed the following lines: reject the line with it
                # and read the others again.
                feed.put_back(taken[1:])
                detail = (
                    f"a quote opened on line {start} is not closed on it; the lines after it "
                    "are read again as rows"
                )
                row = RawRow(source.name, start, None, first_line.rstrip("\r\n"))
                row.problem = ("broken_quoting", detail)
                yield row
                continue
            raw = "".join(text for _, text, _ in taken).rstrip("\r\n")
            bad = any(flag for _, _, flag in taken)
        if bad:
            detail = f"not valid {encoding}; if the file is Latin-1 set source.encoding: latin-1"
            yield RawRow(source.name, start, None, raw, ("invalid_encoding", detail))
        elif cells is None:
            yield RawRow(source.name, start, None, raw, problem)
        elif len(cells) != width:
            detail = f"expected {width} fields as in the header, found {len(cells)}"
            yield RawRow(source.name, start, None, raw, ("wrong_column_count", detail))
        else:
            # The width was checked above.
            yield RawRow(source.name, start, dict(zip(header, cells, strict=False)), raw)
    if lines.error:
        cut = lines.cut_line.decode(encoding, errors="replace")
        problem_row = RawRow(source.name, feed.last_number + 1, None, cut)
        problem_row.problem, problem_row.fatal = ("corrupt_file", lines.error), True
        yield problem_row


def _scalar_text(value: Any) -> str:
    """JSON scalars as the text a CSV would carry; containers stay JSON so they fail to parse."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _record_rows(source: Source, number: int, record: Any, raw: str) -> Iterator[RawRow]:
    """One row per line; a record with a ``lines`` array is an order: its header fields are
    copied onto each of its lines."""
    if not isinstance(record, dict):
        kind = type(record).__name__
        yield RawRow(source.name, number, None, raw, ("not_an_object", f"a JSON {kind}"))
        return
    nested = record.get("lines")
    if nested is None:
        yield RawRow(source.name, number, {k: _scalar_text(v) for k, v in record.items()}, raw)
        return
    if not isinstance(nested, list) or not nested:
        detail = "'lines' must be a non-empty list of line objects"
        yield RawRow(source.name, number, None, raw, ("invalid_lines", detail))
        return
    header = {k: _scalar_text(v) for k, v in record.items() if k != "lines"}
    for part, line in enumerate(nested):
        if not isinstance(line, dict):
            detail = f"line {part + 1} of the order is not an object"
            yield RawRow(source.name, number, None, raw, ("not_an_object", detail), part=part)
            continue
        fields = header | {k: _scalar_text(v) for k, v in line.items()}
        yield RawRow(source.name, number, fields, raw, part=part)


def _jsonl_rows(source: Source, lines: _Lines, encoding: str) -> Iterator[RawRow]:
    number = 0
    for line in lines:
        number += 1
        if not line.strip():
            continue
        try:
            text = line.decode(encoding)
        except UnicodeDecodeError:
            raw = line.decode(encoding, errors="replace")
            yield RawRow(source.name, number, None, raw, ("invalid_encoding", f"not {encoding}"))
            continue
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            yield RawRow(source.name, number, None, text, ("invalid_json", str(error)))
            continue
        yield from _record_rows(source, number, record, text.rstrip("\r\n"))
    if lines.error:
        cut = lines.cut_line.decode(encoding, errors="replace")
        yield RawRow(source.name, number + 1, None, cut, ("corrupt_file", lines.error), True)


def _json_array_rows(source: Source, lines: _Lines, encoding: str) -> Iterator[RawRow]:
    """Element by element, so a truncated array still yields the elements before the cut.

    A cut cannot fake a complete element (it would not parse), so the cut tail is read too.
    Bytes that do not decode become lone surrogates, and an element holding one is rejected
    as ``invalid_encoding`` rather than accepted with replacement characters."""
    data = b"".join(lines) + lines.cut_line
    text = data.decode(encoding, errors="surrogateescape")
    decoder = json.JSONDecoder()
    counted = [0, 1]  # up to which position newlines are counted, and the line there

    def line_at(at: int) -> int:
        counted[1] += text.count("\n", counted[0], at)  # positions only grow: linear overall
        counted[0] = at
        return counted[1]

    def stop(at: int, reason: str, detail: str) -> RawRow:
        """The fatal row that ends the file where it cannot be read further."""
        if lines.error:
            reason, detail = "corrupt_file", lines.error
        raw = text[at : at + 2000].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return RawRow(source.name, line_at(at), None, raw, (reason, detail), True)

    position = _skip_space(text, 0)
    if position == len(text):
        if lines.error:
            yield stop(position, "corrupt_file", lines.error)
        return
    if text[position] != "[":
        yield stop(
            position, "invalid_json", "a JSON file holds an array of records (or use .jsonl)"
        )
        return
    position = _skip_space(text, position + 1)
    if text[position : position + 1] != "]":
        while True:
            try:
                record, end = decoder.raw_decode(text, position)
            except json.JSONDecodeError as error:
                where = f"line {error.lineno}, column {error.colno}"
                yield stop(position, "invalid_json", f"{error.msg} ({where})")
                return
            element = text[position:end]
            if _UNDECODED.search(element):
                detail = (
                    f"not valid {encoding}; if the file is Latin-1 set source.encoding: latin-1"
                )
                raw = element.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                yield RawRow(
                    source.name, line_at(position), None, raw, ("invalid_encoding", detail)
                )
            else:
                yield from _record_rows(source, line_at(position), record, element)
            position = _skip_space(text, end)
            mark = text[position : position + 1]
            if mark == "]":
                break
            if mark != ",":
                yield stop(position, "invalid_json", "expected ',' or ']' after an element")
                return
            position = _skip_space(text, position + 1)
    rest = _skip_space(text, position + 1)
    if rest < len(text):
        yield stop(rest, "invalid_json", "data after the end of the array was not read")
    elif lines.error:
        yield stop(rest, "corrupt_file", lines.error)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
