"""Reference media job types: ``tone`` (no input needed) and ``prep`` (loudness).

Short, typed examples of real handlers: stages, real ffmpeg progress, clear errors.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import trio

from actors import JobContext, PermanentError, run_ffmpeg

__all__ = ["measure_loudness", "prep_job", "tone_job"]

OUTPUT_DIR_ENV = "SUPERVISOR_OUTPUT_DIR"
_FORMATS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    "m4a": ["-c:a", "aac", "-b:a", "192k"],
    "wav": ["-c:a", "pcm_s16le"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis"],
}
_LOUDNORM_JSON = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.S)


def _output_path(ctx: JobContext, payload: dict[str, Any], default_name: str) -> Path:
    given = payload.get("output")
    if given is not None and not isinstance(given, str):
        raise PermanentError("payload 'output' must be a file path")
    path = (
        Path(given)
        if given
        else Path(os.environ.get(OUTPUT_DIR_ENV, "./data/outputs")) / (default_name)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _format_of(path: Path) -> list[str]:
    codec = _FORMATS.get(path.suffix.lstrip(".").lower())
    if codec is None:
        raise PermanentError(f"unsupported output format {path.suffix!r}: use {sorted(_FORMATS)}")
    return codec


def _dict(payload: Any) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise PermanentError("the payload must be a JSON object")
    return payload


async def tone_job(ctx: JobContext, payload: Any) -> dict[str, Any]:
    """Generate ``seconds`` of a ``frequency`` Hz sine and encode it (mp3 by default).

    ``realtime: true`` makes ffmpeg read the signal at its natural pace, so a person can
    watch the progress bar move.
    """
    p = _dict(payload)
    seconds, frequency = p.get("seconds", 5), p.get("frequency", 440)
    if not isinstance(seconds, int | float) or not 0 < seconds <= 3600:
        raise PermanentError("payload 'seconds' must be a number from 0 to 3600")
    if not isinstance(frequency, int | float) or not 20 <= frequency <= 20_000:
        raise PermanentError("payload 'frequency' must be from 20 to 20000 Hz")
    out = _output_path(ctx, p, f"tone-{ctx.job.id}.{p.get('format', 'mp3')}")
    args = [
        *(["-re"] if p.get("realtime") else []),
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={frequency}:sample_rate=48000:duration={seconds}",
        *_format_of(out),
        "-y",
        str(out),
    ]
    await run_ffmpeg(ctx, args, stage="encoding", duration=float(seconds))
    return {"output": str(out), "seconds": seconds}


async def measure_loudness(
    ctx: JobContext, source: str, *, target: float, stage: str
) -> dict[str, str]:
    """First loudnorm pass: the input's integrated loudness, true peak, range, threshold."""
    args = [
        "-i",
        source,
        "-af",
        f"loudnorm=I={target}:TP=-1.5:LRA=11:print_format=json",
        "-f",
        "null",
        "-",
    ]
    lines = await run_ffmpeg(ctx, args, stage=stage)
    found = _LOUDNORM_JSON.search("\n".join(lines))
    if found is None:
        raise PermanentError(f"could not measure the loudness of {source}")
    measured: dict[str, str] = json.loads(found.group(0))
    return measured


async def prep_job(ctx: JobContext, payload: Any) -> dict[str, Any]:
    """Loudness-normalise a local audio file: measure (two-pass loudnorm), normalise, encode.

    Payload: ``input`` (path), optional ``output`` (path; format by extension, mp3 default)
    and ``target_lufs`` (default -16).
    """
    p = _dict(payload)
    source = p.get("input")
    if not isinstance(source, str) or not source:
        raise PermanentError("payload 'input' must be the path of an audio file")
    if not await trio.Path(source).is_file():
        raise PermanentError(f"input not found: {source}")
    target = p.get("target_lufs", -16)
    if not isinstance(target, int | float) or not -70 <= target <= -5:
        raise PermanentError("payload 'target_lufs' must be from -70 to -5")
    out = _output_path(ctx, p, f"prep-{ctx.job.id}.mp3")
    codec = _format_of(out)
    m = await measure_loudness(ctx, source, target=target, stage="analyzing")
    normalized = out.with_name(out.stem + ".normalized.wav")
    loudnorm = (
        f"loudnorm=I={target}:TP=-1.5:LRA=11:measured_I={m['input_i']}:"
        f"measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}:"
        f"measured_thresh={m['input_thresh']}:offset={m['target_offset']}:linear=true"
    )
    try:
        await run_ffmpeg(
            ctx,
            [
                "-i",
                source,
                "-af",
                loudnorm,
                "-ar",
                "48000",
                "-c:a",
                "pcm_s16le",
                "-y",
                str(normalized),
            ],
            stage="normalizing",
        )
        await run_ffmpeg(ctx, ["-i", str(normalized), *codec, "-y", str(out)], stage="encoding")
    finally:
        normalized.unlink(missing_ok=True)
    return {"output": str(out), "input_lufs": float(m["input_i"]), "target_lufs": target}
