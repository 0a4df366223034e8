#!/usr/bin/env python3
"""Public-domain English text for LayerLab's bundled demo model: extraction and the train/held-out split.

Plain Python 3 (standard library only). Shared by tools/make_demo_tasks.py (runs anywhere) and
tools/train_demo_model.py (runs on the GPU machine), so both see byte-identical text.

Sources (Debian packages, .deb files kept in the ignored folder .carry/debs/):
  bible-kjv-text  King James Version of the Bible (1611, public domain). The package stores the text in
                  the Bible Retrieval System's own compressed format (usr/lib/bible.data, "EC02"), which no
                  standard library can read, so the verses are dumped once with the `bible` program of the
                  companion package bible-kjv (same source package and version), run from a temporary
                  directory: `bible -p DIR -f Gen1:1-Rev22:21`.
  dict-devil      Ambrose Bierce, The Devil's Dictionary (1911, public domain), a dictd database whose
                  .dict.dz is plain gzip; read in Python.
The .deb archives themselves are parsed in Python (ar container, then tarfile on data.tar.xz / .gz / .zst;
.zst goes through the `zstd` program because Python 3.11/3.12 has no zstd module).

`python3 tools/demo_text.py prepare` (needs Linux x86-64 with glibc and libreadline8 for the `bible`
program; Debian bookworm works; no dpkg needed) writes the plain-text inputs into .carry/text/:
  kjv.tsv     one verse a line: BOOK<TAB>CHAPTER<TAB>VERSE<TAB>TEXT   (31102 verses, 1189 chapters)
  devil.txt   the dictionary body, entries separated by one empty line
The training script reads only these two files (carry .carry/ to the device). Their SHA-256 are checked
against EXPECTED_SHA256 so a different extraction is noticed.

Split (deterministic, no randomness): the 1189 chapters of the KJV are numbered 0..1188 in canonical
order; chapter k is HELD OUT when k % 20 == 7 (60 chapters, about 5 % of the Bible); every other chapter
and every Devil's Dictionary entry is training text.

Document format (one document = one chapter or one dictionary entry; documents are joined with "\n\n"):
  chapter:  "<Book name> <chapter>\n<verse 1> <verse 2> ... <verse n>"   (verses joined by one space,
            no verse numbers)
  entry:    the entry text as in the dictionary, lines kept, trailing spaces stripped.
heldout.txt = the held-out chapters in order, joined with "\n\n", plus a final "\n".
"""
import gzip
import hashlib
import io
import lzma  # noqa: F401  (tarfile needs it for data.tar.xz; import early so a missing module is obvious)
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBS_DIR = os.path.join(REPO, ".carry", "debs")
TEXT_DIR = os.path.join(REPO, ".carry", "text")

HOLDOUT_MOD = 20
HOLDOUT_REM = 7

# Filled in after the first `prepare`; None disables the check for that file.
EXPECTED_SHA256 = {
    "kjv.tsv": "6242e02ba4e80303fa3db490428901eb6e89a18cab078d2a230aaffeb4cc0f9c",
    "devil.txt": "e610558cf18f669666eb0a75052302a1f1867e687a28671b3ffd4c60f23b468b",
}

BOOKS = [  # canonical order; names used in the chapter headers
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth",
    "1 Samuel", "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra", "Nehemiah",
    "Esther", "Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah", "Jeremiah",
    "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah", "Micah", "Nahum",
    "Habakkuk", "Zephaniah", "Haggai", "Zechariah", "Malachi",
    "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "1 Corinthians", "2 Corinthians", "Galatians",
    "Ephesians", "Philippians", "Colossians", "1 Thessalonians", "2 Thessalonians", "1 Timothy",
    "2 Timothy", "Titus", "Philemon", "Hebrews", "James", "1 Peter", "2 Peter", "1 John", "2 John",
    "3 John", "Jude", "Revelation",
]


