#!/usr/bin/env python3
"""Writes Sources/Pickle/Reading/PythonCodecTable.swift from CPython's own codec registry.

Every name CPython's `codecs.lookup` accepts comes from `encodings.aliases.aliases` and the modules of the
`encodings` package; each is looked up here and mapped to its codec's canonical name (`CodecInfo.name`). Each
codec then gets a decoder this library implements:

- native: ascii, latin-1 (and `charmap` without a mapping, which is latin-1), utf-8, utf-8-sig;
- table: single-byte codecs (the `encodings` modules with a `decoding_table` or `decoding_map`), as the 256
  characters CPython decodes each byte to, U+FFFE for bytes it cannot decode;
- iconv: multibyte codecs, UTF-16/32 and UTF-7, through the named glibc converter;
- unsupported: codecs that are not text encodings, that glibc has no converter for, or that are CPython's own
  (idna, punycode, unicode_escape, ...), each with the reason given to the caller.

Usage: python3 scripts/generate_codec_table.py [OUTPUT]   (default: the committed path; `-` for stdout)
The test script regenerates the table and fails when the committed one differs.
"""
import codecs
import encodings
import encodings.aliases
import importlib
import pkgutil
import sys

OUTPUT = "Sources/Pickle/Reading/PythonCodecTable.swift"

NATIVE = {"ascii": "ascii", "iso8859-1": "latin1", "charmap": "latin1", "utf-8": "utf8", "utf-8-sig": "utf8Sig"}

# glibc converter names for the codecs decoded through iconv, and the byte width of the code unit CPython
# replaces as one on an error (1 for the multibyte codecs, whose decoders report one byte per invalid lead).
ICONV = {
    "big5": ("BIG5", 1), "big5hkscs": ("BIG5-HKSCS", 1), "cp932": ("CP932", 1), "cp949": ("CP949", 1),
    "cp950": ("CP950", 1), "euc_jis_2004": ("EUC-JISX0213", 1), "euc_jisx0213": ("EUC-JISX0213", 1),
    "euc_jp": ("EUC-JP", 1), "euc_kr": ("EUC-KR", 1), "gb18030": ("GB18030", 1), "gb2312": ("EUC-CN", 1),
    "gbk": ("GBK", 1), "iso2022_jp": ("ISO-2022-JP", 1), "iso2022_jp_2": ("ISO-2022-JP-2", 1),
    "iso2022_jp_3": ("ISO-2022-JP-3", 1), "iso2022_kr": ("ISO-2022-KR", 1), "johab": ("JOHAB", 1),
    "shift_jis": ("SHIFT_JIS", 1), "shift_jis_2004": ("SHIFT_JISX0213", 1), "shift_jisx0213": ("SHIFT_JISX0213", 1),
    "utf-16": ("UTF-16LE", 2), "utf-16-le": ("UTF-16LE", 2), "utf-16-be": ("UTF-16BE", 2),
    "utf-32": ("UTF-32LE", 4), "utf-32-le": ("UTF-32LE", 4), "utf-32-be": ("UTF-32BE", 4),
    "utf-7": ("UTF-7", 1),
}
# The unsuffixed UTF-16/32 codecs read a byte order mark, else assume little-endian (CPython on this machine).
BOM = {"utf-16": "utf16", "utf-32": "utf32"}

NOT_TEXT = {"base64", "bz2", "hex", "quopri", "rot-13", "uu", "zlib"}
NO_GLIBC = {"hz", "iso2022_jp_1", "iso2022_jp_2004", "iso2022_jp_ext"}
CPYTHON_ONLY = {"idna", "punycode", "raw-unicode-escape", "unicode-escape", "undefined"}


def normalize(name):
    """CPython's C-level _Py_normalize_encoding: lowercase ASCII letters, digits and '.'; runs of anything
    else become one '_', dropped at either end."""
    out, punct = [], False
    for c in name:
        if (c.isascii() and c.isalnum()) or c == ".":
            if punct and out:
                out.append("_")
            out.append(c.lower())
            punct = False
        else:
            punct = True
    return "".join(out)


def names():
    modules = sorted(m.name for m in pkgutil.iter_modules(encodings.__path__))
    found = {}
    for key in sorted(set(encodings.aliases.aliases) | set(modules)):
        if normalize(key) != key:
            continue  # never reached: lookups normalize first
        try:
            info = codecs.lookup(key)
        except LookupError:
            continue  # an alias of a module this platform lacks (mbcs, oem)
        found[key] = info.name
    return found


