"""Embedding throughput of all-MiniLM-L6-v2 with Hugging Face transformers,
the peer of `cargo bench --bench bert` (its first figure): the 200 distinct
product descriptions of datasets/online_retail_daily.csv.gz, in batches of
64 texts sorted by token length and padded to the longest, mean pooling
over the attention mask, float32, torch.no_grad; one warm-up pass, then the
median of 5. Prints one JSON line.

Usage: python benches/peers/hf_minilm_embed.py [--threads N] [--encoder DIR]
Needs torch and transformers (pip install torch transformers).
"""

import argparse
import csv
import gzip
import json
import statistics
import time

import torch
import transformers
from transformers import AutoModel, AutoTokenizer


def descriptions():
    seen, out = set(), []
    with gzip.open("datasets/online_retail_daily.csv.gz", "rt", newline="") as f:
        for row in csv.DictReader(f):
            text = row["description"].strip()
            if text and text not in seen:
                seen.add(text)
                out.append(text)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--encoder", default="models/all-MiniLM-L6-v2")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)
    model = AutoModel.from_pretrained(args.encoder, torch_dtype=torch.float32).eval()
    texts = descriptions()
    lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])

    def embed():
        out = [None] * len(texts)
        with torch.no_grad():
            for start in range(0, len(order), 64):
                chunk = order[start : start + 64]
                batch = tokenizer([texts[i] for i in chunk], padding="longest", truncation=True, return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                for k, i in enumerate(chunk):
                    out[i] = pooled[k]
        return out

    embed()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        embed()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(json.dumps({
        "peer": f"transformers {transformers.__version__}, torch {torch.__version__}",
        "what": "embed",
        "threads": args.threads,
        "descriptions": len(texts),
        "tokens": sum(lengths),
        "median_s": round(median, 4),
        "descriptions_per_s": round(len(texts) / median, 1),
    }))


if __name__ == "__main__":
    main()
