#!/usr/bin/env python3
"""The players of `parley lab --compare` scored with PESQ over a matrix of conditions.

A corpus of synthesized speech (espeak-ng: several voices and languages, 48 kHz mono,
cached) is sent as Opus 32 kbit/s in 20 ms packets over every condition:

    loss      0, 2, 5, 10, 20 % random; Gilbert-Elliott 5 % in bursts of 3 (mean)
    jitter    gamma, independent per packet, mean 5, 30 or 80 ms (shape 2), or 80 ms with
              delay spikes (250 ms draining over 600 ms, 0.2 per second), on a 40 ms path
    FEC       off; on (in-band, the encoder told to expect the condition's loss, >= 1 %)

Each utterance x condition has its own fixed seed, so a run repeats exactly. Every run
plays the same packets through every player (parley, speexdsp, the fixed buffers) and
scores each with the P.862 scorer given (--pesq or $PARLEY_PESQ). Out come a markdown
table (per condition and player: mean PESQ-WB and mean send -> playout delay, with
parley's stretched and concealed shares) and a CSV of every run.

    bench/pesq_matrix.py --pesq /path/to/pesq             # the whole matrix
    bench/pesq_matrix.py --pesq /path/to/pesq --quick     # 3 utterances x 5 conditions
    bench/pesq_matrix.py --list                           # conditions and utterances

Needs the built `parley` (./run build), espeak-ng and sox. Standard library only.
"""

import argparse
import concurrent.futures
import csv
import datetime
import fnmatch
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAYERS = ["parley", "speexdsp", "fixed-60ms-plc", "fixed-60ms-zero"]

# The sender: Opus 32 kbit/s, 20 ms packets. The 'studio' profile encodes at 48 kHz, so
# nothing but the codec stands between the 48 kHz corpus and the packets (the lab's
# sender resamples to a profile's rate otherwise).
SENDER_ARGS = ["--profile", "studio", "--bitrate", "32000", "--frame-ms", "20"]
BASE_DELAY_MS = 40
GAMMA_SHAPE = 2
SPIKE_ARGS = ["--spike-rate", "0.2", "--spike-ms", "250", "--spike-drain", "600"]
RUN_TIMEOUT_S = 600


@dataclass(frozen=True)
class Utterance:
    name: str
    voice: str  # espeak-ng voice, with a variant after '+'
    pitch: int  # espeak-ng -p, 0..99
    speed: int  # espeak-ng -s, words per minute
    text: str

    def key(self):
        """Changes whenever what is synthesized would: the cache's validity."""
        spec = f"{self.voice}|{self.pitch}|{self.speed}|{self.text}"
        return hashlib.sha256(spec.encode()).hexdigest()[:12]


CORPUS = [
    Utterance("en-us-m", "en-us", 50, 165,
              "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue "
              "background. It is easy to tell the depth of a well. These days a chicken leg "
              "is a rare dish."),
    Utterance("en-gb-f", "en-gb+f3", 60, 150,
              "Please call Stella. Ask her to bring these things with her from the store: six "
              "spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack "
              "for her brother Bob."),
    Utterance("de-m", "de", 40, 160,
              "Die Sonne scheint heute besonders hell, und die Kinder spielen im Garten mit "
              "einem roten Ball. Am Abend gehen wir gemeinsam zum See."),
    Utterance("fr-f", "fr-fr+f2", 65, 170,
              "Le petit chat dort sur le canapé pendant que la pluie tombe doucement sur les "
              "toits de la ville. Demain, nous irons au marché avec ma sœur."),
    Utterance("es-m", "es", 35, 180,
              "El tren de la mañana llegó con retraso, pero los viajeros esperaron con "
              "paciencia en el andén, hablando del tiempo y de sus próximas vacaciones."),
    Utterance("en-us-f-fast", "en-us+f4", 70, 200,
              "Four hours of steady work faced us. A large size in stockings is hard to sell. "
              "The boy was there when the sun rose. A rod is used to catch pink salmon. The "
              "source of the huge river is the clear spring."),
    Utterance("it-m-slow", "it", 25, 140,
              "Domani mattina partiremo presto per la montagna, porteremo il pane, il "
              "formaggio e una bottiglia d'acqua fresca."),
    Utterance("nl-f", "nl+f3", 55, 155,
              "Op zaterdag fietsen we langs de rivier naar het dorp, waar mijn grootmoeder al "
              "jaren een kleine bakkerij heeft met het lekkerste brood."),
]
QUICK_UTTERANCES = ["en-us-m", "en-gb-f", "fr-f"]


