"""Reference media job types: ``tone`` (no input needed) and ``prep`` (loudness).

Short, typed examples of real handlers: stages, real ffmpeg progress, clear errors, files
in and out through the storage adapter (``fetch_input``, ``store_output``).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import files
from actors import JobContext, PermanentError, probe_duration, run_ffmpeg

from .._paths import InputFile, open_file, open_scratch
from .._payload import PayloadRules, boolean, number, string
from .._transfer import INPUT_FORMATS, fetch_input, store_output
from ._loudness import Loudness, measure_args, parse_summary, plan

__all__ = ["INPUT_FORMATS", "PREP", "TONE", "measure_loudness", "prep_job", "tone_job"]

_FORMATS = {
    "mp3": (["-c:a", "libmp3lame", "-b:a", "192k"], "audio/mpeg"),
    "m4a": (["-c:a", "aac", "-b:a", "192k"], "audio/mp4"),
    "wav": (["-c:a", "pcm_s16le"], "audio/wav"),
    "flac": (["-c:a", "flac"], "audio/flac"),
    "ogg": (["-c:a", "libvorbis"], "audio/ogg"),
}
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
_LOSSLESS = frozenset({"audio/wav", "audio/flac"})


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
    stage: str,
    duration: float | None = None,
) -> Loudness:
    """The EBU R128 loudness of ``source`` (``ebur128``: integrated, range, true peak),
    with real progress in ``stage``. Raises ``PermanentError`` for a file with no
    measurable loudness (silence)."""
    lines = await run_ffmpeg(
        ctx, [*source.args(INPUT_FORMATS), *measure_args()], stage=stage, duration=duration
    )
    measured = parse_summary(lines)
    if measured is None:
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


#: The true-peak ceiling of a normalised output (dBTP), as EBU R128 and most platforms ask.
TRUE_PEAK_LIMIT = -1.5


async def prep_job(ctx: JobContext, payload: Any) -> dict[str, Any]:
    """Loudness-normalise an uploaded recording: fetch it, measure it, normalise and encode
    it in one pass, measure the result, store it (see ``supervisor/_loudness.py``).

    Payload: ``input`` (a key in the storage, e.g. from ``POST /api/uploads``), optional
    ``output`` (a file name; format by extension, mp3 by default) and ``target_lufs``
    (default -16). The result carries the loudness before and after, how it was normalised
    (``linear`` gain, or ``limited`` when the true peak would not allow it) and the output.
    """
    p = PREP.check(payload)  # before anything runs: see JobType.validate
    try:
        key = "/".join(files.key_parts(p["input"], what="payload 'input'"))
    except files.InvalidKey as exc:
        raise PermanentError(str(exc)) from None
    target = p["target_lufs"]
    name, codec, content_type = _output_name(p, f"prep-{ctx.job.id}.mp3")
    lossy = content_type not in _LOSSLESS
    leaf = "output" + PurePosixPath(name).suffix.lower()
    async with open_scratch(ctx) as scratch:
        path = await fetch_input(ctx, key, scratch)
        async with open_file(path, name=key) as source:
            duration = await _duration(ctx, source)
            before = await measure_loudness(ctx, source, stage="analyzing", duration=duration)
            chosen = plan(before, target=target, true_peak_limit=TRUE_PEAK_LIMIT, lossy=lossy)
            # The gain (and limiter) is applied in the encoding pass itself: deciding it is
            # this stage's whole work.
            await ctx.set_stage("normalizing", 100)
            ctx.log.info(
                "normalising: %s, %+.2f dB", chosen.method, chosen.gain_db, extra=chosen.to_dict()
            )
            await run_ffmpeg(
                ctx,
                [
                    *source.args(INPUT_FORMATS),
                    "-af",
                    chosen.filters(),
                    *codec,
                    "-y",
                    scratch.url(leaf),
                ],
                stage="encoding",
                duration=duration,
            )
        async with open_file(scratch.path / leaf, name="the output") as encoded:
            after = await measure_loudness(ctx, encoded, stage="encoding", duration=duration)
        output = await store_output(ctx, scratch.path / leaf, name=name, content_type=content_type)
    return {
        "input": key,
        "target_lufs": target,
        "input_lufs": before.integrated,
        "output_lufs": after.integrated,
        "normalization": chosen.to_dict(),
        "loudness_before": before.to_dict(),
        "loudness_after": after.to_dict(),
        "outputs": [output.to_dict()],
    }
