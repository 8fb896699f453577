#!/usr/bin/env python3
"""PyTorch's speed on the same CLIP image tower geolens runs: the reference for geolens's CPU
tower (issue 15). Loads a tower in the Hugging Face layout (a real ViT-L/14, or the seeded
stand-in `cargo run --release --example stand_in_tower -- DIR --vit-large` writes) with
transformers' CLIPVisionModelWithProjection, and times it on photos at a given thread count,
as `geolens predict --threads N --model-dir DIR` runs it.

Prints one line per photo and a summary: median ms for the tower alone (batch 1) and for the
whole photo (decode, CLIP preprocessing, tower). Never needed at run time or in CI.

  tools/reference/tower_speed.sh TOWER_DIR PHOTOS_DIR [THREADS] [COUNT] [GEOLENS.jsonl]

With GEOLENS.jsonl (`cargo run --release --example clip_embed -- TOWER_DIR PHOTO... --threads N
> GEOLENS.jsonl`) it also prints the cosine between geolens's embedding of each photo and
PyTorch's, and geolens's tower time beside PyTorch's.
"""

import json

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import CLIPVisionModelWithProjection

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def preprocess(path: Path) -> torch.Tensor:
    """CLIP's preprocessing: shorter side to 224 (bicubic), centre crop, normalise."""
    image = Image.open(path).convert("RGB")
    w, h = image.size
    scale = 224 / min(w, h)
    image = image.resize((max(224, round(w * scale)), max(224, round(h * scale))), Image.BICUBIC)
    w, h = image.size
    left, top = (w - 224) // 2, (h - 224) // 2
    image = image.crop((left, top, left + 224, top + 224))
    pixels = (np.asarray(image, dtype=np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(pixels.transpose(2, 0, 1)).unsqueeze(0)


def main() -> None:
    tower_dir, photos_dir = Path(sys.argv[1]), Path(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 9
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    model = CLIPVisionModelWithProjection.from_pretrained(tower_dir).eval()
    photos = sorted(p for p in photos_dir.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    photos = photos[:count]
    geolens = {}
    if len(sys.argv) > 5:
        for line in Path(sys.argv[5]).read_text().splitlines():
            row = json.loads(line)
            geolens[Path(row["photo"]).name] = row
    model(pixel_values=preprocess(photos[0]))  # warm-up
    tower_ms, whole_ms, cosines, geolens_ms = [], [], [], []
    for path in photos:
        start = time.perf_counter()
        pixels = preprocess(path)
        mid = time.perf_counter()
        embedding = model(pixel_values=pixels).image_embeds
        end = time.perf_counter()
        tower_ms.append((end - mid) * 1e3)
        whole_ms.append((end - start) * 1e3)
        line = f"{path.name}  tower {tower_ms[-1]:.0f} ms  whole {whole_ms[-1]:.0f} ms"
        theirs = geolens.get(path.name)
        if theirs is not None:
            g = torch.tensor(theirs["embedding"])
            e = embedding[0]
            cosines.append(float(torch.dot(g, e) / (g.norm() * e.norm())))
            geolens_ms.append(theirs["ms"])
            line += f"  geolens tower {theirs['ms']:.0f} ms  cosine {cosines[-1]:.6f}"
        print(line)
    print(
        f"pytorch {torch.__version__}, {threads} threads, {len(photos)} photos: "
        f"tower median {statistics.median(tower_ms):.0f} ms, whole photo median {statistics.median(whole_ms):.0f} ms"
    )
    if cosines:
        ratio = statistics.median(geolens_ms) / statistics.median(tower_ms)
        print(
            f"geolens tower median {statistics.median(geolens_ms):.0f} ms ({ratio:.2f}x PyTorch's); "
            f"embedding cosine min {min(cosines):.6f}, median {statistics.median(cosines):.6f}"
        )


if __name__ == "__main__":
    main()