@dataclass(frozen=True)
class Condition:
    loss: str  # "0", "2", ... (random %), or "ge5" (Gilbert-Elliott 5 %, bursts of 3)
    jitter_ms: int
    spikes: bool
    fec: bool

    @property
    def name(self):
        loss = self.loss if self.loss.startswith("ge") else f"loss{self.loss}"
        jitter = f"j{self.jitter_ms}{'s' if self.spikes else ''}"
        return f"{loss}-{jitter}{'-fec' if self.fec else ''}"

    def loss_percent(self):
        return float(self.loss[2:]) if self.loss.startswith("ge") else float(self.loss)

    def lab_args(self):
        args = ["--preset", "perfect", "--delay", str(BASE_DELAY_MS)]
        if self.loss.startswith("ge"):
            args += ["--loss", self.loss[2:], "--burst", "3"]
        else:
            args += ["--loss", self.loss]
        args += ["--jitter", str(self.jitter_ms), "--jitter-dist", "gamma", "--jitter-shape",
                 str(GAMMA_SHAPE)]
        if self.spikes:
            args += SPIKE_ARGS
        if self.fec:
            expected = max(1, round(self.loss_percent()))
            args += ["--fec", "1", "--expected-loss", str(expected)]
        else:
            args += ["--fec", "0", "--expected-loss", "0"]
        return args


LOSSES = ["0", "2", "5", "10", "20", "ge5"]
JITTERS = [(5, False), (30, False), (80, False), (80, True)]
ALL_CONDITIONS = [Condition(loss, jitter, spikes, fec)
                  for loss in LOSSES for (jitter, spikes) in JITTERS for fec in (False, True)]
QUICK_CONDITIONS = ["loss0-j30", "loss2-j30", "loss5-j5-fec", "loss5-j30-fec", "loss10-j80s-fec"]


def fail(message):
    print(f"pesq_matrix: {message}", file=sys.stderr)
    sys.exit(1)


def wav_seconds(path):
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def synthesize(utterance, corpus_dir):
    """The utterance as 48 kHz mono WAV in corpus_dir, synthesized once (cached by key)."""
    path = corpus_dir / f"{utterance.name}.{utterance.key()}.wav"
    if path.exists():
        return path
    raw = corpus_dir / f".{utterance.name}.espeak.wav"
    subprocess.run(["espeak-ng", "-v", utterance.voice, "-p", str(utterance.pitch), "-s",
                    str(utterance.speed), "-w", str(raw), utterance.text], check=True)
    # espeak-ng writes 22.05 kHz; peaks to -6 dBFS leave the codec and the scorer's
    # resampling headroom. No dither: the corpus is the same on every machine with the
    # same espeak-ng.
    partial = corpus_dir / f".{utterance.name}.partial.wav"
    subprocess.run(["sox", str(raw), "-R", "-D", "-r", "48000", "-c", "1", str(partial), "gain",
                    "-n", "-6", "rate", "-v"], check=True)
    raw.unlink()
    partial.rename(path)
    return path


def seed_of(utterance, condition):
    """A fixed seed per utterance x condition (not Python's salted hash)."""
    return zlib.crc32(f"{utterance.name}/{condition.name}".encode()) % 1_000_000_007