def single_byte_table(canonical, module):
    mod = importlib.import_module("encodings." + module)
    if not (hasattr(mod, "decoding_table") or hasattr(mod, "decoding_map")):
        return None
    table = []
    for b in range(256):
        try:
            text = bytes([b]).decode(canonical)
        except UnicodeDecodeError:
            text = "\ufffe"
        assert len(text) == 1 and not (0xD800 <= ord(text) < 0xE000), (canonical, b, text)
        table.append(text)
    assert bytes(range(256)).decode(canonical, "replace") == "".join(t if t != "\ufffe" else "\ufffd" for t in table)
    return "".join(table)


def ascii_compatible(canonical):
    samples = [bytes([b]) for b in range(128)] + [bytes(range(128)), b"+AGE-", b"\x1b$B", b"~{", b"\x0e"]
    for s in samples:
        try:
            if s.decode(canonical) != s.decode("latin-1"):
                return False
        except UnicodeDecodeError:
            return False
    return True


def invalid_leads(canonical):
    """Bytes of 0x80 and above that CPython never decodes as the start of a sequence, whatever follows:
    glibc decodes some of them alone (C1 controls, a euro sign), so the decoder refuses them itself."""
    leads = []
    for b in range(0x80, 0x100):
        def fails_alone(data):
            try:
                data.decode(canonical)
            except UnicodeDecodeError as e:
                return e.start == 0 and e.end == 1
            return False
        if fails_alone(bytes([b])) and all(fails_alone(bytes([b, x])) for x in range(256)):
            leads.append(b)
    return bytes(leads).hex()


def swift_string(text):
    out = []
    for ch in text:
        o = ord(ch)
        if 0x20 <= o < 0x7F and ch not in '"\\':
            out.append(ch)
        else:
            out.append("\\u{%X}" % o)
    return '"' + "".join(out) + '"'


def kind_of(canonical, module):
    if canonical in NATIVE:
        return "." + NATIVE[canonical]
    if canonical in NOT_TEXT:
        return '.unsupported("is not a text encoding (CPython: use codecs.decode)")'
    if canonical in NO_GLIBC:
        return '.unsupported("has no glibc iconv converter")'
    if canonical in CPYTHON_ONLY:
        return '.unsupported("is implemented by CPython only, not by this library")'
    if canonical in ICONV:
        name, unit = ICONV[canonical]
        bom = BOM.get(canonical, "none")
        compatible = ascii_compatible(canonical)
        leads = invalid_leads(canonical) if unit == 1 and compatible else ""
        return '.iconv("%s", unitBytes: %d, bom: .%s, asciiCompatible: %s, invalidLeads: "%s")' % (
            name, unit, bom, "true" if compatible else "false", leads)
    table = single_byte_table(canonical, module)
    if table is None:
        raise SystemExit("no decoder chosen for codec %r: add it to this script" % canonical)
    return ".table(%s)" % swift_string(table)


def generate():
    found = names()
    canonicals = sorted(set(found.values()))
    # The module that implements each codec (one of the names that resolve to it, the module itself).
    modules = {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    module_of = {}
    for key, canonical in found.items():
        if key in modules and codecs.lookup(key).name == canonical:
            module_of.setdefault(canonical, key)
    lines = [
        "// Generated by scripts/generate_codec_table.py from CPython %d.%d's codec registry: do not edit."
        % sys.version_info[:2],
        "// scripts/test.sh fails when this file differs from what the script writes.",
        "",
        "/// Every codec CPython knows, and how this library decodes it (``PythonCodecTable``).",
        "enum PythonCodecTable {",
        "    /// The codecs: canonical name (CPython's `CodecInfo.name`) and decoder, sorted by name.",
        "    static let codecs: [(name: String, kind: CodecKind)] = [",
    ]
    for canonical in canonicals:
        lines.append('        ("%s", %s),' % (canonical, kind_of(canonical, module_of[canonical])))
    lines += [
        "    ]",
        "",
        "    /// Every normalized name and alias CPython accepts -> index into ``codecs``.",
        "    static let names: [String: Int] = [",
    ]
    for key in sorted(found):
        lines.append('        "%s": %d,' % (key, canonicals.index(found[key])))
    lines += ["    ]", "}", ""]
    return "\n".join(lines)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else OUTPUT
    text = generate()
    if out == "-":
        sys.stdout.write(text)
    else:
        with open(out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