# ----------------------------------------------------------------------------------------------------
# .deb reading (ar + tar), standard library only
# ----------------------------------------------------------------------------------------------------
def read_ar(path):
    """Members of a System V / GNU `ar` archive as a list of (name, bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"!<arch>\n"):
        raise ValueError(f"{path}: not an ar archive")
    pos, out = 8, []
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        if header[58:60] != b"`\n":
            raise ValueError(f"{path}: bad ar member header at offset {pos}")
        name = header[0:16].decode("ascii").strip()
        size = int(header[48:58].decode("ascii").strip())
        if name.endswith("/") and name not in ("/", "//"):
            name = name[:-1]  # GNU ar terminates names with '/'
        body = data[pos + 60:pos + 60 + size]
        if len(body) != size:
            raise ValueError(f"{path}: truncated member {name}")
        out.append((name, body))
        pos += 60 + size + (size & 1)  # members are 2-byte aligned
    return out


def _decompress_member(name, body):
    """Raw tar bytes of a data.tar.* member (xz, gz, zst, bz2 or uncompressed)."""
    if name.endswith(".xz"):
        return lzma.decompress(body)
    if name.endswith(".gz"):
        return gzip.decompress(body)
    if name.endswith(".bz2"):
        import bz2
        return bz2.decompress(body)
    if name.endswith(".zst"):
        try:  # Python >= 3.14
            from compression import zstd  # type: ignore
            return zstd.decompress(body)
        except ImportError:
            pass
        exe = shutil.which("zstd")
        if exe is None:
            raise RuntimeError(f"{name}: zstd-compressed and neither compression.zstd nor `zstd` is available")
        return subprocess.run([exe, "-dc"], input=body, stdout=subprocess.PIPE, check=True).stdout
    if name.endswith(".tar"):
        return body
    raise ValueError(f"unknown data member {name}")


def deb_files(path):
    """Regular files of a .deb's data archive: dict path (without leading './') -> bytes."""
    members = read_ar(path)
    data = [(n, b) for n, b in members if n.startswith("data.tar")]
    if len(data) != 1:
        raise ValueError(f"{path}: expected one data.tar.* member, found {[n for n, _ in members]}")
    name, body = data[0]
    raw = _decompress_member(name, body)
    out = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
        for m in tf.getmembers():
            if m.isfile():
                out[m.name[2:] if m.name.startswith("./") else m.name] = tf.extractfile(m).read()
    return out, name


def deb_control(path):
    """Fields of the .deb's control file as a dict."""
    for name, body in read_ar(path):
        if name.startswith("control.tar"):
            raw = _decompress_member(name, body)
            with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
                for m in tf.getmembers():
                    if m.name in ("./control", "control"):
                        text = tf.extractfile(m).read().decode("utf-8")
                        fields, key = {}, None
                        for line in text.splitlines():
                            if line[:1] in (" ", "\t") and key:
                                fields[key] += "\n" + line
                            elif ":" in line:
                                key, val = line.split(":", 1)
                                fields[key] = val.strip()
                        return fields
    raise ValueError(f"{path}: no control file")


def find_deb(debs_dir, package):
    hits = sorted(f for f in os.listdir(debs_dir) if f.startswith(package + "_") and f.endswith(".deb"))
    if not hits:
        raise FileNotFoundError(f"no {package}_*.deb in {debs_dir} (apt-get download {package})")
    return os.path.join(debs_dir, hits[-1])


# ----------------------------------------------------------------------------------------------------
# prepare: .debs -> .carry/text/{kjv.tsv, devil.txt}
# ----------------------------------------------------------------------------------------------------
REF_RE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+)$")