def run_one(parley, pesq, utterance, wav, condition, runs_dir, keep_audio):
    """Plays one utterance over one condition; returns (rows, error)."""
    run_dir = runs_dir / condition.name / utterance.name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    seed = seed_of(utterance, condition)
    command = [str(parley), "lab", str(wav), str(run_dir / "call.wav"), "--compare", "--pesq",
               str(pesq), "--no-plot", "-q", "--seed", str(seed)]
    command += SENDER_ARGS + condition.lab_args()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return [], f"{condition.name} {utterance.name}: no result after {RUN_TIMEOUT_S} s"
    if done.returncode != 0:
        return [], f"{condition.name} {utterance.name}: {done.stderr.strip()}"
    report = json.loads((run_dir / "call.report.json").read_text())
    if not keep_audio:
        for audio in run_dir.glob("*.wav"):
            audio.unlink()
    network = report["network"]
    rows = []
    for player in report["players"]:
        rows.append({
            "utterance": utterance.name,
            "condition": condition.name,
            "seed": seed,
            "player": player["name"],
            "pesq_wb": player["pesq_wb"],
            "pesq_nb": player["pesq_nb"],
            "delay_mean_ms": player["delay_mean_ms"],
            "delay_p95_ms": player["delay_p95_ms"],
            "stretch_percent": player["stretch_percent"],
            "concealment_percent": player["concealment_percent"],
            "late_loss_percent": player["late_loss_percent"],
            "fec_recoveries": player["fec_recoveries"],
            "emodel_mos": player["mos"],
            "network_loss_percent": 100.0 * network["packets_lost"] / max(1, network["packets_sent"]),
            "network_reordered": network["packets_reordered"],
            "duration_s": report["duration_s"],
        })
    return rows, None


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def markdown_table(rows, conditions, players, utterance_count):
    header = ["condition"] + [f"{p} WB · ms" for p in players]
    with_parley = "parley" in players
    if with_parley:
        header += ["parley stretch %", "parley conceal %"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for condition in conditions:
        cells = [condition.name]
        for player in players:
            mine = [r for r in rows if r["condition"] == condition.name and r["player"] == player]
            if not mine:
                cells.append("—")
                continue
            cells.append(f"{mean([r['pesq_wb'] for r in mine]):.2f} · "
                         f"{mean([r['delay_mean_ms'] for r in mine]):.0f}")
        if with_parley:
            mine = [r for r in rows if r["condition"] == condition.name and r["player"] == "parley"]
            cells.append(f"{mean([r['stretch_percent'] for r in mine]):.2f}" if mine else "—")
            cells.append(f"{mean([r['concealment_percent'] for r in mine]):.2f}" if mine else "—")
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**all**"]
    for player in players:
        mine = [r for r in rows if r["player"] == player]
        cells.append(f"{mean([r['pesq_wb'] for r in mine]):.2f} · "
                     f"{mean([r['delay_mean_ms'] for r in mine]):.0f}" if mine else "—")
    if with_parley:
        mine = [r for r in rows if r["player"] == "parley"]
        cells.append(f"{mean([r['stretch_percent'] for r in mine]):.2f}" if mine else "—")
        cells.append(f"{mean([r['concealment_percent'] for r in mine]):.2f}" if mine else "—")
    lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Each cell: mean PESQ-WB (ITU-T P.862.2 MOS-LQO) · mean send -> playout delay in "
                 f"ms, over {utterance_count} utterance(s); stretch and conceal: parley's "
                 f"time-stretched and concealed shares of the audio it played, %.")
    return "\n".join(lines)


