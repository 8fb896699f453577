#!/usr/bin/env python3
"""GeoCLIP 1.3.0's own code against geolens on the same photos, the same CLIP tower and the
same number of threads (issue 15's reference harness). Never needed at run time or in CI.

  tools/reference/parity.sh WORK_DIR PHOTOS_DIR [THREADS] [COUNT] [SEED]

Steps (parity.sh runs them):
  parity.py write WORK_DIR SEED
      A seeded full-size ViT-L/14 (openai/clip-vit-large-patch14's shapes, transformers' own
      initialisation) in the Hugging Face layout, in WORK_DIR/tower. Not trained: its answers
      mean nothing, but it is numerically tame (float32 against float64 embeddings agree to a
      cosine of 1 - 1e-13) and tells photos apart, so two correct ports of the same code give
      the same answers on it.
  parity.py compare WORK_DIR PHOTOS_DIR THREADS COUNT GEOLENS.jsonl
      GeoCLIP 1.3.0 (from PyPI: its heads, 100k gallery and predict()) with that tower swapped
      in for CLIP, on the photos; beside geolens's answers for them (`examples/clip_embed`,
      which also times the tower and the whole photo). Prints one table.
"""

import json
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image
from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


def vision_config() -> CLIPVisionConfig:
    """The vision half of GeoCLIP's CLIPConfig (geoclip/model/image_encoder.py)."""
    return CLIPVisionConfig(
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=24,
        num_attention_heads=16,
        patch_size=14,
        image_size=224,
        projection_dim=768,
        hidden_act="quick_gelu",
    )


def write(work: Path, seed: int) -> None:
    torch.manual_seed(seed)
    tower = CLIPVisionModelWithProjection(vision_config()).eval()
    tower.save_pretrained(work / "tower", safe_serialization=True)
    CLIPImageProcessor().save_pretrained(work / "tower")
    print(f"wrote a seeded ViT-L/14 (seed {seed}) to {work / 'tower'}")


def geoclip_with(tower_dir: Path):
    """GeoCLIP 1.3.0 with its heads and gallery, CLIP's vision tower read from `tower_dir`."""
    from geoclip import GeoCLIP

    model = GeoCLIP(from_pretrained=True, clip_pretrained=False)
    tower = CLIPVisionModelWithProjection.from_pretrained(tower_dir)
    clip = model.image_encoder.CLIP
    clip.vision_model.load_state_dict(tower.vision_model.state_dict())
    clip.visual_projection.load_state_dict(tower.visual_projection.state_dict())
    model.image_encoder.image_processor = CLIPImageProcessor.from_pretrained(tower_dir)
    return model.eval()


def reference_answer(model, path: Path):
    """GeoCLIP's top 5 points, its CLIP embedding, tower ms and whole predict() ms."""
    from geoclip.model.image_encoder import _extract_image_features

    with Image.open(path) as image:
        pixels = model.image_encoder.preprocess_image(image.convert("RGB"))
    start = time.perf_counter()
    embedding = _extract_image_features(model.image_encoder.CLIP.get_image_features(pixel_values=pixels))[0]
    tower_ms = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    gps, probs = model.predict(str(path), top_k=5)
    whole_ms = (time.perf_counter() - start) * 1e3
    points = [(float(g[0]), float(g[1]), float(p)) for g, p in zip(gps, probs)]
    return points, embedding, tower_ms, whole_ms


def same_point(a, b) -> bool:
    return abs(a[0] - b[0]) < 1e-4 and abs(a[1] - b[1]) < 1e-4


def compare(work: Path, photos_dir: Path, threads: int, count: int, geolens_jsonl: Path) -> None:
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    ours = {}
    for line in geolens_jsonl.read_text().splitlines():
        row = json.loads(line)
        ours[Path(row["photo"]).name] = row
    model = geoclip_with(work / "tower")
    photos = sorted(p for p in photos_dir.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)[:count]
    photos = [p for p in photos if p.name in ours]
    reference_answer(model, photos[0])  # warm-up
    same_top1, overlaps, prob_diffs, cosines = 0, [], [], []
    times = {"ref_tower": [], "ref_whole": [], "geo_tower": [], "geo_whole": []}
    near_ties = []
    for path in photos:
        theirs, embedding, tower_ms, whole_ms = reference_answer(model, path)
        mine = ours[path.name]
        top = [tuple(p) for p in mine["top_points"]]
        if same_point(theirs[0], top[0]):
            same_top1 += 1
        else:
            near_ties.append((path.name, theirs[1][2] / theirs[0][2]))
        overlaps.append(sum(any(same_point(t, m) for m in top) for t in theirs) / 5)
        for t in theirs:
            for m in top:
                if same_point(t, m):
                    prob_diffs.append(abs(t[2] - m[2]))
        g = torch.tensor(mine["embedding"], dtype=torch.float64)
        e = embedding.double()
        cosines.append(float(torch.dot(g, e) / (g.norm() * e.norm())))
        times["ref_tower"].append(tower_ms)
        times["ref_whole"].append(whole_ms)
        times["geo_tower"].append(mine["ms"])
        times["geo_whole"].append(mine["whole_ms"])
        print(f"{path.name}: top-1 {'same' if same_point(theirs[0], top[0]) else 'DIFFERENT'}, cosine {cosines[-1]:.7f}")
    med = {k: statistics.median(v) for k, v in times.items()}
    n = len(photos)
    print()
    print(f"GeoCLIP 1.3.0 (PyTorch {torch.__version__}) vs geolens, {n} photos, {threads} threads, seeded ViT-L/14")
    print("| | value |")
    print("|---|---|")
    print(f"| identical top-1 gallery point | {same_top1} of {n} |")
    print(f"| top-5 overlap (mean) | {100 * statistics.mean(overlaps):.1f} % |")
    print(f"| largest probability difference (points in both top-5) | {max(prob_diffs):.2e} |")
    print(f"| CLIP embedding cosine, min / median | {min(cosines):.7f} / {statistics.median(cosines):.7f} |")
    print(f"| tower, median ms: GeoCLIP / geolens | {med['ref_tower']:.0f} / {med['geo_tower']:.0f} ({med['geo_tower'] / med['ref_tower']:.2f}x) |")
    print(f"| whole photo, median ms: GeoCLIP predict() / geolens | {med['ref_whole']:.0f} / {med['geo_whole']:.0f} ({med['geo_whole'] / med['ref_whole']:.2f}x) |")
    for name, ratio in near_ties:
        print(f"top-1 differs on {name}: GeoCLIP's second point has {100 * ratio:.1f} % of its first's probability")


def main() -> None:
    command = sys.argv[1]
    if command == "write":
        write(Path(sys.argv[2]), int(sys.argv[3]))
    elif command == "compare":
        compare(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), Path(sys.argv[6]))
    else:
        sys.exit(f"unknown command {command!r}: write or compare")


if __name__ == "__main__":
    main()
