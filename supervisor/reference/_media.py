"""Reference media job types: ``tone`` (no input needed) and ``prep`` (loudness).

Short, typed examples of real handlers: stages, real ffmpeg progress, clear errors, files
in and out through the storage adapter (``fetch_input``, ``store_output``).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import attrs

import files
from actors import NOT_MEDIA, JobContext, PermanentError, header_duration, run_ffmpeg

from .._paths import InputFile, open_file, open_scratch
from .._payload import PayloadRules, boolean, number, string
from .._transfer import INPUT_FORMATS, fetch_input, store_output
from ._loudness import Loudness, PeakWatch, Plan, encode_args, measure_args, parse_summary, plan

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
        output = await store_output(
            ctx, scratch.path / leaf, name=name, content_type=content_type, duration=seconds
        )
    return {"seconds": seconds, "outputs": [output.to_dict()]}


async def measure_loudness(
    ctx: JobContext,
    source: InputFile,
    *,
    stage: str,
    duration: float | None = None,
    chain: str | None = None,
) -> Loudness:
    """The EBU R128 loudness of ``source``, or of ``chain`` applied to it (``ebur128``:
    integrated, range, sample peak), with real progress in ``stage``. Raises
    ``PermanentError`` for a file with no measurable loudness (silence)."""
    lines = await run_ffmpeg(
        ctx, [*source.args(INPUT_FORMATS), *measure_args(chain)], stage=stage, duration=duration
    )
    measured = parse_summary(lines)
    if measured is None:
        raise PermanentError(f"could not measure the loudness of {source.name} (silent?)")
    return measured


async def _analyse(ctx: JobContext, source: InputFile) -> tuple[Loudness, float | None]:
    """The input's loudness (stage ``analyzing``) and its duration, read from the header
    line ffmpeg prints before it decodes (no probe of its own)."""
    seen: list[float] = []

    def header(line: str) -> bool:
        if not seen and (found := header_duration(line)) is not None:
            seen.append(found)
        return False  # only watching

    lines: list[str] = []
    try:
        lines = await run_ffmpeg(
            ctx, [*source.args(INPUT_FORMATS), *measure_args()], stage="analyzing", stop_when=header
        )
    except PermanentError as exc:
        if any(marker in str(exc) for marker in NOT_MEDIA):
            raise PermanentError(
                f"not a media file ffmpeg can read: {source.name} (inputs are audio or video "
                "files; playlists and text formats are refused)"
            ) from None
        raise
    measured = parse_summary(lines)
    if measured is None:
        raise PermanentError(f"could not measure the loudness of {source.name} (silent?)")
    return measured, seen[0] if seen else None


#: The true-peak ceiling of a normalised output (dBTP), as EBU R128 and most platforms ask.
TRUE_PEAK_LIMIT = -1.5


async def prep_job(ctx: JobContext, payload: Any) -> dict[str, Any]:
    """Loudness-normalise an uploaded recording: fetch it, measure it, normalise and encode
    it (the output measured as it is encoded), store it (see ``supervisor/_loudness.py``).

    Payload: ``input`` (a key in the storage, e.g. from ``POST /api/uploads``), optional
    ``output`` (a file name; format by extension, mp3 by default) and ``target_lufs``
    (default -16). The result carries the loudness before and after, how it was normalised
    (``linear`` gain, or ``limited`` when the true peak would not allow it, and why) and
    the output.
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
            before, duration = await _analyse(ctx, source)
            chosen = plan(before, target=target, true_peak_limit=TRUE_PEAK_LIMIT, lossy=lossy)
            output = [*codec, "-y", scratch.url(leaf)]
            chosen, after = await _normalise(ctx, source, chosen, output, target, duration, lossy)
        stored = await store_output(
            ctx, scratch.path / leaf, name=name, content_type=content_type, duration=duration
        )
    return {
        "input": key,
        "target_lufs": target,
        "input_lufs": before.integrated,
        "output_lufs": after.integrated,
        "normalization": chosen.to_dict(),
        "loudness_before": before.to_dict(),
        "loudness_after": after.to_dict(),
        "outputs": [stored.to_dict()],
    }


async def _normalise(
    ctx: JobContext,
    source: InputFile,
    chosen: Plan,
    output: list[str],
    target: float,
    duration: float | None,
    lossy: bool,
) -> tuple[Plan, Loudness]:
    """Encode with ``chosen``, or with its fallbacks while the output's true peak goes over
    the limit; the plan used and the output's loudness."""
    candidate: Plan | None = chosen
    while candidate is not None:
        if candidate.method == "limited":
            candidate = await _make_up(ctx, source, candidate, target, duration)
        else:
            await ctx.set_stage("normalizing", 100)  # the plan is this stage's whole work
        last = candidate.oversampled  # nothing safer after it: its output is not watched
        after = await _encode(ctx, source, candidate, output, duration, last)
        if after is not None:
            return candidate, after
        how = "a linear gain" if candidate.method == "linear" else "the limiter at its rate"
        why = f"the output's true peak went over the limit with {how}"
        ctx.log.info("normalising: %s; trying the next path", why)
        candidate = candidate.fallback(why, true_peak_limit=TRUE_PEAK_LIMIT, lossy=lossy)
    raise AssertionError("the oversampled limiter's encode is never abandoned")


async def _make_up(
    ctx: JobContext, source: InputFile, chosen: Plan, target: float, duration: float | None
) -> Plan:
    """The limited plan with the loudness its limiter takes added back: the chain is run
    once to a meter (stage ``normalizing``), the shortfall becomes ``makeup_db``."""
    limited = await measure_loudness(
        ctx, source, stage="normalizing", duration=duration, chain=chosen.filters()
    )
    makeup = max(0.0, target - limited.integrated)
    ctx.log.info("normalising: limited, %+.2f dB, make-up %+.2f dB", chosen.gain_db, makeup)
    return attrs.evolve(chosen, makeup_db=makeup)


async def _encode(
    ctx: JobContext,
    source: InputFile,
    chosen: Plan,
    output: list[str],
    duration: float | None,
    last: bool,
) -> Loudness | None:
    """Encode with the plan's filters (stage ``encoding``); the output's loudness, measured
    from its encoded frames in the same pass. Unless ``last``, None as soon as the output's
    true peak goes over the limit (ffmpeg is stopped there)."""
    watch = None if last else PeakWatch(TRUE_PEAK_LIMIT)
    lines = await run_ffmpeg(
        ctx,
        [*source.args(INPUT_FORMATS), *encode_args(chosen.filters(), output)],
        stage="encoding",
        duration=duration,
        stop_when=watch,
    )
    if watch is not None and watch.over:
        return None
    measured = parse_summary(lines)
    if measured is None:
        raise PermanentError(f"could not measure the loudness of the output of {source.name}")
    return measured