def engine_revision():
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src",
                                "apps"], capture_output=True, text=True).stdout.strip()
        return head + (" + local changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def select(items, patterns, name_of, what):
    """The items whose name matches one of the comma-separated glob patterns."""
    if not patterns:
        return items
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    chosen = [i for i in items if any(fnmatch.fnmatchcase(name_of(i), p) for p in wanted)]
    if not chosen:
        fail(f"--{what} {patterns!r} matches none of: {', '.join(name_of(i) for i in items)}")
    return chosen


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Conditions and utterances are named as --list prints them; --conditions, "
               "--utterances and --players take comma-separated names or glob patterns "
               "(e.g. 'loss5-*,ge5-*').")
    parser.add_argument("--parley", default=str(ROOT / "build/release/apps/parley/parley"),
                        help="the parley binary (default: %(default)s)")
    parser.add_argument("--pesq", default=os.environ.get("PARLEY_PESQ"),
                        help="the ITU-T P.862 scorer program (default: $PARLEY_PESQ)")
    parser.add_argument("--out", help="folder for the corpus, the runs and the results "
                                      "(default: out/pesq-matrix, out/pesq-matrix-quick)")
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{len(QUICK_UTTERANCES)} utterances x {len(QUICK_CONDITIONS)} "
                             f"conditions: {', '.join(QUICK_CONDITIONS)}")
    parser.add_argument("--conditions", help="only these conditions")
    parser.add_argument("--utterances", help="only these utterances")
    parser.add_argument("--players", help="only these players in the table "
                                          f"({', '.join(PLAYERS)}; every run plays them all)")
    parser.add_argument("--keep-audio", action="store_true",
                        help="keep every run's WAVs (about 4 MB per run) beside its report")
    parser.add_argument("--list", action="store_true", help="list conditions and utterances")
    args = parser.parse_args()

    utterances = [u for u in CORPUS if not args.quick or u.name in QUICK_UTTERANCES]
    conditions = [c for c in ALL_CONDITIONS if not args.quick or c.name in QUICK_CONDITIONS]
    utterances = select(utterances, args.utterances, lambda u: u.name, "utterances")
    conditions = select(conditions, args.conditions, lambda c: c.name, "conditions")
    players = select(PLAYERS, args.players, lambda p: p, "players")
    if args.list:
        print("conditions:")
        for c in conditions:
            print(f"  {c.name:<18} {' '.join(c.lab_args())}")
        print("utterances:")
        for u in utterances:
            print(f"  {u.name:<14} espeak-ng -v {u.voice} -p {u.pitch} -s {u.speed}")
        return 0

    if not args.pesq:
        fail("no scorer: give --pesq PATH or set PARLEY_PESQ")
    pesq = Path(args.pesq).resolve()
    if not os.access(pesq, os.X_OK) or not pesq.is_file():
        fail(f"--pesq {args.pesq}: not an executable file")
    parley = Path(args.parley)
    if not os.access(parley, os.X_OK):
        fail(f"--parley {args.parley}: not an executable file (build it: ./run build)")
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            fail(f"{tool} not found (Debian: apt-get install {tool})")
    if args.jobs < 1:
        fail("--jobs must be at least 1")

    out = Path(args.out) if args.out else ROOT / ("out/pesq-matrix-quick" if args.quick
                                                  else "out/pesq-matrix")
    corpus_dir = out / "corpus"
    runs_dir = out / "runs"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    runs_dir.mkdir(parents=True, exist_ok=True)

    wavs = {}
    for u in utterances:
        wavs[u.name] = synthesize(u, corpus_dir)
        print(f"corpus: {u.name:<14} {wav_seconds(wavs[u.name]):5.1f} s  {wavs[u.name]}",
              file=sys.stderr)

    jobs = [(u, c) for c in conditions for u in utterances]
    rows, errors = [], []
    lock = threading.Lock()
    finished = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, parley, pesq, u, wavs[u.name], c, runs_dir,
                               args.keep_audio): (u, c) for (u, c) in jobs}
        for future in concurrent.futures.as_completed(futures):
            u, c = futures[future]
            run_rows, error = future.result()
            with lock:
                finished += 1
                rows += run_rows
                if error:
                    errors.append(error)
                scores = " ".join(f"{r['player']} {r['pesq_wb']:.2f}" for r in run_rows)
                print(f"[{finished}/{len(jobs)}] {c.name} {u.name}: {error or scores}",
                      file=sys.stderr)

    order = {(c.name, u.name, p): i for i, (c, u, p) in enumerate(
        (c, u, p) for c in conditions for u in utterances for p in PLAYERS)}
    rows.sort(key=lambda r: order[(r["condition"], r["utterance"], r["player"])])
    csv_path = out / "matrix.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()) if rows else ["utterance"])
        writer.writeheader()
        writer.writerows(rows)

    table = markdown_table(rows, conditions, players, len(utterances))
    command = "bench/pesq_matrix.py " + " ".join(a for a in sys.argv[1:])
    preamble = (f"# PESQ matrix\n\n"
                f"- command: `{command}`\n"
                f"- engine: parley {engine_revision()}; date {datetime.date.today()}; "
                f"machine {platform.node()} ({os.cpu_count()} cores)\n"
                f"- sender: Opus 32 kbit/s, 20 ms packets ({' '.join(SENDER_ARGS)}); path: "
                f"{BASE_DELAY_MS} ms + gamma jitter (shape {GAMMA_SHAPE}, independent per "
                f"packet); spikes (`s`): {' '.join(SPIKE_ARGS)}; FEC (`-fec`): in-band, "
                f"expected loss = the condition's (>= 1 %)\n"
                f"- utterances: {', '.join(u.name for u in utterances)}\n\n")
    md_path = out / "matrix.md"
    md_path.write_text(preamble + table + "\n")
    print(table)
    print(f"\nwrote {md_path} and {csv_path} ({len(rows)} rows)", file=sys.stderr)
    if errors:
        print(f"pesq_matrix: {len(errors)} of {len(jobs)} runs failed:", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
