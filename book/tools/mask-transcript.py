#!/usr/bin/env python3
"""Masks the values of a command transcript that change from one run to the next.

This is the only place where the book's transcripts are changed after the command ran. It reads
a transcript on standard input and writes it, masked, on standard output. Each rule replaces a
kind of value by a placeholder in angle brackets; the rules run in the order below, and the book's
"How this book is made" chapter lists them.

Usage: mask-transcript.py --tmp DIR [--tmp DIR ...] < raw.txt > masked.txt
"""

import argparse
import re
import sys

# GUIDs that are the same everywhere: the well-known principal ids, and the example tenant id
# that the book passes on the command line itself.
KEEP_GUIDS = {
    "00000001-0000-0000-c000-000000000000",  # the token service (ACS)
    "00000001-0001-0000-c000-000000000000",  # the trusted issuer of access tokens
    "00000002-0000-0ff1-ce00-000000000000",  # Exchange
    "00000003-0000-0ff1-ce00-000000000000",  # SharePoint
    "00000004-0000-0ff1-ce00-000000000000",  # Lync / Skype for Business
    "4d2a1b3c-5e6f-4a8b-9c0d-1e2f3a4b5c6d",  # the book's example tenant id
}

DURATION = r"(?:\d+h \d{2}m \d{2}s|\d+m \d{2}s|\d+s)"
MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"

# Placeholders of identifiers that fill table columns keep the column's width (see substitute).
PADDED = {"thumbprint", "guid", "guid-n"}

# (name, pattern, replacement), applied in this order.
RULES = [
    # Tokens first: they contain long base64url runs that later rules would cut up.
    ("token", r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*", "<TOKEN>"),
    # Values recognised by the field that holds them.
    ("server", r"(OriginatingServer\"?\s*:\s*\"?)[A-Za-z0-9.-]+", r"\1<SERVER>"),
    ("serial", r"(SerialNumber\"?\s*:\s*\"?)[0-9A-Fa-f:]+", r"\1<SERIAL>"),
    ("x5t", r"((?i:x5t)(?:Hex)?\"?\s*[:=]\s*\"?)[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])", r"\1<X5T>"),
    # Dates and times, in every form the programs print.
    ("rfc3339", r"\b\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?: ?(?:Z|[+-]\d{2}:\d{2}(?::\d{2})?))?", "<DATE>"),
    ("us-date", r"\b\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M", "<DATE>"),
    ("openssl-date", MONTH + r" {1,2}\d{1,2} \d{2}:\d{2}:\d{2} \d{4} GMT", "<DATE>"),
    ("unix-time", r"\b1[6-9]\d{8}\b", "<UNIX-TIME>"),
    ("duration", r"((?:expires in|valid in|EXPIRED) )" + DURATION, r"\1<DURATION>"),
    ("age", DURATION + r"( ago)", r"<DURATION>\1"),
    ("elapsed", r"(\(after )\d+( ms\))", r"\1<MS>\2"),
    # Digests and identifiers.
    ("sha256", r"(Sha256Thumbprint\"?\s*:\s*\"?)[0-9A-Fa-f]{64}\b", r"\1<SHA256-THUMBPRINT>"),
    ("thumbprint", r"\b[0-9A-F]{40}\b", "<THUMBPRINT>"),
    ("colon-hex", r"\b[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){15,}\b", "<HEX>"),
    ("guid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", None),
    ("guid-n", r"\b[0-9a-fA-F]{32}\b", "<GUID>"),
    # Ports the system picked (Linux hands out 32768 to 60999 for port 0).
    ("port", r"((?:127\.0\.0\.1|localhost|\[::1\]):)(?:3[2-9]\d{3}|[4-6]\d{4})\b", r"\1<PORT>"),
    # Long base64, such as a DER certificate (not long hexadecimal, such as a device token).
    # A run that starts with "/" is a path, not base64.
    ("base64", r"(?<![A-Za-z0-9+/])(?!/)(?=[A-Za-z0-9+/]*[G-Zg-z+/])[A-Za-z0-9+/]{60,}={0,2}", "<BASE64>"),
]


def keep_or_mask_guid(match):
    text = match.group(0)
    return text if text.lower() in KEEP_GUIDS else "<GUID>"


def substitute(pattern, replacement, text, pad):
    """Applies one rule. With `pad`, an identifier followed by two spaces, which sits in a table
    column, is replaced by a placeholder padded to its width, so that the columns stay aligned."""

    def replace(match):
        new = replacement(match) if callable(replacement) else match.expand(replacement)
        if pad and text.startswith("  ", match.end()) and len(new) < len(match.group(0)):
            new = new.ljust(len(match.group(0)))
        return new

    return re.sub(pattern, replace, text)


def mask(text, temp_dirs):
    # Temporary paths: the longest first, so that a nested one is not half replaced.
    for directory in sorted(temp_dirs, key=len, reverse=True):
        text = text.replace(directory, "<TMP>")
    for name, pattern, replacement in RULES:
        rule = replacement if replacement is not None else keep_or_mask_guid
        text = substitute(pattern, rule, text, name in PADDED)
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tmp", action="append", default=[], help="a temporary directory to show as <TMP>")
    args = parser.parse_args()
    sys.stdout.write(mask(sys.stdin.read(), args.tmp))


if __name__ == "__main__":
    main()
