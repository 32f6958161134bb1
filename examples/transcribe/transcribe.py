#!/usr/bin/env python3
"""Speech to WebVTT captions with pocketsphinx (Debian: pocketsphinx + pocketsphinx-en-us).

vodbuild runs this as a command step (see pipeline.yaml): it reads a 16 kHz mono WAV,
runs `pocketsphinx_continuous -time yes`, which prints one line per recognised word
(`WORD START END CONFIDENCE`, seconds from the start of the file), and groups the words
into cues of at most --words-per-cue words and --max-cue-seconds seconds, breaking at
pauses. Cues are clamped to the audio's duration. Standard library only.

`transcribe.py --version` prints this script's digest and the recogniser's, so vodbuild's
step key changes when either does (the step's `version_args`).
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import wave

RECOGNISER = "pocketsphinx_continuous"
MODEL_ROOT = "/usr/share/pocketsphinx/model"
PAUSE = 0.8  # seconds of silence that end a cue
FILLERS = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+\+.*\+\+)$")
LINE = re.compile(r"^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?)$")


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def recogniser():
    found = shutil.which(RECOGNISER)
    if not found:
        sys.exit(f"{RECOGNISER} not found: apt-get install pocketsphinx pocketsphinx-en-us")
    return found


def words(wav, lang):
    model = os.path.join(MODEL_ROOT, lang)
    argv = [
        recogniser(), "-infile", wav, "-time", "yes", "-logfn", os.devnull,
        "-hmm", os.path.join(model, lang),
        "-lm", os.path.join(model, f"{lang}.lm.bin"),
        "-dict", os.path.join(model, f"cmudict-{lang}.dict"),
    ]
    run = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{RECOGNISER} exited with {run.returncode}: {run.stderr[-2000:]}")
    for line in run.stdout.splitlines():
        m = LINE.match(line.strip())
        if m and not FILLERS.match(m.group(1)):
            word = re.sub(r"\(\d+\)$", "", m.group(1))
            yield word, float(m.group(2)), float(m.group(3))


def cues(found, per_cue, max_seconds):
    cue = []
    for word, start, end in found:
        if cue and (len(cue) >= per_cue or end - cue[0][1] > max_seconds or start - cue[-1][2] > PAUSE):
            yield cue
            cue = []
        cue.append((word, start, end))
    if cue:
        yield cue


def stamp(t):
    ms = int(round(t * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", action="store_true", help="print the fingerprint and exit")
    ap.add_argument("--wav", help="16 kHz mono WAV")
    ap.add_argument("--out", help="the WebVTT file to write")
    ap.add_argument("--lang", default="en-us", help=f"a model folder of {MODEL_ROOT}")
    ap.add_argument("--words-per-cue", type=int, default=7)
    ap.add_argument("--max-cue-seconds", type=float, default=4.0)
    a = ap.parse_args()
    if a.version:
        print(f"transcribe.py sha256:{digest(os.path.abspath(__file__))}")
        print(f"{RECOGNISER} sha256:{digest(recogniser())}")
        return
    if not a.wav or not a.out:
        ap.error("--wav and --out are required")
    if not 1 <= a.words_per_cue <= 50 or not 0.5 <= a.max_cue_seconds <= 30:
        ap.error("--words-per-cue must be 1..50 and --max-cue-seconds 0.5..30")
    with wave.open(a.wav, "rb") as w:
        duration = w.getnframes() / w.getframerate()
    lines = ["WEBVTT", ""]
    for i, cue in enumerate(cues(words(a.wav, a.lang), a.words_per_cue, a.max_cue_seconds), 1):
        start, end = min(cue[0][1], duration), min(cue[-1][2], duration)
        if end <= start:
            continue
        lines += [str(i), f"{stamp(start)} --> {stamp(end)}", " ".join(w for w, _, _ in cue), ""]
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
