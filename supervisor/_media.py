"""Reference media job types: ``tone`` (no input needed) and ``prep`` (loudness).

Short, typed examples of real handlers: stages, real ffmpeg progress, clear errors, files
in and out through the storage adapter (``fetch_input``, ``store_output``).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import PurePosixPath
from typing import Any

import files
from actors import JobContext, PermanentError, probe_duration, run_ffmpeg

from ._paths import InputFile, Scratch, open_file, open_scratch
from ._payload import PayloadRules, boolean, number, string
from ._transfer import INPUT_FORMATS, fetch_input, store_output

__all__ = ["INPUT_FORMATS", "PREP", "TONE", "measure_loudness", "prep_job", "tone_job"]

_FORMATS = {
    "mp3": (["-c:a", "libmp3lame", "-b:a", "192k"], "audio/mpeg"),
    "m4a": (["-c:a", "aac", "-b:a", "192k"], "audio/mp4"),
    "wav": (["-c:a", "pcm_s16le"], "audio/wav"),
    "flac": (["-c:a", "flac"], "audio/flac"),
    "ogg": (["-c:a", "libvorbis"], "audio/ogg"),
}
_LOUDNORM_JSON = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.S)
_LOUDNORM_KEYS = ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")
#: The payloads of ``tone`` and ``prep`` (keys and names are checked by the storage's
#: rules, ``files.key_parts`` and ``files.check_name``, when the job runs).
TONE = PayloadRules(
    "tone",
    {
        "seconds": number(5, 0, 3600, above=True),
        "frequency": number(440, 20, 20_000),
        "format": string("mp3", choices=tuple(_FORMATS)),
        "realtime": boolean(False),
        "output": string(),
    },
)
PREP = PayloadRules(
    "prep",
    {"input": string(required=True), "output": string(), "target_lufs": number(-16, -70, -5)},
)


def _output_name(payload: dict[str, Any], default: str) -> tuple[str, list[str], str]:
    """The output's name (a plain file name), its codec options and content type."""
    given = payload.get("output")
    try:
        name = files.check_name(default if given is None else given, what="payload 'output'")
    except files.InvalidKey as exc:
        raise PermanentError(str(exc)) from None
    suffix = PurePosixPath(name).suffix
    found = _FORMATS.get(suffix.lstrip(".").lower())
    if found is None:
        raise PermanentError(
            f"unsupported output format {suffix!r}: payload 'output' must end in one of "
            f"{['.' + f for f in sorted(_FORMATS)]}"
        )
    return name, *found


def _dict(payload: Any) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise PermanentError("the payload must be a JSON object")
    return payload


async def tone_job(ctx: JobContext, payload: Any) -> dict[str, Any]:
    """Generate ``seconds`` of a ``frequency`` Hz sine, encode it (mp3 by default) and
    store it as the job's output.

    ``realtime: true`` makes ffmpeg read the signal at its natural pace, so a person can
    watch the progress bar move.
    """
    p = TONE.check(payload)  # before anything runs: see JobType.validate
    seconds, frequency, fmt = p["seconds"], p["frequency"], p["format"]
    name, codec, content_type = _output_name(p, f"tone-{ctx.job.id}.{fmt}")
    async with open_scratch(ctx) as scratch:
        leaf = "output." + fmt
        args = [
            *(["-re"] if p.get("realtime") else []),
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={frequency}:sample_rate=48000:duration={seconds}",
            *codec,
            "-y",
            scratch.url(leaf),
        ]
        await run_ffmpeg(ctx, args, stage="encoding", duration=float(seconds))
        output = await store_output(ctx, scratch.path / leaf, name=name, content_type=content_type)
    return {"seconds": seconds, "outputs": [output.to_dict()]}


