"""Real media for tests and benchmarks: recordings made by ffmpeg, loudness measured by it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from actors._ffmpeg import ffmpeg_binary

__all__ = ["loudness", "make_audio"]


def make_audio(path: Path, *, volume_db: float = -20, seconds: float = 2, **metadata: str) -> Path:
    """A real wav (or other format, by extension) made by ffmpeg."""
    tags = [arg for key, value in metadata.items() for arg in ("-metadata", f"{key}={value}")]
    subprocess.run(
        [
            ffmpeg_binary(),
            "-hide_banner",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-af",
            f"volume={volume_db}dB",
            *tags,
            "-y",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


def loudness(path: Path) -> float:
    result = subprocess.run(
        [
            ffmpeg_binary(),
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-af",
            "loudnorm=print_format=json",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    text = result.stderr
    return float(json.loads(text[text.rindex("{") : text.rindex("}") + 1])["input_i"])
