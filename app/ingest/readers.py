"""Readers: bytes from files, folders or stdin in, :class:`RawRow` out, whatever the bytes are.

A reader never raises on bad content. A row it cannot read becomes a ``RawRow`` with a
``problem`` (reason, detail); a file that cannot be read to its end (bad gzip, a quote that is
never closed) ends with one row marked ``fatal``, so the pipeline rejects the unreadable rest,
keeps everything before it, and reports the file as failed.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import sys
import zlib
from collections.abc import Callable, Iterator
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
}
SUFFIX_FORMATS[".json"] = "json"
READABLE_SUFFIXES = tuple(SUFFIX_FORMATS) + tuple(f"{s}.gz" for s in SUFFIX_FORMATS) + (".gz",)
DELIMITERS = (",", ";", "\t", "|")

csv.field_size_limit(1 << 20)


@dataclass(slots=True)
class RawRow:
    source: str
    line_number: int
    fields: dict[str, str] | None
    raw: str
    problem: tuple[str, str] | None = None
    fatal: bool = False


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
            sources.extend(Source(name=str(p), path=p) for p in found)
        elif path.is_file():
            sources.append(Source(name=str(path), path=path))
        else:
            raise SourceNotFound(f"{text}: no such file or folder")
    return sources


class _Lines:
    """Binary lines from a possibly gzipped stream, counting bytes and trapping corruption.

    Iterating stops early (rather than raising) when the stream is corrupt; ``error`` then says
    why, so the reader can end the file with a fatal row at the right line.
    """

    def __init__(self, stream: BinaryIO, on_bytes: Callable[[int], None] | None) -> None:
        buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]
        self._raw = buffered
        self.compressed = buffered.peek(2)[:2] == GZIP_MAGIC  # type: ignore[attr-defined]
        inner = gzip.GzipFile(fileobj=buffered, mode="rb") if self.compressed else buffered
        # A large buffer lets the reader peek far enough to guess encoding and format.
        self._stream = io.BufferedReader(inner, buffer_size=SNIFF_BYTES)  # type: ignore[arg-type]
        self._on_bytes = on_bytes
        self._reported = 0
        self.error: str | None = None

    def peek_text(self, size: int) -> bytes:
        try:
            return self._stream.peek(size)[:size]
        except (OSError, EOFError, zlib.error) as error:
            self.error = _describe_stream_error(error, self.compressed)
            return b""

    def __iter__(self) -> Iterator[bytes]:
        """Binary lines; stops (setting ``error``) instead of raising on corrupt input."""
        number = 0
        try:
            for line in self._stream:
                number += 1
                yield line
                if not number & 4095:
                    self._report()
        except (OSError, EOFError, zlib.error) as error:
            self.error = _describe_stream_error(error, self.compressed)
        self._report()

    def text(self, encoding: str, bad_lines: set[int], pending: list[str]) -> Iterator[str]:
        """Decoded lines, one at a time so that one badly encoded line costs one row, not the
        file; each line is also kept in ``pending`` until the reader has made a row of it."""
        number = 0
        try:
            for line in self._stream:
                number += 1
                try:
                    text = line.decode(encoding)
                except UnicodeDecodeError:
                    bad_lines.add(number)
                    text = line.decode(encoding, errors="replace")
                pending.append(text)
                yield text
                if not number & 4095:
                    self._report()
        except (OSError, EOFError, zlib.error) as error:
            self.error = _describe_stream_error(error, self.compressed)
        self._report()

    def _report(self) -> None:
        if self._on_bytes is None or not self._raw.seekable():
            return
        position = self._raw.tell()
        self._on_bytes(position - self._reported)
        self._reported = position


def _describe_stream_error(error: BaseException, compressed: bool) -> str:
    if isinstance(error, EOFError):
        return "the gzip stream ends early: the file is truncated"
    if compressed:
        return f"the gzip data is corrupt ({error})"
    return f"the file could not be read ({error})"


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
        return "latin-1"
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
    first = sample.lstrip()[:1]
    if first == b"[":
        return "json"
    if first == b"{":
        return "jsonl"
    return "csv"


def read_rows(
    source: Source,
    options: SourceOptions,
    on_bytes: Callable[[int], None] | None = None,
    on_header: Callable[[list[str]], None] | None = None,
) -> Iterator[RawRow]:
    """Rows of one source. ``on_header`` sees a CSV header first and may raise to refuse it."""
    lines = _Lines(source.open(), on_bytes)
    sample = lines.peek_text(SNIFF_BYTES)
    if lines.error:
        yield RawRow(source.name, 1, None, "", ("corrupt_file", lines.error), fatal=True)
        return
    encoding = choose_encoding(sample, options.encoding)
    kind = detect_format(source, sample, options.format)
    if kind == "csv":
        yield from _csv_rows(source, lines, encoding, options, on_header)
    elif kind == "jsonl":
        yield from _jsonl_rows(source, lines, encoding)
    else:
        yield from _json_array_rows(source, lines, encoding)


def _csv_rows(
    source: Source,
    lines: _Lines,
    encoding: str,
    options: SourceOptions,
    on_header: Callable[[list[str]], None] | None,
) -> Iterator[RawRow]:
    bad_lines: set[int] = set()
    pending: list[str] = []
    text_lines = lines.text(encoding, bad_lines, pending)
    first = next(text_lines, None)
    if first is None:
        if lines.error:
            yield RawRow(source.name, 1, None, "", ("corrupt_file", lines.error), fatal=True)
        return
    delimiter = choose_delimiter(first, options.delimiter)
    header = [
        cell.strip().lstrip("\ufeff") for cell in next(csv.reader([first], delimiter=delimiter))
    ]
    pending.clear()
    if on_header is not None:
        on_header(header)
    width = len(header)
    reader = csv.reader(text_lines, delimiter=delimiter, strict=True)
    line_number = 2  # where the next row starts: the header is line 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raw = "".join(pending)
            pending.clear()
            end = reader.line_num + 1
            if "unexpected end of data" in str(error) or lines.error:
                detail = (
                    f"a quoted field opened at line {line_number} is never closed; "
                    f"lines {line_number}-{end - 1} could not be read as rows"
                )
                yield RawRow(source.name, line_number, None, raw, ("broken_quoting", detail), True)
                return
            yield RawRow(source.name, line_number, None, raw, ("broken_quoting", str(error)))
            line_number = end
            continue
        end = reader.line_num + 1
        raw = pending[0] if len(pending) == 1 else "".join(pending)
        pending.clear()
        start, line_number = line_number, end
        if not cells:
            continue  # a blank line separates nothing and is not a row
        if bad_lines and any(n in bad_lines for n in range(start, end)):
            detail = f"not valid {encoding}; if the file is Latin-1 set source.encoding: latin-1"
            yield RawRow(source.name, start, None, raw, ("invalid_encoding", detail))
            continue
        if len(cells) != width:
            detail = f"expected {width} fields as in the header, found {len(cells)}"
            yield RawRow(source.name, start, None, raw, ("wrong_column_count", detail))
            continue
        # The width was checked above.
        yield RawRow(source.name, start, dict(zip(header, cells, strict=False)), raw)
    if lines.error:
        yield RawRow(
            source.name, line_number, None, "".join(pending), ("corrupt_file", lines.error), True
        )


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
        yield RawRow(source.name, number, None, raw, ("invalid_lines", "'lines' must be a list"))
        return
    header = {k: _scalar_text(v) for k, v in record.items() if k != "lines"}
    for line in nested:
        if not isinstance(line, dict):
            yield RawRow(source.name, number, None, raw, ("not_an_object", "a line is no object"))
            continue
        yield RawRow(
            source.name, number, header | {k: _scalar_text(v) for k, v in line.items()}, raw
        )


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
        yield RawRow(source.name, number + 1, None, "", ("corrupt_file", lines.error), True)


def _json_array_rows(source: Source, lines: _Lines, encoding: str) -> Iterator[RawRow]:
    """Element by element, so a truncated array still yields the elements before the cut."""
    data = b"".join(lines)
    text = data.decode(encoding, errors="replace")
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if lines.error and not text[position:]:
        yield RawRow(source.name, 1, None, "", ("corrupt_file", lines.error), True)
        return
    if text[position : position + 1] != "[":
        detail = "a JSON file must hold an array of records (or use .jsonl, one per line)"
        yield RawRow(source.name, 1, None, text[:200], ("invalid_json", detail), True)
        return
    position = _skip_space(text, position + 1)
    if text[position : position + 1] == "]":
        return
    while True:
        line_number = text.count("\n", 0, position) + 1
        try:
            record, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            reason = "corrupt_file" if lines.error else "invalid_json"
            detail = lines.error or f"{error.msg} at line {error.lineno} column {error.colno}"
            yield RawRow(
                source.name, line_number, None, text[position:][:2000], (reason, detail), True
            )
            return
        yield from _record_rows(source, line_number, record, text[position:end])
        position = _skip_space(text, end)
        mark = text[position : position + 1]
        if mark == "]":
            return
        if mark != ",":
            line_number = text.count("\n", 0, position) + 1
            detail = lines.error or "expected ',' or ']' after an element: the array is cut short"
            yield RawRow(
                source.name,
                line_number,
                None,
                text[position:][:2000],
                ("invalid_json", detail),
                True,
            )
            return
        position = _skip_space(text, position + 1)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
