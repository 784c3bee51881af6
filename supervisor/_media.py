"""Reference media job types: ``tone`` (no input needed) and ``prep`` (loudness).

Short, typed examples of real handlers: stages, real ffmpeg progress, clear errors.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import PurePosixPath
from typing import Any

from actors import JobContext, PermanentError, probe_duration, run_ffmpeg

from ._paths import InputFile, open_input, open_output, relative_parts
from ._payload import PayloadRules, boolean, number, string

__all__ = ["INPUT_FORMATS", "PREP", "TONE", "measure_loudness", "prep_job", "tone_job"]

_FORMATS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    "m4a": ["-c:a", "aac", "-b:a", "192k"],
    "wav": ["-c:a", "pcm_s16le"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis"],
}
#: The demuxers ffmpeg may use on an input: audio and video containers. No playlist
#: (hls, concat, dash), text or metadata format: those open further files or print what
#: they read.
INPUT_FORMATS = (
    "wav",
    "w64",
    "mp3",
    "flac",
    "ogg",
    "mov",  # also mp4, m4a, 3gp (external data references stay off: ffmpeg's default)
    "matroska",  # also webm
    "aac",
    "aiff",
    "caf",
    "au",
    "ac3",
    "eac3",
    "dts",
    "amr",
    "wv",
    "ape",
    "asf",
    "avi",
    "flv",
    "mpegts",
    "mpeg",
)
#: The payloads of ``tone`` and ``prep`` (paths are checked against their folders later,
#: by ``relative_parts``, on the worker that has the folders).
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
_LOUDNORM_JSON = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.S)
_LOUDNORM_KEYS = ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")


def _output_parts(payload: dict[str, Any], default_name: str) -> tuple[tuple[str, ...], str]:
    """The output's parts inside the output folder, with its extension checked."""
    given = payload.get("output")
    name = default_name if given is None else given
    parts = relative_parts("output", name)
    _format_of(parts[-1])
    return parts, str(name)


def _format_of(name: str) -> list[str]:
    suffix = PurePosixPath(name).suffix
    codec = _FORMATS.get(suffix.lstrip(".").lower())
    if codec is None:
        raise PermanentError(
            f"unsupported output format {suffix!r}: payload 'output' must end in one of "
            f"{['.' + f for f in sorted(_FORMATS)]}"
        )
    return codec


async def tone_job(ctx: JobContext, payload: Any) -> dict[str, Any]:
    """Generate ``seconds`` of a ``frequency`` Hz sine and encode it (mp3 by default).

    ``realtime: true`` makes ffmpeg read the signal at its natural pace, so a person can
    watch the progress bar move.
    """
    p = TONE.check(payload)  # before anything runs: see JobType.validate
    seconds, frequency, fmt = p["seconds"], p["frequency"], p["format"]
    parts, given = _output_parts(p, f"tone-{ctx.job.id}.{fmt}")
    async with open_output(parts, given) as out:
        leaf = "output" + PurePosixPath(parts[-1]).suffix.lower()
        args = [
            *(["-re"] if p.get("realtime") else []),
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={frequency}:sample_rate=48000:duration={seconds}",
            *_format_of(leaf),
            "-y",
            out.url(leaf),
        ]
        await run_ffmpeg(ctx, args, stage="encoding", duration=float(seconds))
        path = await out.commit(leaf)
    return {"output": str(path), "seconds": seconds}


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
    """Loudness-normalise an audio file: measure (two-pass loudnorm), normalise, encode.

    Payload: ``input`` (a path inside ``SUPERVISOR_INPUT_DIR``), optional ``output`` (a
    path inside ``SUPERVISOR_OUTPUT_DIR``; format by extension, mp3 by default) and
    ``target_lufs`` (default -16).
    """
    p = PREP.check(payload)  # before anything runs: see JobType.validate
    relative_parts("input", p["input"])
    target = p["target_lufs"]
    parts, given = _output_parts(p, f"prep-{ctx.job.id}.mp3")
    async with open_input(p["input"]) as source:
        duration = await _duration(ctx, source)
        async with open_output(parts, given) as out:
            m = await measure_loudness(
                ctx, source, target=target, stage="analyzing", duration=duration
            )
            loudnorm = (
                f"loudnorm=I={target}:TP=-1.5:LRA=11:measured_I={m['input_i']}:"
                f"measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}:"
                f"measured_thresh={m['input_thresh']}:offset={m['target_offset']}:linear=true"
            )
            normalized, leaf = "normalized.wav", "output" + PurePosixPath(parts[-1]).suffix
            await run_ffmpeg(
                ctx,
                [
                    *source.args(INPUT_FORMATS),
                    "-af",
                    loudnorm,
                    "-ar",
                    "48000",
                    "-c:a",
                    "pcm_s16le",
                    "-y",
                    out.url(normalized),
                ],
                stage="normalizing",
                duration=duration,
            )
            await run_ffmpeg(
                ctx,
                [
                    *_own_file(out.url(normalized)),
                    *_format_of(parts[-1]),
                    "-y",
                    out.url(leaf.lower()),
                ],
                stage="encoding",
                duration=duration,
            )
            path = await out.commit(leaf.lower())
    return {"output": str(path), "input_lufs": m["input_i"], "target_lufs": target}


def _own_file(url: str) -> list[str]:
    """``-i`` for a wav file this job wrote itself."""
    return ["-protocol_whitelist", "file", "-format_whitelist", "wav", "-i", url]
