#!/usr/bin/env python3
"""Writes tests/fixtures/geoclip_reference.json from the reference GeoCLIP (pip `geoclip` 1.3.0,
CPU torch): the numbers the burn port must reproduce.

  * location embeddings for 50 fixed coordinates (LocationEncoder, its shipped weights);
  * image-head outputs for 6 fixed 768-d inputs (ImageEncoder.mlp, its shipped weights);
  * for each of those image embeddings, top-5 gallery indices and probabilities over the first
    GALLERY_SUBSET points of the 100k gallery (their coordinates included: geoclip is MIT),
    scored as GeoCLIP.forward does (exp(logit_scale) * cosine, softmax).

Run: tools/geoclip_reference.sh (makes a venv with torch + geoclip). CI never needs Python.
"""

import json
import math
import sys
import types

import torch

GALLERY_SUBSET = 4000


def import_geoclip_without_transformers():
    # geoclip's package __init__ imports the CLIP image tower (transformers); the location side
    # and the MLP head do not need it.
    stub = types.ModuleType("transformers")
    for name in ["AutoProcessor", "CLIPConfig", "CLIPImageProcessor", "CLIPModel"]:
        setattr(stub, name, object)
    sys.modules.setdefault("transformers", stub)
    import geoclip.model.location_encoder as location_encoder
    import geoclip.model.misc as misc

    return location_encoder, misc


def fixed_coordinates():
    named = [
        (0.0, 0.0), (90.0, 0.0), (-90.0, 0.0), (0.0, 180.0), (0.0, -180.0),
        (35.0116, 135.7681), (48.8566, 2.3522), (40.7128, -74.006), (-33.8688, 151.2093),
        (-22.9068, -43.1729), (64.1466, -21.9426), (-77.85, 166.67), (19.4326, -99.1332),
        (1.3521, 103.8198), (30.0444, 31.2357), (-1.2921, 36.8219), (55.7558, 37.6173),
        (-17.7134, 178.065), (71.2906, -156.7886), (27.9881, 86.925),
    ]
    # Plus a deterministic spread over the sphere.
    golden = (1 + 5 ** 0.5) / 2
    spread = []
    for i in range(30):
        z = 1 - 2 * (i + 0.5) / 30
        spread.append((math.degrees(math.asin(z)), ((i / golden) % 1) * 360 - 180))
    return named + spread


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/geoclip_reference.json"
    location_encoder, misc = import_geoclip_without_transformers()
    torch.set_grad_enabled(False)
    weights = f"{misc.file_dir}/weights"

    loc = location_encoder.LocationEncoder().eval()
    coords = fixed_coordinates()
    loc_emb = loc(torch.tensor(coords, dtype=torch.float32))

    mlp = torch.nn.Sequential(torch.nn.Linear(768, 768), torch.nn.ReLU(), torch.nn.Linear(768, 512))
    mlp.load_state_dict(torch.load(f"{weights}/image_encoder_mlp_weights.pth", map_location="cpu", weights_only=True))
    gen = torch.Generator().manual_seed(20231210)
    clip_inputs = torch.randn(6, 768, generator=gen)
    img_emb = mlp(clip_inputs)

    logit_scale = torch.load(f"{weights}/logit_scale_weights.pth", map_location="cpu", weights_only=True)
    gallery = misc.load_gps_data(f"{misc.file_dir}/gps_gallery/coordinates_100K.csv")[:GALLERY_SUBSET]
    gal_emb = torch.nn.functional.normalize(loc(gallery), dim=1)
    logits = logit_scale.exp() * (torch.nn.functional.normalize(img_emb, dim=1) @ gal_emb.T)
    probs = logits.softmax(dim=-1)
    top = probs.topk(5, dim=-1)

    fixture = {
        "source": "geoclip 1.3.0 (pip), torch " + torch.__version__ + ", tools/geoclip_reference.py",
        "logit_scale": float(logit_scale),
        "gallery_subset": GALLERY_SUBSET,
        "gallery_coordinates": [[round(a, 6), round(b, 6)] for a, b in gallery.tolist()],
        "coordinates": [[round(a, 6), round(b, 6)] for a, b in coords],
        "location_embeddings": [[float(f"{v:.7g}") for v in row] for row in loc_emb.tolist()],
        "clip_inputs": [[float(f"{v:.7g}") for v in row] for row in clip_inputs.tolist()],
        "image_embeddings": [[float(f"{v:.7g}") for v in row] for row in img_emb.tolist()],
        "top5_indices": top.indices.tolist(),
        "top5_probabilities": [[float(f"{v:.7g}") for v in row] for row in top.values.tolist()],
    }
    with open(out_path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
