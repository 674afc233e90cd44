#!/usr/bin/env python3
"""Times Texygen's BLEU as Texygen computes it (NLTK sentence_bleu, every reference rescanned per
hypothesis) on the shipped captions, for a few hypotheses, and extrapolates to 10,000.
Run with Debian's python3-nltk: /usr/bin/python3 bench/nltk/texygen_bleu_timing.py [corpus] [hypotheses]"""
import sys
import time

from nltk.tokenize import word_tokenize
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

corpus = sys.argv[1] if len(sys.argv) > 1 else "data/coco/train.txt"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
lines = [line for line in open(corpus, encoding="utf-8") if line.strip()]
references = [word_tokenize(line, preserve_line=True) for line in lines]
smoothing = SmoothingFunction().method1
start = time.perf_counter()
scores = [sentence_bleu(references, references[i], (0.25,) * 4, smoothing_function=smoothing) for i in range(count)]
elapsed = time.perf_counter() - start
print(f"NLTK: {count} hypotheses x {len(references)} references, BLEU-4 only: {elapsed:.2f} s "
      f"({elapsed / count * 1000:.0f} ms each; {len(references)} hypotheses would take {elapsed / count * len(references) / 60:.0f} min per order)")
