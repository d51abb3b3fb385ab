#!/usr/bin/env python3
"""Packet logs of timeline events, for `parley lab --packets` (docs/playout.md).

From an Ogg Opus file of 20 ms packets (opusenc --framesize 20 ...):

    bench/timeline_logs.py IN.opus OUTDIR

writes base.csv (5 % loss, 20-60 ms delay), restart.csv (the
sender restarts at 4 s: timestamps from 0x1000 again, sequence numbers go on), stray.csv
(one packet at 2 s carries a timestamp 10 s ahead), leap.csv (timestamps leap 5 s ahead at
4 s), paused.csv (the sender is silent from 3 to 5 s and its clock paused)."""
import os
import random
import sys

def ogg_packets(path):
    data = open(path, 'rb').read()
    pos, packets, cur = 0, [], b''
    while pos < len(data):
        assert data[pos:pos+4] == b'OggS'
        nseg = data[pos+26]
        segs = data[pos+27:pos+27+nseg]
        body = pos + 27 + nseg
        for s in segs:
            cur += data[body:body+s]; body += s
            if s < 255:
                packets.append(cur); cur = b''
        pos = body
    return packets[2:]  # skip OpusHead, OpusTags

def write(path, rows):
    with open(path, 'w') as f:
        f.write('seq,rtp_ts,send_ms,arrival_ms,payload_hex\n')
        for seq, ts, send, arr, p in rows:
            f.write(f'{seq},{ts % 2**32},{send:.3f},{arr:.3f},{p.hex()}\n')

pk = ogg_packets(sys.argv[1]); out = sys.argv[2]
os.makedirs(out, exist_ok=True)
rnd = random.Random(1)
fates = []
for i in range(len(pk)):
    lost = rnd.random() < 0.05
    fates.append(-1 if lost else 20 * i + 20 + rnd.uniform(0, 40))
def rows(ts_of, send_of=lambda i: 20 * i, skip=lambda i: False):
    r = []
    for i, p in enumerate(pk):
        if skip(i): continue
        send = send_of(i)
        arr = fates[i] - 20 * i + send if fates[i] >= 0 else -1
        r.append((i, ts_of(i), send, arr, p))
    return r
write(f'{out}/base.csv', rows(lambda i: 960 * i))
write(f'{out}/restart.csv', rows(lambda i: 960 * i if i < 200 else 0x1000 + 960 * (i - 200)))
r = rows(lambda i: 960 * i)
stray = list(r[100]); stray[1] = 960 * 100 + 480000; stray[2] += 1; stray[3] = stray[3] + 1 if stray[3] >= 0 else 2041
r.insert(101, tuple(stray))
write(f'{out}/stray.csv', r)
write(f'{out}/leap.csv', rows(lambda i: 960 * i if i < 200 else 960 * i + 240000))
write(f'{out}/paused.csv', rows(lambda i: 960 * i if i < 150 else 960 * (i - 100), send_of=lambda i: 20 * i, skip=lambda i: 150 <= i < 250))
