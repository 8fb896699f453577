"""Fixtures for the CLIP image tower and its preprocessing (run by tools/clip_reference.sh).

1. A tiny random CLIPVisionModelWithProjection (Hugging Face transformers, CPU torch), saved as
   tests/fixtures/clip_tiny/{config.json,model.safetensors}, and its outputs for fixed inputs in
   tests/fixtures/clip_tiny/reference.json. The Rust tower loads the same file and must match.
2. CLIP preprocessing of the photos in tests/fixtures/photos with transformers'
   CLIPImageProcessorPil (PIL bicubic resize of the shortest side to 224, centre crop 224,
   rescale, CLIP mean/std: OpenAI's own preprocessing). The resized and cropped 8-bit image is
   written as <photo>.clip224.png, after checking that the processor's tensor is exactly that
   image rescaled and normalised; a few normalised values go into preprocess.json.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

root = Path(sys.argv[1])
fixtures = root / "tests" / "fixtures"

# 1. Tiny tower.
torch.manual_seed(20260125)
config = CLIPVisionConfig(
    image_size=28,
    patch_size=14,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    projection_dim=16,
    hidden_act="quick_gelu",
    layer_norm_eps=1e-5,
)
model = CLIPVisionModelWithProjection(config).eval()
with torch.no_grad():
    # Spread every parameter (LayerNorm scales included) so that a wrong layout shows.
    for name, p in model.named_parameters():
        p.copy_(torch.randn_like(p) * (0.3 if p.dim() > 1 else 0.5) + (1.0 if name.endswith("layer_norm1.weight") else 0.0))
out_dir = fixtures / "clip_tiny"
model.save_pretrained(out_dir, safe_serialization=True)
gen = torch.Generator().manual_seed(7)
pixels = torch.randn(2, 3, 28, 28, generator=gen)
with torch.no_grad():
    embeds = model(pixel_values=pixels).image_embeds
(out_dir / "reference.json").write_text(
    json.dumps(
        {
            "source": f"transformers {__import__('transformers').__version__}, torch {torch.__version__}, CPU",
            "pixels": [float(f"{v:.7g}") for v in pixels.flatten().tolist()],
            "image_embeds": [[float(f"{v:.7g}") for v in row] for row in embeds.tolist()],
        }
    )
)

# 2. Preprocessing.
processor = CLIPImageProcessorPil(
    size={"shortest_edge": 224},
    crop_size={"height": 224, "width": 224},
    resample=3,  # PIL bicubic
    image_mean=[0.48145466, 0.4578275, 0.40821073],
    image_std=[0.26862954, 0.26130258, 0.27577711],
)
mean = np.array(processor.image_mean, dtype=np.float32)[:, None, None]
std = np.array(processor.image_std, dtype=np.float32)[:, None, None]
samples = {}
for photo in sorted((fixtures / "photos").iterdir()):
    if photo.suffix.lower() not in (".jpg", ".png"):
        continue
    image = Image.open(photo).convert("RGB")
    tensor = processor(images=image, return_tensors="np")["pixel_values"][0]
    w, h = image.size
    short, long = min(w, h), max(w, h)
    new_long = int(224 * long / short)
    size = (224, new_long) if w <= h else (new_long, 224)
    resized = image.resize(size, resample=Image.BICUBIC)
    left, top = (size[0] - 224) // 2, (size[1] - 224) // 2
    cropped = resized.crop((left, top, left + 224, top + 224))
    as_tensor = (np.asarray(cropped, dtype=np.float32).transpose(2, 0, 1) / 255.0 - mean) / std
    diff = float(np.abs(as_tensor - tensor).max())
    assert diff < 1e-5, f"{photo.name}: processor differs from PIL resize+crop by {diff}"
    cropped.save(photo.with_name(photo.name + ".clip224.png"))
    idx = [(c, y, x) for c in range(3) for (y, x) in [(0, 0), (111, 57), (223, 223), (5, 200)]]
    samples[photo.name] = {
        "decoded_size": [w, h],
        "samples": [[c, y, x, float(tensor[c, y, x])] for (c, y, x) in idx],
    }
(fixtures / "photos" / "preprocess.json").write_text(json.dumps(samples, indent=1))
print("wrote", out_dir, "and", len(samples), "preprocessed photos")