async def measure_loudness(
    ctx: JobContext,
    source: InputFile,
    *,
    target: float,
    stage: str,
    duration: float | None = None,
) -> dict[str, float]:
    """First loudnorm pass: the input's integrated loudness, true peak, range, threshold
    and the offset to the target, as numbers.

    Only loudnorm's own report counts: ffmpeg also prints the input's tags, and a tag can
    hold anything (JSON that looks like a report, with filter syntax in its values).
    """
    args = [
        *source.args(INPUT_FORMATS),
        "-af",
        f"loudnorm=I={target}:TP=-1.5:LRA=11:print_format=json",
        "-f",
        "null",
        "-",
    ]
    lines = await run_ffmpeg(ctx, args, stage=stage, duration=duration)
    starts = [i for i, line in enumerate(lines) if line.startswith("[Parsed_loudnorm_")]
    found = _LOUDNORM_JSON.search("\n".join(lines[starts[-1] :])) if starts else None
    try:
        report = json.loads(found.group(0)) if found else {}
        measured = {key: float(report[key]) for key in _LOUDNORM_KEYS}
    except (ValueError, KeyError, TypeError):
        measured = {}
    if not measured or not all(math.isfinite(v) for v in measured.values()):
        raise PermanentError(f"could not measure the loudness of {source.name} (silent?)")
    return measured


async def _duration(ctx: JobContext, source: InputFile) -> float | None:
    try:
        return await probe_duration(
            source.url, ctx=ctx, input_options=source.options(INPUT_FORMATS)
        )
    except PermanentError:
        raise PermanentError(
            f"not a media file ffmpeg can read: {source.name} (inputs are audio or video "
            "files; playlists and text formats are refused)"
        ) from None


async def prep_job(ctx: JobContext, payload: Any) -> dict[str, Any]:
    """Loudness-normalise an uploaded recording: fetch it, measure (two-pass loudnorm),
    normalise, encode, measure the result, store it.

    Payload: ``input`` (a key in the storage, e.g. from ``POST /api/uploads``), optional
    ``output`` (a file name; format by extension, mp3 by default) and ``target_lufs``
    (default -16). The result carries the loudness before and after and the output.
    """
    p = PREP.check(payload)  # before anything runs: see JobType.validate
    try:
        key = "/".join(files.key_parts(p["input"], what="payload 'input'"))
    except files.InvalidKey as exc:
        raise PermanentError(str(exc)) from None
    target = p["target_lufs"]
    name, codec, content_type = _output_name(p, f"prep-{ctx.job.id}.mp3")
    async with open_scratch(ctx) as scratch:
        path = await fetch_input(ctx, key, scratch)
        async with open_file(path, name=key) as source:
            duration = await _duration(ctx, source)
            before = await measure_loudness(
                ctx, source, target=target, stage="analyzing", duration=duration
            )
            await _normalize(ctx, source, scratch, before, target=target, duration=duration)
        leaf = "output" + PurePosixPath(name).suffix.lower()
        await run_ffmpeg(
            ctx,
            [*_own_file(scratch.url("normalized.wav")), *codec, "-y", scratch.url(leaf)],
            stage="encoding",
            duration=duration,
        )
        after = await _measure_own(ctx, scratch, leaf, target=target, duration=duration)
        output = await store_output(ctx, scratch.path / leaf, name=name, content_type=content_type)
    return {
        "input": key,
        "target_lufs": target,
        "input_lufs": before["input_i"],
        "output_lufs": after["input_i"],
        "loudness_before": before,
        "loudness_after": after,
        "outputs": [output.to_dict()],
    }


async def _normalize(
    ctx: JobContext,
    source: InputFile,
    scratch: Scratch,
    m: dict[str, float],
    *,
    target: float,
    duration: float | None,
) -> None:
    """Second loudnorm pass, with the first pass's figures, into ``normalized.wav``."""
    loudnorm = (
        f"loudnorm=I={target}:TP=-1.5:LRA=11:measured_I={m['input_i']}:"
        f"measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}:"
        f"measured_thresh={m['input_thresh']}:offset={m['target_offset']}:linear=true"
    )
    args = [*source.args(INPUT_FORMATS), "-af", loudnorm, "-ar", "48000", "-c:a", "pcm_s16le"]
    await run_ffmpeg(
        ctx, [*args, "-y", scratch.url("normalized.wav")], stage="normalizing", duration=duration
    )


async def _measure_own(
    ctx: JobContext, scratch: Scratch, leaf: str, *, target: float, duration: float | None
) -> dict[str, float]:
    """The loudness of the encoded output, measured like the input (in stage encoding)."""
    async with open_file(scratch.path / leaf, name="the output") as encoded:
        return await measure_loudness(
            ctx, encoded, target=target, stage="encoding", duration=duration
        )


def _own_file(url: str) -> list[str]:
    """``-i`` for a wav file this job wrote itself."""
    return ["-protocol_whitelist", "file", "-format_whitelist", "wav", "-i", url]
