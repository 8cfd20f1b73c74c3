"""Small real files of each accepted type, and disguised ones."""

from __future__ import annotations

import struct
import zlib


def png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def pdf(text: str = "Mandat signé") -> bytes:
    body = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode("latin-1")
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
            + b"2 0 obj << /Length " + str(len(body)).encode() + b" >> stream\n" + body
            + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\xff\xd9"