def dump_kjv(debs_dir):
    """Verses as (book_index, chapter, verse, text), via the `bible` program of bible-kjv."""
    text_files, _ = deb_files(find_deb(debs_dir, "bible-kjv-text"))
    prog_files, _ = deb_files(find_deb(debs_dir, "bible-kjv"))
    with tempfile.TemporaryDirectory() as tmp:
        for rel in ("usr/lib/bible.data", "usr/lib/bible.data.conc"):
            with open(os.path.join(tmp, os.path.basename(rel)), "wb") as f:
                f.write(text_files[rel])
        exe = os.path.join(tmp, "bible")
        with open(exe, "wb") as f:
            f.write(prog_files["usr/bin/bible"])
        os.chmod(exe, 0o755)
        out = subprocess.run([exe, "-p", tmp, "-f", "Gen1:1-Rev22:21"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True, cwd=tmp).stdout
    verses, abbrevs = [], []
    for line in out.decode("ascii").splitlines():
        if not line.strip():
            continue
        ref, text = line.split(" ", 1)
        m = REF_RE.match(ref)
        if not m:
            raise ValueError(f"unexpected line from bible: {line!r}")
        if not abbrevs or abbrevs[-1] != m.group(1):
            abbrevs.append(m.group(1))
        verses.append((len(abbrevs) - 1, int(m.group(2)), int(m.group(3)), " ".join(text.split())))
    if len(abbrevs) != len(BOOKS) or len(verses) != 31102:
        raise ValueError(f"unexpected KJV dump: {len(abbrevs)} books, {len(verses)} verses")
    return verses


def extract_devil(debs_dir):
    """The Devil's Dictionary body (from the preface on), entries separated by one empty line."""
    files, _ = deb_files(find_deb(debs_dir, "dict-devil"))
    raw = gzip.decompress(files["usr/share/dictd/devil.dict.dz"]).decode("latin-1")
    start = raw.index("THE DEVIL'S DICTIONARY")
    start = raw.rfind("\n", 0, start) + 1
    lines = [ln.rstrip() for ln in raw[start:].replace("\r", "").split("\n")]
    # dictfmt appends its own entries (the alphabet line); they are not part of the book
    lines = [ln for ln in lines if ln.strip() != "abcdefghijklmnopqrstuvwxyz" and "00-database" not in ln]
    # collapse runs of empty lines into one, strip leading indentation of centred title lines
    out, blank = [], False
    for ln in lines:
        if not ln:
            if not blank and out:
                out.append("")
            blank = True
            continue
        blank = False
        out.append(ln)
    while out and not out[-1]:
        out.pop()
    text = "\n".join(out) + "\n"
    if not text.isascii():
        text = text.encode("ascii", "replace").decode("ascii")
    return text


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def prepare(debs_dir=DEBS_DIR, text_dir=TEXT_DIR):
    os.makedirs(text_dir, exist_ok=True)
    verses = dump_kjv(debs_dir)
    with open(os.path.join(text_dir, "kjv.tsv"), "w", encoding="utf-8", newline="\n") as f:
        for b, c, v, t in verses:
            f.write(f"{BOOKS[b]}\t{c}\t{v}\t{t}\n")
    with open(os.path.join(text_dir, "devil.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(extract_devil(debs_dir))
    for name in ("kjv.tsv", "devil.txt"):
        print(f"{name}: sha256 {sha256_file(os.path.join(text_dir, name))}", flush=True)


# ----------------------------------------------------------------------------------------------------
# loading and the split
# ----------------------------------------------------------------------------------------------------
def check_text_dir(text_dir=TEXT_DIR):
    for name, want in EXPECTED_SHA256.items():
        path = os.path.join(text_dir, name)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} missing: run `python3 tools/demo_text.py prepare` where the "
                                    f".debs and the bible program work, and carry .carry/ along")
        if want is not None:
            got = sha256_file(path)
            if got != want:
                raise ValueError(f"{path}: sha256 {got} != expected {want}")


def load_chapters(text_dir=TEXT_DIR):
    """List of dicts {index, book, chapter, header, verses[list of str]} in canonical order."""
    chapters = []
    with open(os.path.join(text_dir, "kjv.tsv"), encoding="utf-8") as f:
        for line in f:
            book, ch, _v, text = line.rstrip("\n").split("\t")
            ch = int(ch)
            if not chapters or chapters[-1]["book"] != book or chapters[-1]["chapter"] != ch:
                chapters.append({"index": len(chapters), "book": book, "chapter": ch,
                                 "header": f"{book} {ch}", "verses": []})
            chapters[-1]["verses"].append(text)
    return chapters


def load_devil_entries(text_dir=TEXT_DIR):
    with open(os.path.join(text_dir, "devil.txt"), encoding="utf-8") as f:
        text = f.read()
    return [e for e in text.split("\n\n") if e.strip()]


def chapter_text(ch):
    return ch["header"] + "\n" + " ".join(ch["verses"])


def is_heldout(ch):
    return ch["index"] % HOLDOUT_MOD == HOLDOUT_REM


def build_split(text_dir=TEXT_DIR, check=True):
    """Returns dict with train_docs, heldout_docs (lists of str), heldout_chapters, train_text, heldout_text."""
    if check:
        check_text_dir(text_dir)
    chapters = load_chapters(text_dir)
    entries = load_devil_entries(text_dir)
    held = [c for c in chapters if is_heldout(c)]
    train_docs = [chapter_text(c) for c in chapters if not is_heldout(c)] + entries
    heldout_docs = [chapter_text(c) for c in held]
    return {
        "train_docs": train_docs,
        "heldout_docs": heldout_docs,
        "heldout_chapters": held,
        "train_text": "\n\n".join(train_docs) + "\n",
        "heldout_text": "\n\n".join(heldout_docs) + "\n",
        "n_chapters": len(chapters),
        "n_devil_entries": len(entries),
    }


def main(argv):
    if len(argv) >= 2 and argv[1] == "prepare":
        prepare()
        return 0
    if len(argv) >= 2 and argv[1] == "stats":
        s = build_split()
        print(f"chapters {s['n_chapters']}, held out {len(s['heldout_docs'])}, devil entries "
              f"{s['n_devil_entries']}, train chars {len(s['train_text'])}, held-out chars "
              f"{len(s['heldout_text'])}", flush=True)
        return 0
    print("usage: demo_text.py prepare|stats", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
