#!/usr/bin/env python3
"""Reference values from NLTK for the evaluation tests (Debian python3-nltk, run with /usr/bin/python3).

Reads a JSON input {"references": [...], "hypotheses": [...], "pool": [...]} of text lines and
writes to stdout, for each line, NLTK's word_tokenize(line, preserve_line=True) tokens, and the
Texygen scores: sentence_bleu of each hypothesis against all references, and leave-one-out
Self-BLEU of each pool line against the rest of the pool, weights 1/n for n = 2..5, smoothing method1.
"""
import json
import sys

import nltk
from nltk.tokenize import word_tokenize
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

ORDERS = (2, 3, 4, 5)


def tokenize(line):
    return word_tokenize(line, preserve_line=True)


def bleu(references, hypothesis):
    smoothing = SmoothingFunction().method1
    return [sentence_bleu(references, hypothesis, tuple(1.0 / n for _ in range(n)), smoothing_function=smoothing) for n in ORDERS]


def main():
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    references = [tokenize(line) for line in data["references"]]
    hypotheses = [tokenize(line) for line in data["hypotheses"]]
    pool = [tokenize(line) for line in data["pool"]]
    lines = data["references"] + data["hypotheses"] + data["pool"]
    json.dump({
        "nltk_version": nltk.__version__,
        "tokens": {line: tokenize(line) for line in lines},
        "bleu": [bleu(references, h) for h in hypotheses],
        "self_bleu": [bleu(pool[:i] + pool[i + 1:], h) for i, h in enumerate(pool)],
    }, sys.stdout, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
